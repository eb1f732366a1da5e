// Runs the smoe binary through the shell, capturing its output in a temporary directory.
#include "support/run_smoe.h"

#include "support/test_paths.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sys/wait.h>

namespace smoe::test {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

RunResult run_smoe(const std::vector<std::string>& args, const std::string& input) {
  const std::string dir = temp_dir();
  std::ofstream(dir + "/in", std::ios::binary) << input;
  std::string cmd = shell_quote(smoe_binary());
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + dir + "/out 2>" + dir + "/err <" + dir + "/in";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream o(dir + "/out", std::ios::binary), e(dir + "/err", std::ios::binary);
  r.out.assign(std::istreambuf_iterator<char>(o), {});
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  return r;
}

}  // namespace smoe::test
