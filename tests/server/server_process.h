// A `smoe serve` process for a test: started on a free loopback port (--port 0, the port read
// from its first line of output), stopped with SIGTERM at the end. Plus curl as the HTTP client.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>
#include <vector>

namespace smoe::test {

class ServerProcess {
 public:
  // Starts `smoe serve --port 0 -t 1 ARGS...` on the bundled model; throws std::runtime_error
  // when it does not come up.
  explicit ServerProcess(const std::vector<std::string>& args = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url(const std::string& path) const;
  // SIGTERM, then waits: the exit status, or -1 if it died of a signal.
  int stop();
  // Waits for the process to end by itself (after a signal the test sent): as stop().
  int wait();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

struct HttpResult {
  int status = 0;
  std::string body;
};

// curl -sS with `args` (each shell-quoted); the status code and the body.
HttpResult curl(const std::vector<std::string>& args);

// POSTs a JSON body; extra_args go before the URL (headers, ...).
HttpResult post_json(const std::string& url, const std::string& body, const std::vector<std::string>& extra_args = {});

// The payloads of the "data: " lines of a server-sent event stream, in order.
std::vector<std::string> sse_data(const std::string& stream);

// A streaming client whose output the test reads line by line (curl -N in the background).
class StreamingCurl {
 public:
  StreamingCurl(const std::string& url, const std::string& body);
  ~StreamingCurl();
  // The next line, or false at the end of the stream.
  bool read_line(std::string& line);
  // Kills the client: its connection closes mid-stream.
  void kill();

 private:
  pid_t pid_ = -1;
  std::FILE* out_ = nullptr;
};

}  // namespace smoe::test
