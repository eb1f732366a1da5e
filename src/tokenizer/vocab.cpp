// Builds a Vocab from a GGUF file's tokenizer.ggml.* metadata (what llama.cpp's converter writes
// for SentencePiece models). Only the SentencePiece BPE model ("llama") is accepted.
#include "tokenizer/vocab.h"

#include "core/error.h"
#include "formats/gguf.h"

#include <limits>

namespace smoe {
namespace {

// An optional token id key: the default when absent; -1 (or any negative value, which llama.cpp
// writes for "none") disables it.
int32_t id_key(const GgufFile& gguf, std::string_view key, int32_t fallback, int32_t vocab_size) {
  const std::optional<int64_t> value = gguf.get_int(key);
  if (!value) return fallback;
  if (*value < 0) return -1;
  if (*value >= vocab_size)
    fail("{}: {} = {} is out of range (the vocabulary has {} pieces)", gguf.path(), key, *value,
         vocab_size);
  return static_cast<int32_t>(*value);
}

}  // namespace

Vocab load_vocab_from_gguf(const GgufFile& gguf) {
  const std::string& path = gguf.path();
  const std::optional<std::string> model = gguf.get_string("tokenizer.ggml.model");
  if (!model) fail("{}: tokenizer.ggml.model is missing (the file has no tokenizer)", path);
  if (*model != "llama")
    fail("tokenizer model '{}' is not supported (smoe supports SentencePiece 'llama' vocabularies)",
         *model);

  Vocab vocab;
  std::optional<std::vector<std::string>> tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  if (!tokens) fail("{}: tokenizer.ggml.tokens is missing", path);
  if (tokens->empty()) fail("{}: tokenizer.ggml.tokens is empty", path);
  if (tokens->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    fail("{}: tokenizer.ggml.tokens has too many entries ({})", path, tokens->size());
  vocab.pieces = std::move(*tokens);
  const size_t n = vocab.pieces.size();

  // Scores are what BPE merges by; a SentencePiece vocabulary without them cannot be encoded.
  std::optional<std::vector<float>> scores = gguf.get_float_array("tokenizer.ggml.scores");
  if (!scores) fail("{}: tokenizer.ggml.scores is missing", path);
  if (scores->size() != n)
    fail("{}: tokenizer.ggml.scores has {} entries but tokenizer.ggml.tokens has {}", path,
         scores->size(), n);
  vocab.scores = std::move(*scores);

  const std::optional<std::vector<int64_t>> types = gguf.get_int_array("tokenizer.ggml.token_type");
  if (types) {
    if (types->size() != n)
      fail("{}: tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {}", path,
           types->size(), n);
    vocab.kinds.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = (*types)[i];
      if (t < static_cast<int64_t>(TokenKind::Normal) || t > static_cast<int64_t>(TokenKind::Byte))
        fail("{}: tokenizer.ggml.token_type[{}] = {} is not a known token type", path, i, t);
      vocab.kinds.push_back(static_cast<TokenKind>(t));
    }
  } else {
    vocab.kinds.assign(n, TokenKind::Normal);  // pieces of an untyped vocabulary are all normal
  }

  const auto size = static_cast<int32_t>(n);
  vocab.unk_id = id_key(gguf, "tokenizer.ggml.unknown_token_id", 0, size);
  if (vocab.unk_id < 0) fail("{}: tokenizer.ggml.unknown_token_id must name a token", path);
  vocab.bos_id = id_key(gguf, "tokenizer.ggml.bos_token_id", 1, size);
  vocab.eos_id = id_key(gguf, "tokenizer.ggml.eos_token_id", 2, size);
  vocab.pad_id = id_key(gguf, "tokenizer.ggml.padding_token_id", -1, size);
  vocab.add_bos = gguf.get_bool("tokenizer.ggml.add_bos_token").value_or(true);
  vocab.add_eos = gguf.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  vocab.add_dummy_prefix = gguf.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  // GGUF records no normalizer options; Llama-family SentencePiece models keep whitespace as is.
  vocab.remove_extra_whitespaces = false;
  vocab.escape_whitespaces = true;
  vocab.byte_fallback = false;
  for (TokenKind kind : vocab.kinds)
    if (kind == TokenKind::Byte) vocab.byte_fallback = true;

  validate_vocab(vocab, path);
  return vocab;
}

}  // namespace smoe
