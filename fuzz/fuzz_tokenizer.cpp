// Fuzz target: the tokenizer with the real Mixtral vocabulary. The first byte picks a mode:
//   0: encode the remaining bytes as text (any bytes, invalid UTF-8 included) and decode the ids;
//      valid UTF-8 must come back unchanged.
//   1: decode ids read as little-endian uint16 values minus 8 (so a few are negative or beyond
//      the vocabulary), in one call and streaming.
//   2: decode ids read as raw little-endian int32 values (any id at all).
#include "fuzz_support.h"
#include "tokenizer/byte_piece.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

bool is_valid_utf8(std::string_view text) {
  while (!text.empty()) {
    const size_t length = smoe::utf8::valid_char_length(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

// Text that SentencePiece returns exactly: valid UTF-8 without U+2581, which the normalizer
// reserves as its space symbol (a typed U+2581 decodes as a space).
bool round_trips(std::string_view text) {
  return is_valid_utf8(text) && text.find(smoe::utf8::kSpaceSymbol) == std::string_view::npos;
}

template <typename T>
std::vector<int32_t> read_ids(const uint8_t* data, size_t size, int32_t offset) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i + sizeof(T) <= size; i += sizeof(T)) {
    T value;
    std::memcpy(&value, data + i, sizeof(T));
    ids.push_back(static_cast<int32_t>(value) - offset);
  }
  return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const smoe::Tokenizer& tokenizer = smoe::fuzz::reference_tokenizer();
  const uint8_t mode = data[0] % 3;
  ++data, --size;
  if (mode == 0) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::vector<int32_t> ids = smoe::fuzz::encode_and_decode(tokenizer, text);
    if (round_trips(text) && tokenizer.decode(ids) != text)
      smoe::fuzz::invariant_failed("decode(encode(text)) differs from the text");
  } else if (mode == 1) {
    smoe::fuzz::decode_ids(tokenizer, read_ids<uint16_t>(data, size, 8));
  } else {
    smoe::fuzz::decode_ids(tokenizer, read_ids<int32_t>(data, size, 0));
  }
  return 0;
}
