// The chat page served at "/": one static HTML file with its script, compiled into the binary.
#pragma once

#include <string_view>

namespace smoe::server {

std::string_view chat_page_html();

}  // namespace smoe::server
