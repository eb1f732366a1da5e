// Fuzz target: the safetensors reader on arbitrary bytes. Malformed input must end in
// smoe::Error; every tensor handed out must lie inside the input.
#include "core/error.h"
#include "formats/safetensors.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const smoe::SafetensorsFile file = smoe::SafetensorsFile::from_bytes(data, size, "fuzz.safetensors");
    // Read the first and last byte of every tensor, so AddressSanitizer sees any range outside.
    volatile uint8_t sink = 0;
    for (const auto& [name, t] : file.tensors()) {
      if (file.find(name) != &t) __builtin_trap();
      if (t.n_bytes > 0) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
    }
  } catch (const smoe::Error&) {
  }
  return 0;
}
