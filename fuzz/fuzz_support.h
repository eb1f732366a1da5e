// Helpers shared by the fuzz targets: the reference tokenizer, round trips through a tokenizer
// with their invariants, and how a broken invariant is reported (an abort libFuzzer records).
#pragma once

#include "tokenizer/tokenizer.h"

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace smoe::fuzz {

// The real Mixtral vocabulary (models/smoe-mixtral-tiny/tokenizer.model, or the file named by the
// SMOE_FUZZ_TOKENIZER environment variable), loaded once. Aborts when it is missing: without it
// every input would be wasted.
const Tokenizer& reference_tokenizer();

// Prints `what` and aborts, so libFuzzer saves the input as a crash.
[[noreturn]] void invariant_failed(std::string_view what);

// Encodes `text` and decodes the ids both in one call and through StreamingDecoder. Checks that
// every id is in the vocabulary and that both decodings agree (as tokenizer.h promises).
std::vector<int32_t> encode_and_decode(const Tokenizer& tokenizer, std::string_view text);

// Decodes ids in one call and streaming: both must agree, or both reject an id outside the
// vocabulary with smoe::Error.
void decode_ids(const Tokenizer& tokenizer, std::span<const int32_t> ids);

// Text with spaces, multi-byte characters, a malformed byte and bracket tags, for exercising
// tokenizers built from fuzzed vocabularies.
inline constexpr std::string_view kSampleText = " Hello  world! [INST] caf\xC3\xA9 \xE2\x96\x81 \xF0\x9F\x99\x82 \xFF\n\t";

}  // namespace smoe::fuzz
