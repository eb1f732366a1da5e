// The shared fuzz helpers (fuzz_support.h).
#include "fuzz_support.h"

#include "core/error.h"
#include "tokenizer/vocab.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace smoe::fuzz {
namespace {

std::string find_reference_tokenizer() {
  if (const char* path = std::getenv("SMOE_FUZZ_TOKENIZER")) return path;
  const std::filesystem::path source(SMOE_SOURCE_DIR);
  for (const auto& candidate : {source / "models/smoe-mixtral-tiny/tokenizer.model",
                                source / "../shared/tokenizer/mixtral-v1.tokenizer.model"})
    if (std::filesystem::exists(candidate)) return candidate.string();
  return "";
}

}  // namespace

const Tokenizer& reference_tokenizer() {
  static const Tokenizer tokenizer = [] {
    const std::string path = find_reference_tokenizer();
    if (path.empty()) {
      std::fprintf(stderr, "fuzz: no tokenizer.model found (set SMOE_FUZZ_TOKENIZER)\n");
      std::abort();
    }
    return Tokenizer(load_vocab_from_sentencepiece(path));
  }();
  return tokenizer;
}

void invariant_failed(std::string_view what) {
  std::fprintf(stderr, "fuzz invariant failed: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

std::vector<int32_t> encode_and_decode(const Tokenizer& tokenizer, std::string_view text) {
  std::vector<int32_t> ids = tokenizer.encode(text, true);
  for (int32_t id : ids)
    if (!tokenizer.is_valid(id)) invariant_failed("encode produced an id outside the vocabulary");
  decode_ids(tokenizer, ids);
  return ids;
}

void decode_ids(const Tokenizer& tokenizer, std::span<const int32_t> ids) {
  const bool all_valid = std::all_of(ids.begin(), ids.end(), [&](int32_t id) { return tokenizer.is_valid(id); });
  std::string whole;
  try {
    whole = tokenizer.decode(ids);
  } catch (const Error&) {
    if (all_valid) invariant_failed("decode rejected valid ids");
    return;
  }
  if (!all_valid) invariant_failed("decode accepted an id outside the vocabulary");
  StreamingDecoder stream(tokenizer);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.finish();
  if (streamed != whole) invariant_failed("streaming decode differs from decode");
}

}  // namespace smoe::fuzz
