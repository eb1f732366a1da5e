// Consistency checks shared by every vocabulary source (GGUF, tokenizer.model, hand-built), kept
// apart from vocab.cpp so that using a tokenizer.model does not pull in the GGUF reader.
#include "core/error.h"
#include "tokenizer/byte_piece.h"
#include "tokenizer/vocab.h"

#include <limits>

namespace smoe {

void validate_vocab(const Vocab& vocab, std::string_view source) {
  const size_t n = vocab.pieces.size();
  if (n == 0) fail("{}: the vocabulary is empty", source);
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    fail("{}: the vocabulary has too many pieces ({})", source, n);
  if (vocab.scores.size() != n)
    fail("{}: {} pieces but {} scores", source, n, vocab.scores.size());
  if (vocab.kinds.size() != n)
    fail("{}: {} pieces but {} token types", source, n, vocab.kinds.size());

  for (size_t id = 0; id < n; ++id) {
    const TokenKind kind = vocab.kinds[id];
    if (kind < TokenKind::Normal || kind > TokenKind::Byte)
      fail("{}: piece {} has unknown token type {}", source, id, static_cast<int32_t>(kind));
    if (vocab.pieces[id].empty()) fail("{}: piece {} is empty", source, id);
    if (kind == TokenKind::Byte && parse_byte_piece(vocab.pieces[id]) < 0)
      fail("{}: piece {} ('{}') is a byte piece but not spelled <0xNN>", source, id, vocab.pieces[id]);
  }

  const auto size = static_cast<int32_t>(n);
  if (vocab.unk_id < 0 || vocab.unk_id >= size)
    fail("{}: unknown token id {} is out of range (vocabulary of {})", source, vocab.unk_id, size);
  auto check_optional = [&](int32_t id, std::string_view name) {
    if (id < -1 || id >= size)
      fail("{}: {} token id {} is out of range (vocabulary of {})", source, name, id, size);
  };
  check_optional(vocab.bos_id, "BOS");
  check_optional(vocab.eos_id, "EOS");
  check_optional(vocab.pad_id, "padding");
}

}  // namespace smoe
