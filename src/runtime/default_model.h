// Where the bundled model lives, so `smoe run -p "..."` works without -m.
#pragma once

#include <string>

namespace smoe {

// The directory name of the bundled model under models/.
inline constexpr const char* kBundledModelName = "smoe-mixtral-tiny";

// `given` when not empty; otherwise $SMOE_MODEL, or the bundled model found next to the binary
// (../models/NAME or models/NAME) or in the source tree it was built from. Throws smoe::Error
// saying where it looked when there is none.
std::string resolve_model_path(const std::string& given);

}  // namespace smoe
