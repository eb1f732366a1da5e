// SentencePiece BPE encoding and decoding, following the library (0.1.97) step by step so the
// ids are identical: normalize (dummy prefix, spaces as U+2581, malformed bytes as U+FFFD), split
// into characters and user-defined pieces, merge the best-scoring adjacent pair (leftmost on
// ties) with a priority queue over a linked list of symbols, undo merges into Unused pieces,
// then fall back to byte pieces for what is not in the vocabulary.
#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "tokenizer/byte_piece.h"

#include <algorithm>
#include <limits>
#include <queue>

namespace smoe {

namespace {

bool is_mergeable_kind(TokenKind kind) {
  return kind == TokenKind::Normal || kind == TokenKind::UserDefined || kind == TokenKind::Unused;
}

// Appends the bytes of a run of byte tokens as text: complete valid characters as they are,
// every byte that does not start one as U+FFFD (SentencePiece's ProcessBytePieces).
void append_byte_run(std::string& out, std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t length = utf8::valid_char_length(bytes);
    if (length == 0) {
      out += utf8::kReplacementChar;
      bytes.remove_prefix(1);
    } else {
      out += bytes.substr(0, length);
      bytes.remove_prefix(length);
    }
  }
}

void replace_space_symbols(std::string& out, std::string_view piece) {
  size_t pos = 0;
  while (pos < piece.size()) {
    const size_t hit = piece.find(utf8::kSpaceSymbol, pos);
    if (hit == std::string_view::npos) {
      out += piece.substr(pos);
      return;
    }
    out += piece.substr(pos, hit - pos);
    out += ' ';
    pos = hit + utf8::kSpaceSymbol.size();
  }
}

}  // namespace

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {
  validate_vocab(vocab_, "tokenizer vocabulary");
  const int32_t n = vocab_.size();
  piece_to_id_.reserve(static_cast<size_t>(n));
  byte_of_token_.assign(static_cast<size_t>(n), -1);
  for (int32_t id = 0; id < n; ++id) {
    const TokenKind kind = vocab_.kinds[id];
    const std::string& piece = vocab_.pieces[id];
    // First definition wins, as in the library (which refuses duplicates in a .model file).
    (is_mergeable_kind(kind) ? piece_to_id_ : reserved_piece_to_id_).try_emplace(piece, id);
    if (kind == TokenKind::Byte) byte_of_token_[id] = static_cast<int16_t>(parse_byte_piece(piece));
    if (kind == TokenKind::Unused) has_unused_ = true;
    if (kind == TokenKind::UserDefined) {
      if (user_trie_.empty()) user_trie_.emplace_back();
      int32_t node = 0;
      for (char c : piece) {
        const auto byte = static_cast<uint8_t>(c);
        auto& children = user_trie_[node].children;
        auto it = std::find_if(children.begin(), children.end(),
                               [&](const auto& child) { return child.first == byte; });
        if (it != children.end()) {
          node = it->second;
        } else {
          const auto next = static_cast<int32_t>(user_trie_.size());
          children.emplace_back(byte, next);
          user_trie_.emplace_back();
          node = next;
        }
      }
      user_trie_[node].terminal = true;
    }
  }
  for (int b = 0; b < 256; ++b) byte_to_id_[b] = piece_to_id(byte_piece_name(static_cast<uint8_t>(b)));
}

int32_t Tokenizer::piece_to_id(std::string_view piece) const {
  if (auto it = reserved_piece_to_id_.find(piece); it != reserved_piece_to_id_.end()) return it->second;
  if (auto it = piece_to_id_.find(piece); it != piece_to_id_.end()) return it->second;
  return vocab_.unk_id;
}

size_t Tokenizer::match_user_defined(std::string_view text) const {
  if (user_trie_.empty()) return 0;
  size_t longest = 0;
  int32_t node = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<uint8_t>(text[i]);
    const auto& children = user_trie_[node].children;
    auto it = std::find_if(children.begin(), children.end(),
                           [&](const auto& child) { return child.first == byte; });
    if (it == children.end()) break;
    node = it->second;
    if (user_trie_[node].terminal) longest = i + 1;
  }
  return longest;
}

std::pair<std::string_view, size_t> Tokenizer::normalize_prefix(std::string_view text) const {
  // User-defined pieces pass through untouched (the library's normalizer uses the model's
  // prefix matcher too).
  if (const size_t length = match_user_defined(text); length > 0) return {text.substr(0, length), length};
  const size_t length = utf8::valid_char_length(text);
  if (length == 0) return {utf8::kReplacementChar, 1};  // one malformed byte
  return {text.substr(0, length), length};
}

std::string Tokenizer::normalize(std::string_view input) const {
  std::string out;
  const bool remove_extra = vocab_.remove_extra_whitespaces;
  if (remove_extra) {  // leading whitespace
    while (!input.empty()) {
      const auto [unit, consumed] = normalize_prefix(input);
      if (unit != " ") break;
      input.remove_prefix(consumed);
    }
  }
  // Empty (or all-whitespace) input normalizes to nothing: no dummy prefix either.
  if (input.empty()) return out;

  const std::string_view space = vocab_.escape_whitespaces ? utf8::kSpaceSymbol : std::string_view(" ");
  out.reserve(input.size() + input.size() / 2 + space.size());
  if (vocab_.add_dummy_prefix) out += space;

  bool previous_was_space = remove_extra;
  while (!input.empty()) {
    auto [unit, consumed] = normalize_prefix(input);
    if (previous_was_space)
      while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    if (!unit.empty()) {
      for (char c : unit) {
        if (c == ' ') out += space;
        else out += c;
      }
      previous_was_space = unit.back() == ' ';
    }
    input.remove_prefix(consumed);
    if (!remove_extra) previous_was_space = false;
  }
  if (remove_extra)  // trailing whitespace
    while (out.size() >= space.size() && std::string_view(out).substr(out.size() - space.size()) == space)
      out.resize(out.size() - space.size());
  return out;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> ids;
  if (add_bos && vocab_.bos_id >= 0) ids.push_back(vocab_.bos_id);
  const std::string normalized = normalize(text);
  if (normalized.empty()) return ids;
  // Symbols are indexed with int32 (as in the library); 2 GB of text in one call is a misuse.
  if (normalized.size() >= static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    fail("text of {} bytes is too long to tokenize in one piece", text.size());
  const std::string_view norm(normalized);

  // The initial symbols: user-defined pieces (never merged further) and single characters.
  // Symbols form a doubly linked list; a merge grows the left symbol and empties the right one.
  struct Symbol {
    int32_t prev;
    int32_t next;
    bool frozen;
    std::string_view piece;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(norm.size());
  for (size_t pos = 0; pos < norm.size();) {
    size_t length = match_user_defined(norm.substr(pos));
    const bool frozen = length > 0;
    if (!frozen)
      length = std::min(utf8::lead_length(static_cast<uint8_t>(norm[pos])), norm.size() - pos);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({index - 1, pos + length < norm.size() ? index + 1 : -1, frozen, norm.substr(pos, length)});
    pos += length;
  }

  // Candidate merges. A candidate goes stale when either side changes; since pieces only grow,
  // comparing the combined length with the one recorded is enough to tell (as the library does).
  struct Candidate {
    float score;
    int32_t left;
    int32_t right;
    size_t length;
  };
  auto lower_priority = [](const Candidate& a, const Candidate& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(lower_priority)> agenda(lower_priority);

  // For Unused pieces: the pair a merge into them came from, to split them again afterwards.
  // Like the library, the latest candidate pair for a piece wins.
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> unmerge;

  auto add_candidate = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0 || symbols[left].frozen || symbols[right].frozen) return;
    const std::string_view merged(symbols[left].piece.data(),
                                  symbols[left].piece.size() + symbols[right].piece.size());
    const auto it = piece_to_id_.find(merged);
    if (it == piece_to_id_.end()) return;
    agenda.push({vocab_.scores[it->second], left, right, merged.size()});
    if (has_unused_ && vocab_.kinds[it->second] == TokenKind::Unused)
      unmerge[merged] = {symbols[left].piece, symbols[right].piece};
  };

  for (size_t i = 1; i < symbols.size(); ++i) add_candidate(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

  while (!agenda.empty()) {
    const Candidate top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    if (left.piece.empty() || right.piece.empty() || left.piece.size() + right.piece.size() != top.length)
      continue;  // stale
    left.piece = std::string_view(left.piece.data(), top.length);
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    right.piece = {};
    add_candidate(left.prev, top.left);
    add_candidate(top.left, left.next);
  }

  // Emit ids: unknown symbols become byte pieces with byte fallback; without it a run of
  // unknown symbols becomes a single unknown id (the library merges them into one piece).
  bool previous_unknown = false;
  auto emit = [&](std::string_view piece, int32_t id) {
    const bool unknown = vocab_.kinds[id] == TokenKind::Unknown;
    if (unknown && vocab_.byte_fallback) {
      for (char c : piece) ids.push_back(byte_to_id_[static_cast<uint8_t>(c)]);
    } else if (!(unknown && previous_unknown)) {
      ids.push_back(id);
    }
    previous_unknown = unknown;
  };
  // Splits a piece that merged into an Unused piece back into the pieces it came from.
  auto resegment = [&](auto& self, std::string_view piece) -> void {
    const int32_t id = piece_to_id(piece);
    if (vocab_.kinds[id] == TokenKind::Unused) {
      if (const auto it = unmerge.find(piece); it != unmerge.end()) {
        self(self, it->second.first);
        self(self, it->second.second);
        return;
      }
    }
    emit(piece, id);
  };
  for (int32_t index = 0; index != -1; index = symbols[index].next) resegment(resegment, symbols[index].piece);
  return ids;
}

void Tokenizer::check_id(int32_t id) const {
  if (!is_valid(id)) fail("token id {} is out of range (the vocabulary has {} pieces)", id, vocab_.size());
}

std::string Tokenizer::piece_text(int32_t id, bool at_start, bool* consumed_space) const {
  *consumed_space = false;
  switch (vocab_.kinds[id]) {
    case TokenKind::Control: return {};
    case TokenKind::Unknown: return vocab_.unk_surface;
    default: break;
  }
  std::string_view piece = vocab_.pieces[id];
  if (at_start && (vocab_.add_dummy_prefix || vocab_.remove_extra_whitespaces) &&
      piece.starts_with(utf8::kSpaceSymbol)) {
    piece.remove_prefix(utf8::kSpaceSymbol.size());
    // With remove_extra_whitespaces every leading space piece is dropped, not just one.
    *consumed_space = !vocab_.remove_extra_whitespaces;
  }
  std::string out;
  out.reserve(piece.size());
  replace_space_symbols(out, piece);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  std::string byte_run;
  bool at_start = true;
  bool consumed_space = false;
  for (const int32_t id : ids) {
    check_id(id);
    if (const int byte = byte_of_token_[id]; byte >= 0) {
      byte_run.push_back(static_cast<char>(byte));
      continue;
    }
    append_byte_run(text, byte_run);
    byte_run.clear();
    // The dummy-prefix space is expected until some text was produced or a piece consumed it.
    if (consumed_space || !text.empty()) at_start = false;
    text += piece_text(id, at_start, &consumed_space);
  }
  append_byte_run(text, byte_run);
  return text;
}

std::string Tokenizer::token_bytes(int32_t id, bool first) const {
  check_id(id);
  if (const int byte = byte_of_token_[id]; byte >= 0) return std::string(1, static_cast<char>(byte));
  bool consumed_space = false;
  return piece_text(id, first, &consumed_space);
}

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool at_start)
    : tokenizer_(tokenizer), first_(at_start) {}

std::string StreamingDecoder::drain(bool flush) {
  std::string out;
  size_t pos = 0;
  while (pos < pending_.size()) {
    const std::string_view rest = std::string_view(pending_).substr(pos);
    if (const size_t length = utf8::valid_char_length(rest); length > 0) {
      out += rest.substr(0, length);
      pos += length;
    } else if (!flush && utf8::could_complete(rest)) {
      break;  // wait for the rest of the character
    } else {
      out += utf8::kReplacementChar;
      pos += 1;
    }
  }
  pending_.erase(0, pos);
  if (!out.empty()) text_started_ = true;
  return out;
}

std::string StreamingDecoder::push(int32_t id) {
  tokenizer_.check_id(id);
  if (const int byte = tokenizer_.byte_of_token_[id]; byte >= 0) {
    pending_.push_back(static_cast<char>(byte));
    return drain(false);
  }
  std::string out = drain(true);
  if (space_consumed_ || text_started_) first_ = false;
  out += tokenizer_.piece_text(id, first_, &space_consumed_);
  if (!out.empty()) text_started_ = true;
  return out;
}

std::string StreamingDecoder::finish() { return drain(true); }

}  // namespace smoe
