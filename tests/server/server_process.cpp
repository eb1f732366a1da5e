// Starting and stopping smoe serve, and curl, from tests.
#include "server/server_process.h"

#include "support/run_smoe.h"
#include "support/test_paths.h"

#include <csignal>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace smoe::test {
namespace {

// fork + exec of argv with its stdout on a pipe; returns the read end as a FILE.
std::FILE* spawn(const std::vector<std::string>& argv, pid_t* pid) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  *pid = fork();
  if (*pid < 0) throw std::runtime_error("fork failed");
  if (*pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  return fdopen(fds[0], "r");
}

int wait_for(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

ServerProcess::ServerProcess(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {smoe_binary(), "serve", "--port", "0", "-t", "1"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::FILE* out = spawn(argv, &pid_);
  char line[512];
  std::string first = std::fgets(line, sizeof line, out) ? line : "";
  std::fclose(out);  // the server prints nothing more on stdout
  const size_t at = first.rfind(':');
  if (first.find("listening on http://") == std::string::npos || at == std::string::npos) {
    stop();
    throw std::runtime_error("smoe serve did not start: '" + first + "'");
  }
  port_ = std::stoi(first.substr(at + 1));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop();
}

std::string ServerProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

int ServerProcess::stop() {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
  return wait();
}

int ServerProcess::wait() {
  if (pid_ <= 0) return -1;
  const int status = wait_for(pid_);
  pid_ = -1;
  return status;
}

HttpResult curl(const std::vector<std::string>& args) {
  std::string cmd = "curl -sS --max-time 600 -w '\\n%{http_code}'";
  for (const auto& a : args) cmd += " " + shell_quote(a);
  std::FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  HttpResult r;
  const size_t nl = out.rfind('\n');
  if (nl == std::string::npos) return r;
  r.status = std::atoi(out.c_str() + nl + 1);
  r.body = out.substr(0, nl);
  return r;
}

HttpResult post_json(const std::string& url, const std::string& body, const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"-H", "Content-Type: application/json", "--data-binary", body};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  args.push_back(url);
  return curl(args);
}

std::vector<std::string> sse_data(const std::string& stream) {
  std::vector<std::string> data;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t end = stream.find('\n', pos);
    if (end == std::string::npos) end = stream.size();
    const std::string line = stream.substr(pos, end - pos);
    if (line.rfind("data: ", 0) == 0) data.push_back(line.substr(6));
    pos = end + 1;
  }
  return data;
}

StreamingCurl::StreamingCurl(const std::string& url, const std::string& body) {
  out_ = spawn({"curl", "-sSN", "-H", "Content-Type: application/json", "--data-binary", body, url}, &pid_);
}

StreamingCurl::~StreamingCurl() {
  if (pid_ > 0) kill();
  if (out_) std::fclose(out_);
}

bool StreamingCurl::read_line(std::string& line) {
  char buf[65536];
  if (!std::fgets(buf, sizeof buf, out_)) return false;
  line = buf;
  return true;
}

void StreamingCurl::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_for(pid_);
  pid_ = -1;
}

}  // namespace smoe::test
