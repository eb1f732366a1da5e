// Reading the small JSON files beside a checkpoint's weights (config.json, the shard index,
// tokenizer_config.json) with a size limit, so a hostile or mistaken path (a huge file, a pipe,
// /dev/zero) gives a clear error instead of exhausting memory.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace smoe {

// Largest JSON side file accepted. Real ones are kilobytes (Mixtral 8x22B's shard index, the
// largest, is about 100 KiB); 16 MiB leaves room for long chat templates in tokenizer_config.json.
inline constexpr uint64_t kMaxJsonFileBytes = uint64_t{16} << 20;

// The file's text; throws smoe::Error when it cannot be read or exceeds kMaxJsonFileBytes.
std::string read_json_text(const std::string& path);
// The file parsed; throws smoe::Error as above, or when it is not valid JSON.
nlohmann::json read_json_file(const std::string& path);

}  // namespace smoe
