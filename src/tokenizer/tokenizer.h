// SentencePiece BPE tokenizer (what Mixtral, Mistral and Llama 2 use), reproducing the
// SentencePiece library exactly: dummy prefix, spaces as U+2581, merges by score with leftmost
// tie-break, byte fallback <0xNN> for characters not in the vocabulary.
#pragma once

#include "tokenizer/vocab.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace smoe {

class Tokenizer {
 public:
  explicit Tokenizer(Vocab vocab);

  // Encodes text (any bytes; invalid UTF-8 is handled as SentencePiece does) into ids;
  // prepends BOS when add_bos is true.
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const;

  // Decodes ids to text as SentencePiece's decode does: U+2581 becomes a space, the leading
  // space of the first piece is dropped (dummy prefix), byte pieces are reassembled into
  // UTF-8 (invalid sequences become U+FFFD), control tokens decode to nothing.
  std::string decode(std::span<const int32_t> ids) const;

  // The raw bytes one token contributes in running text (spaces as ' ', byte tokens as their
  // byte, control tokens empty); `first` drops the dummy-prefix space.
  std::string token_bytes(int32_t id, bool first) const;

  const Vocab& vocab() const { return vocab_; }
  int32_t bos_id() const { return vocab_.bos_id; }
  int32_t eos_id() const { return vocab_.eos_id; }
  bool is_valid(int32_t id) const { return id >= 0 && id < vocab_.size(); }

 private:
  Vocab vocab_;
  std::unordered_map<std::string, int32_t> piece_to_id_;
  int32_t byte_to_id_[256];
};

// Streaming detokenizer for generation: push ids as they are produced, get back the text that
// is safe to print now. A multi-byte UTF-8 character split across tokens is held back until it
// is complete; the concatenation of all outputs plus finish() equals decode(all ids).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool at_start = true);
  std::string push(int32_t id);
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  bool first_ = true;
  std::string pending_;
};

}  // namespace smoe
