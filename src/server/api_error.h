// The errors the HTTP API answers with: an HTTP status and OpenAI's error object
// {"error": {"message", "type", "param", "code"}}, so OpenAI clients raise their usual exceptions.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace smoe::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string type, std::string param = "", std::string code = "")
      : std::runtime_error(message), status_(status), type_(std::move(type)), param_(std::move(param)),
        code_(std::move(code)) {}

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string type_, param_, code_;
};

// 400 invalid_request_error naming the offending field.
[[noreturn]] inline void bad_request(const std::string& param, const std::string& message,
                                     const std::string& code = "") {
  throw ApiError(400, message, "invalid_request_error", param, code);
}

// OpenAI's shape; empty param and code are null, as OpenAI sends them.
inline nlohmann::json error_body(const ApiError& e) {
  auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"error", {{"message", e.what()}, {"type", e.type()}, {"param", or_null(e.param())}, {"code", or_null(e.code())}}}};
}

}  // namespace smoe::server
