// Running the built smoe binary from a test, as a user would from a shell.
#pragma once

#include <string>
#include <vector>

namespace smoe::test {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal (a crash)
  std::string out, err;
};

// Runs smoe with `args` (each quoted for the shell), `input` on standard input.
RunResult run_smoe(const std::vector<std::string>& args, const std::string& input = "");

// `s` quoted for the shell (single quotes).
std::string shell_quote(const std::string& s);

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace smoe::test
