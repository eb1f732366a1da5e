// `smoe convert`: a Hugging Face checkpoint or a GGUF file to a GGUF file that llama.cpp loads
// and computes the same logits from, in any of the types of type_policy.h.
//
// Streaming: tensors are produced one at a time while the file is written, each by
// dequantizing its source rows exactly and quantizing them on `threads` threads, so the memory
// used is about the largest output tensor plus a row per thread, whatever the model's size.
// The output appears only when complete (written to OUT.tmp, then renamed).
#pragma once

#include "kernels/ggml_type.h"

#include <cstdint>
#include <map>
#include <string>

namespace smoe {

struct ConvertOptions {
  std::string source;  // a Hugging Face checkpoint directory or a GGUF file
  std::string output;  // the GGUF file to write
  // A name of type_policy.h (F32, F16, BF16, Q8_0, ..., Q4_K_M, Q5_K_M), or "" for the source's
  // own precision (the F32 / F16 / BF16 type of its weights; a quantized GGUF needs a --type).
  std::string type;
  int threads = 0;  // 0: physical cores
  enum class Progress { Auto, Never, Always } progress = Progress::Auto;  // Auto: if stderr is a TTY
};

struct ConvertReport {
  std::string type;             // the --type used, e.g. "Q4_K_M"
  std::string source_format;    // "Hugging Face safetensors (2 shards)", "GGUF v3"
  uint64_t source_bytes = 0;    // of the source files
  uint64_t output_bytes = 0;    // of the written file
  size_t n_tensors = 0;
  std::map<std::string, size_t> tensors_by_type;  // "Q4_K" -> count
  double seconds = 0;
};

// Throws smoe::Error with one line naming the problem (unknown type, missing or unreadable
// source, unwritable output, ...); never leaves a partial output file.
ConvertReport convert_model(const ConvertOptions& options);

// "converted X (fmt, size) to Y (type, size, n tensors) in t s": the command's summary line.
std::string summarize(const ConvertOptions& options, const ConvertReport& report);

}  // namespace smoe
