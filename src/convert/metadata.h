// The metadata of a converted file: what llama.cpp's loader reads for a "llama" model (shape,
// RoPE, experts, file type) and its SentencePiece vocabulary (tokenizer.ggml.*).
#pragma once

#include "convert/type_policy.h"
#include "formats/gguf_writer.h"
#include "model/model.h"
#include "tokenizer/vocab.h"

namespace smoe {

// The llama.* shape keys (and general.architecture / general.name) of a model.
void write_model_shape(GgufWriter& out, const ModelConfig& config, const std::string& name);
// tokenizer.ggml.* for a SentencePiece vocabulary (already padded to the embedding's rows).
void write_vocab(GgufWriter& out, const Vocab& vocab);
// general.file_type (and general.quantization_version for quantized files); written last.
void write_file_type(GgufWriter& out, const QuantMix& mix);

// From a Hugging Face checkpoint: config.json for the shape, tokenizer.model for the vocabulary
// (padded to vocab_size with unused [PADn] pieces as llama.cpp's converter does), and
// tokenizer_config.json / config.json for the special-token settings when they are present.
void write_hf_metadata(GgufWriter& out, const Model& model, const QuantMix& mix);

// From a GGUF file: every key copied in order (the tokenizer included), the architecture named
// "llama" (an older "mixtral" prefix is renamed), split keys dropped, the file type replaced.
void write_gguf_metadata(GgufWriter& out, const GgufFile& source, const QuantMix& mix);

}  // namespace smoe
