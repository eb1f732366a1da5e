// Fuzz target: the hand-written SentencePiece ModelProto parser on arbitrary bytes, and a
// tokenizer built from whatever vocabulary it accepts (encode, decode, streaming decode).
#include "core/error.h"
#include "fuzz_support.h"
#include "tokenizer/vocab.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smoe::Vocab vocab;
  try {
    vocab = smoe::parse_sentencepiece_model(std::string_view(reinterpret_cast<const char*>(data), size),
                                            "fuzz/tokenizer.model");
  } catch (const smoe::Error&) {
    return 0;
  }
  const smoe::Tokenizer tokenizer(std::move(vocab));  // an accepted vocabulary must be usable
  smoe::fuzz::encode_and_decode(tokenizer, smoe::fuzz::kSampleText);
  // Every piece (up to a bound that keeps each run short), in order.
  std::vector<int32_t> ids(static_cast<size_t>(std::min(tokenizer.vocab().size(), 512)));
  std::iota(ids.begin(), ids.end(), 0);
  smoe::fuzz::decode_ids(tokenizer, ids);
  return 0;
}
