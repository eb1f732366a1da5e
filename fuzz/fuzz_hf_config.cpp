// Fuzz target: a Hugging Face config.json read into the model config. Any JSON value (not only
// objects) must give a ModelConfig that passes validate() or a smoe::Error, nothing else.
#include "core/error.h"
#include "model/config.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(data, data + size);
  } catch (const nlohmann::json::exception&) {
    return 0;  // not JSON (or a number out of range): the checkpoint reader reports that itself
  }
  try {
    smoe::config_from_hf(config, "fuzz/config.json").validate();
  } catch (const smoe::Error&) {
  }
  return 0;
}
