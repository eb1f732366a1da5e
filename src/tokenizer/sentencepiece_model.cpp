// Reads a SentencePiece `tokenizer.model` (a serialized ModelProto) without protobuf: a small
// wire-format reader that checks every length against the bytes left, so a truncated or garbage
// file gives one smoe::Error line instead of a crash. Only the fields the tokenizer needs are
// decoded; everything else is skipped by wire type.
#include "core/error.h"
#include "tokenizer/vocab.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <unordered_set>

namespace smoe {
namespace {

enum class WireType : uint32_t { Varint = 0, Fixed64 = 1, Bytes = 2, GroupStart = 3, GroupEnd = 4, Fixed32 = 5 };

// A cursor over one message's bytes. `what` names the message in errors ("trainer_spec", ...).
class ProtoReader {
 public:
  ProtoReader(std::string_view bytes, std::string_view source, std::string what)
      : data_(bytes), source_(source), what_(std::move(what)) {}

  bool done() const { return pos_ >= data_.size(); }

  // Reads a field key; returns {field number, wire type}.
  std::pair<uint32_t, WireType> key() {
    const uint64_t k = varint();
    const uint64_t field = k >> 3;
    const uint32_t wire = static_cast<uint32_t>(k & 7);
    if (field == 0 || field > 0x1fffffff) bad("invalid field number {}", field);
    if (wire > 5) bad("invalid wire type {} for field {}", wire, field);
    return {static_cast<uint32_t>(field), static_cast<WireType>(wire)};
  }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= data_.size()) bad("truncated varint at byte {}", pos_);
      const uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && byte > 1) bad("varint longer than 64 bits at byte {}", pos_ - 1);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    bad("varint longer than 10 bytes at byte {}", pos_);
  }

  std::string_view bytes() {
    const uint64_t length = varint();
    if (length > data_.size() - pos_)
      bad("length {} at byte {} runs past the end ({} bytes left)", length, pos_, data_.size() - pos_);
    std::string_view out = data_.substr(pos_, static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return out;
  }

  float fixed32_float() {
    if (data_.size() - pos_ < 4) bad("truncated 32-bit value at byte {}", pos_);
    uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += 4;
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }

  void skip(uint32_t field, WireType wire) {
    switch (wire) {
      case WireType::Varint: varint(); return;
      case WireType::Fixed64:
        if (data_.size() - pos_ < 8) bad("truncated 64-bit value of field {}", field);
        pos_ += 8;
        return;
      case WireType::Bytes: bytes(); return;
      case WireType::Fixed32:
        if (data_.size() - pos_ < 4) bad("truncated 32-bit value of field {}", field);
        pos_ += 4;
        return;
      default:  // groups are deprecated and never used by SentencePiece
        bad("unsupported group wire type for field {}", field);
    }
  }

  // Value readers that also check the wire type the schema gives the field.
  std::string_view string_field(uint32_t field, WireType wire) {
    expect(field, wire, WireType::Bytes);
    return bytes();
  }
  bool bool_field(uint32_t field, WireType wire) {
    expect(field, wire, WireType::Varint);
    return varint() != 0;
  }
  // int32 and enum fields: negative values are sent as 10-byte varints; protobuf keeps the low
  // 32 bits.
  int32_t int32_field(uint32_t field, WireType wire) {
    expect(field, wire, WireType::Varint);
    return static_cast<int32_t>(static_cast<uint32_t>(varint()));
  }
  float float_field(uint32_t field, WireType wire) {
    expect(field, wire, WireType::Fixed32);
    return fixed32_float();
  }

  template <typename... Args>
  [[noreturn]] void bad(fmt::format_string<Args...> format, Args&&... args) const {
    fail("{}: malformed SentencePiece model ({}: {})", source_, what_,
         fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  void expect(uint32_t field, WireType got, WireType want) const {
    if (got != want)
      bad("field {} has wire type {}, expected {}", field, static_cast<uint32_t>(got),
          static_cast<uint32_t>(want));
  }

  std::string_view data_;
  size_t pos_ = 0;
  std::string_view source_;
  std::string what_;
};

// The fields of ModelProto that matter for encoding and decoding, with protobuf's defaults.
struct TrainerSpec {
  int32_t model_type = 1;  // UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4
  bool treat_whitespace_as_suffix = false;
  bool byte_fallback = false;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  std::optional<std::string> unk_surface;
};

struct NormalizerSpec {
  std::string name;
  bool has_charsmap = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

void parse_piece(std::string_view message, size_t index, std::string_view source, Vocab& vocab) {
  ProtoReader in(message, source, fmt::format("piece {}", index));
  std::string piece;
  float score = 0.0f;
  int32_t type = 1;  // NORMAL
  while (!in.done()) {
    auto [field, wire] = in.key();
    switch (field) {
      case 1: piece = std::string(in.string_field(field, wire)); break;
      case 2: score = in.float_field(field, wire); break;
      case 3: type = in.int32_field(field, wire); break;
      default: in.skip(field, wire);
    }
  }
  if (type < static_cast<int32_t>(TokenKind::Normal) || type > static_cast<int32_t>(TokenKind::Byte))
    in.bad("unknown piece type {}", type);
  vocab.pieces.push_back(std::move(piece));
  vocab.scores.push_back(score);
  vocab.kinds.push_back(static_cast<TokenKind>(type));
}

void parse_trainer_spec(std::string_view message, std::string_view source, TrainerSpec& spec) {
  ProtoReader in(message, source, "trainer_spec");
  while (!in.done()) {
    auto [field, wire] = in.key();
    switch (field) {
      case 3: spec.model_type = in.int32_field(field, wire); break;
      case 24: spec.treat_whitespace_as_suffix = in.bool_field(field, wire); break;
      case 35: spec.byte_fallback = in.bool_field(field, wire); break;
      case 40: spec.unk_id = in.int32_field(field, wire); break;
      case 41: spec.bos_id = in.int32_field(field, wire); break;
      case 42: spec.eos_id = in.int32_field(field, wire); break;
      case 43: spec.pad_id = in.int32_field(field, wire); break;
      case 44: spec.unk_surface = std::string(in.string_field(field, wire)); break;
      default: in.skip(field, wire);
    }
  }
}

void parse_normalizer_spec(std::string_view message, std::string_view source, std::string what,
                           NormalizerSpec& spec) {
  ProtoReader in(message, source, std::move(what));
  while (!in.done()) {
    auto [field, wire] = in.key();
    switch (field) {
      case 1: spec.name = std::string(in.string_field(field, wire)); break;
      case 2: spec.has_charsmap = !in.string_field(field, wire).empty(); break;
      case 3: spec.add_dummy_prefix = in.bool_field(field, wire); break;
      case 4: spec.remove_extra_whitespaces = in.bool_field(field, wire); break;
      case 5: spec.escape_whitespaces = in.bool_field(field, wire); break;
      default: in.skip(field, wire);
    }
  }
}

std::string_view model_type_name(int32_t type) {
  switch (type) {
    case 1: return "unigram";
    case 2: return "bpe";
    case 3: return "word";
    case 4: return "char";
    default: return "unknown";
  }
}

}  // namespace

Vocab parse_sentencepiece_model(std::string_view bytes, std::string_view source) {
  Vocab vocab;
  TrainerSpec trainer;
  NormalizerSpec normalizer;
  NormalizerSpec denormalizer;
  bool has_trainer_spec = false;

  ProtoReader in(bytes, source, "ModelProto");
  while (!in.done()) {
    auto [field, wire] = in.key();
    switch (field) {
      case 1: parse_piece(in.string_field(field, wire), vocab.pieces.size(), source, vocab); break;
      case 2:
        parse_trainer_spec(in.string_field(field, wire), source, trainer);
        has_trainer_spec = true;
        break;
      case 3: parse_normalizer_spec(in.string_field(field, wire), source, "normalizer_spec", normalizer); break;
      case 5: parse_normalizer_spec(in.string_field(field, wire), source, "denormalizer_spec", denormalizer); break;
      default: in.skip(field, wire);
    }
  }

  if (vocab.pieces.empty()) fail("{}: not a SentencePiece model (no pieces)", source);
  if (!has_trainer_spec) fail("{}: not a SentencePiece model (no trainer_spec)", source);
  if (trainer.model_type != 2)
    fail("{}: SentencePiece model type is {} ({}); smoe supports only BPE models", source,
         model_type_name(trainer.model_type), trainer.model_type);
  // These change the normalized text in ways smoe does not reproduce; refuse rather than
  // tokenize differently from the library.
  if (normalizer.has_charsmap)
    fail("{}: normalizer '{}' has a character map; smoe supports only the identity normalizer",
         source, normalizer.name);
  if (denormalizer.has_charsmap)
    fail("{}: the model has a denormalizer character map, which smoe does not support", source);
  if (trainer.treat_whitespace_as_suffix)
    fail("{}: treat_whitespace_as_suffix models are not supported", source);

  // As the library: one <unk> piece (its position is the unknown id whatever trainer_spec says),
  // no duplicate pieces, byte pieces only with byte_fallback.
  int32_t unk_id = -1;
  std::unordered_set<std::string_view> normal_pieces, reserved_pieces;
  bool has_byte_pieces = false;
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const TokenKind kind = vocab.kinds[id];
    const std::string& piece = vocab.pieces[id];
    if (piece.empty()) fail("{}: piece {} is empty", source, id);
    const bool normal = kind == TokenKind::Normal || kind == TokenKind::UserDefined || kind == TokenKind::Unused;
    if (!(normal ? normal_pieces : reserved_pieces).insert(piece).second)
      fail("{}: piece {} ('{}') is defined twice", source, id, piece);
    if (kind == TokenKind::Unknown) {
      if (unk_id >= 0) fail("{}: pieces {} and {} are both the unknown piece", source, unk_id, id);
      unk_id = id;
    }
    if (kind == TokenKind::Byte) has_byte_pieces = true;
  }
  if (unk_id < 0) fail("{}: the model has no unknown piece", source);
  if (has_byte_pieces && !trainer.byte_fallback)
    fail("{}: the model has byte pieces although byte_fallback is false", source);

  auto special_id = [&](int32_t id, std::string_view name) -> int32_t {
    if (id < 0) return -1;  // disabled
    if (id >= vocab.size())
      fail("{}: {} {} is out of range (the model has {} pieces)", source, name, id, vocab.size());
    return id;
  };
  vocab.unk_id = unk_id;
  vocab.bos_id = special_id(trainer.bos_id, "bos_id");
  vocab.eos_id = special_id(trainer.eos_id, "eos_id");
  vocab.pad_id = special_id(trainer.pad_id, "pad_id");
  vocab.add_bos = vocab.bos_id >= 0;
  vocab.add_eos = false;
  vocab.add_dummy_prefix = normalizer.add_dummy_prefix;
  vocab.remove_extra_whitespaces = normalizer.remove_extra_whitespaces;
  vocab.escape_whitespaces = normalizer.escape_whitespaces;
  vocab.byte_fallback = trainer.byte_fallback;
  if (trainer.unk_surface) vocab.unk_surface = *trainer.unk_surface;

  validate_vocab(vocab, source);
  return vocab;
}

Vocab load_vocab_from_sentencepiece(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("{}: cannot open SentencePiece model: {}", path, std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) fail("{}: cannot read SentencePiece model", path);
  return parse_sentencepiece_model(bytes, path);
}

}  // namespace smoe
