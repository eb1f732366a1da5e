// A SentencePiece vocabulary: the pieces, their scores and kinds, and the special ids. Loaded
// from GGUF metadata (tokenizer.ggml.*) or from a SentencePiece `tokenizer.model` file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smoe {

class GgufFile;

// Piece kinds, numbered as GGUF's tokenizer.ggml.token_type, which uses the same numbers as
// SentencePiece's ModelProto.SentencePiece.Type.
enum class TokenKind : int32_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

struct Vocab {
  std::vector<std::string> pieces;  // UTF-8, spaces written as U+2581
  std::vector<float> scores;        // merge priority: higher merges first
  std::vector<TokenKind> kinds;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t unk_id = 0;
  int32_t pad_id = -1;
  bool add_bos = true;
  bool add_eos = false;
  bool add_dummy_prefix = true;  // prepend a space (U+2581) to the text before encoding
  // SentencePiece normalizer options (normalizer_spec in a tokenizer.model; GGUF has no keys for
  // them, so GGUF vocabularies keep these defaults, which are what Llama/Mistral models use).
  bool remove_extra_whitespaces = false;  // strip leading/trailing spaces, collapse runs
  bool escape_whitespaces = true;         // spaces become U+2581 in the normalized text
  // Characters missing from the vocabulary become <0xNN> byte pieces (trainer_spec.byte_fallback;
  // for GGUF: whether the vocabulary has byte pieces). Without it they become unk_id.
  bool byte_fallback = true;
  std::string unk_surface = " \xE2\x81\x87 ";  // what <unk> decodes to (" ⁇ ")

  int32_t size() const { return static_cast<int32_t>(pieces.size()); }
};

// Checks what the tokenizer relies on: array lengths agree, special ids are in range (or -1 for
// the optional ones), byte pieces are spelled <0xNN>, no empty pieces. Throws smoe::Error naming
// `source` and the problem.
void validate_vocab(const Vocab& vocab, std::string_view source);

// From tokenizer.ggml.{model,tokens,scores,token_type,bos_token_id,eos_token_id,
// unknown_token_id,padding_token_id,add_bos_token,add_eos_token,add_space_prefix}.
// Only the SentencePiece model ("llama") is accepted; errors name the offending key.
Vocab load_vocab_from_gguf(const GgufFile& gguf);

// From a SentencePiece ModelProto file (protobuf, parsed by hand with bounds checks).
// Only BPE models are accepted.
Vocab load_vocab_from_sentencepiece(const std::string& path);
// The same from the file's bytes; `source` names them in error messages.
Vocab parse_sentencepiece_model(std::string_view bytes, std::string_view source);

}  // namespace smoe
