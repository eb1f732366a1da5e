// Fuzz target: the GGUF reader on arbitrary bytes, then everything that reads its metadata — every
// typed getter on every key, the model config, and the embedded vocabulary with a tokenizer built
// from it. Malformed input must end in smoe::Error; tensors must lie inside the input.
#include "core/error.h"
#include "formats/gguf.h"
#include "fuzz_support.h"
#include "model/config.h"
#include "tokenizer/vocab.h"

#include <cstddef>
#include <cstdint>

namespace {

template <typename Getter>
void try_getter(Getter&& get) {
  try {
    get();
  } catch (const smoe::Error&) {
  }
}

// Reads the first and last byte of every tensor, so AddressSanitizer sees any range outside
// the input.
void touch_tensors(const smoe::GgufFile& file) {
  volatile uint8_t sink = 0;
  for (const smoe::GgufTensor& t : file.tensors())
    if (t.n_bytes > 0) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
}

void read_metadata(const smoe::GgufFile& file) {
  for (const std::string& key : file.key_order()) {
    try_getter([&] { file.get_int(key); });
    try_getter([&] { file.get_float(key); });
    try_getter([&] { file.get_bool(key); });
    try_getter([&] { file.get_string(key); });
    try_getter([&] { file.get_string_array(key); });
    try_getter([&] { file.get_float_array(key); });
    try_getter([&] { file.get_int_array(key); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const smoe::GgufFile file = smoe::GgufFile::from_bytes(data, size, "fuzz.gguf");
    touch_tensors(file);
    read_metadata(file);
    try_getter([&] { smoe::config_from_gguf(file); });
    try_getter([&] {
      const smoe::Tokenizer tokenizer(smoe::load_vocab_from_gguf(file));
      smoe::fuzz::encode_and_decode(tokenizer, smoe::fuzz::kSampleText);
    });
  } catch (const smoe::Error&) {
  }
  return 0;
}
