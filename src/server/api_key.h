// The API key check of `smoe serve --api-key`: compares the Authorization header with the key in
// time that does not depend on where they first differ, so the key cannot be guessed byte by byte
// from response times.
#pragma once

#include <string_view>

namespace smoe::server {

// a == b, reading every byte of both (the time depends on their lengths only).
bool constant_time_equal(std::string_view a, std::string_view b);

// Whether an Authorization header value is "Bearer KEY" for this key.
bool authorization_matches(std::string_view header_value, std::string_view api_key);

}  // namespace smoe::server
