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
#include <utility>
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

  // The id SentencePiece's PieceToId gives a piece: control/unknown/byte pieces first, then
  // normal/user-defined/unused ones, else the unknown id.
  int32_t piece_to_id(std::string_view piece) const;

  // The text after SentencePiece normalization: dummy prefix, spaces as U+2581, invalid UTF-8
  // bytes as U+FFFD (what encode splits into symbols).
  std::string normalize(std::string_view text) const;

 private:
  friend class StreamingDecoder;

  // Heterogeneous lookup, so candidate merges are looked up without building strings.
  struct PieceHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PieceMap = std::unordered_map<std::string, int32_t, PieceHash, std::equal_to<>>;

  // A byte trie over the user-defined pieces, for longest-prefix matching.
  struct TrieNode {
    std::vector<std::pair<uint8_t, int32_t>> children;  // byte -> node index
    bool terminal = false;
  };

  // The first normalization unit of `text`: a user-defined piece, one valid UTF-8 character,
  // or U+FFFD standing for one malformed byte. Returns {normalized unit, bytes consumed}.
  std::pair<std::string_view, size_t> normalize_prefix(std::string_view text) const;
  // Length of the longest user-defined piece `text` starts with, 0 if none.
  size_t match_user_defined(std::string_view text) const;
  // How a non-byte token reads in running text. `at_start`: the text so far is empty and no
  // dummy-prefix space was consumed yet; sets *consumed_space when this piece consumed it.
  std::string piece_text(int32_t id, bool at_start, bool* consumed_space) const;
  void check_id(int32_t id) const;

  Vocab vocab_;
  PieceMap piece_to_id_;           // Normal, UserDefined and Unused pieces: what merges can form
  PieceMap reserved_piece_to_id_;  // Control, Unknown and Byte pieces
  int32_t byte_to_id_[256];        // the id byte fallback emits for each byte
  std::vector<int16_t> byte_of_token_;  // for Byte pieces their byte, else -1
  std::vector<TrieNode> user_trie_;     // empty when there are no user-defined pieces
  bool has_unused_ = false;             // merges into Unused pieces must be undone
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
  // Emits the complete characters at the front of pending_; with `flush`, the run of byte tokens
  // has ended and whatever is left becomes U+FFFD per malformed byte, as decode() does.
  std::string drain(bool flush);

  const Tokenizer& tokenizer_;
  bool first_ = true;         // decode()'s "expect the dummy-prefix space" state
  bool space_consumed_ = false;
  bool text_started_ = false;  // something non-empty has been emitted
  std::string pending_;        // bytes of byte tokens not yet forming a complete character
};

}  // namespace smoe
