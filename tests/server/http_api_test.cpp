// smoe serve driven over HTTP by curl: the OpenAI endpoints whole and streamed, stop strings,
// logprobs, error objects and statuses, the API key, draining on SIGTERM and clients that leave.
#include "server/server_process.h"
#include "support/run_smoe.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

namespace smoe::test {
namespace {

using nlohmann::json;

const std::string kModel = "smoe-mixtral-tiny";

json chat_body(const std::string& user, int max_tokens, bool stream) {
  return {{"model", kModel},
          {"messages", {{{"role", "user"}, {"content", user}}}},
          {"max_tokens", max_tokens},
          {"temperature", 0},
          {"stream", stream}};
}

// The text of a stream (chat deltas or completion texts), checking its framing on the way.
std::string streamed_text(const std::string& stream, json* last_chunk = nullptr) {
  const auto data = sse_data(stream);
  EXPECT_FALSE(data.empty());
  if (data.empty()) return "";
  EXPECT_EQ(data.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    const json chunk = json::parse(data[i]);
    if (chunk["choices"].empty()) continue;  // the usage chunk
    const json& choice = chunk["choices"][0];
    if (choice.contains("delta"))
      text += choice["delta"].value("content", "");
    else
      text += choice["text"].get<std::string>();
    if (last_chunk) *last_chunk = chunk;
  }
  return text;
}

void expect_error(const HttpResult& r, int status, const std::string& param = "") {
  EXPECT_EQ(r.status, status) << r.body;
  const json body = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << r.body;
  const json& e = body["error"];
  EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty()) << r.body;
  EXPECT_TRUE(e["type"].is_string()) << r.body;
  EXPECT_TRUE(e.contains("param") && e.contains("code")) << r.body;
  if (!param.empty()) {
    EXPECT_EQ(e["param"], param) << r.body;
  }
}

TEST(ServerHttp, HealthModelsMetricsAndPage) {
  ServerProcess server;
  HttpResult r = curl({server.url("/health")});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["status"], "ok");
  r = curl({server.url("/v1/models")});
  ASSERT_EQ(r.status, 200);
  const json models = json::parse(r.body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], kModel);
  EXPECT_EQ(curl({server.url("/v1/models/" + kModel)}).status, 200);
  expect_error(curl({server.url("/v1/models/gpt-4")}), 404);
  r = curl({server.url("/")});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(contains(r.body, "<title>smoe chat</title>"));
  EXPECT_TRUE(contains(r.body, "/v1/chat/completions"));

  ASSERT_EQ(post_json(server.url("/v1/chat/completions"), chat_body("Hello", 4, false).dump()).status, 200);
  r = curl({server.url("/metrics")});
  EXPECT_EQ(r.status, 200);
  for (const char* name : {"smoe_requests_total{endpoint=\"chat_completions\",status=\"200\"} 1",
                           "smoe_prompt_tokens_total", "smoe_generated_tokens_total", "smoe_queue_length 0",
                           "smoe_batch_size", "smoe_time_to_first_token_seconds_count 1",
                           "smoe_generation_tokens_per_second"})
    EXPECT_TRUE(contains(r.body, name)) << name << "\n" << r.body;
}

TEST(ServerHttp, ChatStreamedEqualsWhole) {
  ServerProcess server;
  const HttpResult whole = post_json(server.url("/v1/chat/completions"), chat_body("Who is Mr. Darcy?", 24, false).dump());
  ASSERT_EQ(whole.status, 200) << whole.body;
  const json r = json::parse(whole.body);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_TRUE(r["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  EXPECT_EQ(r["model"], kModel);
  const json& choice = r["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"]["role"], "assistant");
  const std::string content = choice["message"]["content"];
  const int completion_tokens = r["usage"]["completion_tokens"];
  EXPECT_EQ(choice["finish_reason"], completion_tokens == 24 ? "length" : "stop");
  EXPECT_EQ(r["usage"]["total_tokens"], r["usage"]["prompt_tokens"].get<int>() + completion_tokens);

  json body = chat_body("Who is Mr. Darcy?", 24, true);
  body["stream_options"] = {{"include_usage", true}};
  const HttpResult streamed = post_json(server.url("/v1/chat/completions"), body.dump(), {"-N"});
  ASSERT_EQ(streamed.status, 200);
  json last;
  EXPECT_EQ(streamed_text(streamed.body, &last), content);
  EXPECT_EQ(last["object"], "chat.completion.chunk");
  EXPECT_EQ(last["choices"][0]["finish_reason"], choice["finish_reason"]);
  const auto data = sse_data(streamed.body);
  ASSERT_GE(data.size(), 3u);
  EXPECT_EQ(json::parse(data[0])["choices"][0]["delta"]["role"], "assistant");
  const json usage = json::parse(data[data.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"], r["usage"]);
}

TEST(ServerHttp, CompletionsStopStringsAndLogprobs) {
  ServerProcess server;
  const std::string url = server.url("/v1/completions");
  json body = {{"model", kModel}, {"prompt", "It is a truth universally acknowledged"}, {"max_tokens", 24}, {"temperature", 0}};
  HttpResult r = post_json(url, body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json whole = json::parse(r.body);
  EXPECT_EQ(whole["object"], "text_completion");
  const std::string text = whole["choices"][0]["text"];
  ASSERT_GT(text.size(), 10u);

  // A stop string from the middle of the greedy text: the text ends right before it, streamed or not.
  const std::string stop = text.substr(text.size() / 2, 4);
  body["stop"] = json::array({stop, "\u00a7never"});
  r = post_json(url, body.dump());
  const json stopped = json::parse(r.body);
  EXPECT_EQ(stopped["choices"][0]["text"], text.substr(0, text.find(stop)));
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "stop");
  body["stream"] = true;
  r = post_json(url, body.dump(), {"-N"});
  EXPECT_EQ(streamed_text(r.body), text.substr(0, text.find(stop)));

  json lp_body = {{"model", kModel}, {"prompt", "In the beginning"}, {"max_tokens", 5}, {"temperature", 0}, {"logprobs", 2}};
  r = post_json(url, lp_body.dump());
  const json lp = json::parse(r.body)["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), 5u) << r.body;
  ASSERT_EQ(lp["token_logprobs"].size(), 5u);
  ASSERT_EQ(lp["top_logprobs"].size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_LE(lp["token_logprobs"][i].get<double>(), 0.0);
    EXPECT_EQ(lp["top_logprobs"][i].size(), 2u);
  }
  json chat_lp = chat_body("Hello", 3, false);
  chat_lp["logprobs"] = true;
  chat_lp["top_logprobs"] = 2;
  r = post_json(server.url("/v1/chat/completions"), chat_lp.dump());
  const json content = json::parse(r.body)["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 3u) << r.body;
  EXPECT_EQ(content[0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(content[0]["top_logprobs"][0]["logprob"], content[0]["logprob"]);  // greedy took the best
}

TEST(ServerHttp, BadRequestsGetOpenAIErrorObjects) {
  ServerProcess server({"--max-body", "4096"});
  const std::string chat = server.url("/v1/chat/completions");
  expect_error(post_json(chat, "{\"model\": "), 400);
  expect_error(post_json(chat, "[]"), 400);
  expect_error(post_json(chat, R"({"model": "smoe-mixtral-tiny"})"), 400, "messages");
  expect_error(post_json(chat, R"({"model": "smoe-mixtral-tiny", "messages": [{"role": "user", "content": 5}]})"), 400, "messages");
  json body = chat_body("hi", 4, false);
  body["max_tokens"] = "four";
  expect_error(post_json(chat, body.dump()), 400, "max_tokens");
  body = chat_body("hi", 4, false);
  body["n"] = 2;
  expect_error(post_json(chat, body.dump()), 400, "n");
  body = chat_body("hi", 4, false);
  body["model"] = "gpt-4";
  expect_error(post_json(chat, body.dump()), 404, "model");
  // Longer than the bundled model's 256-token context.
  std::string long_prompt;
  for (int i = 0; i < 300; ++i) long_prompt += " word";
  const HttpResult too_long = post_json(chat, chat_body(long_prompt, 4, false).dump());
  expect_error(too_long, 400, "messages");
  EXPECT_EQ(json::parse(too_long.body)["error"]["code"], "context_length_exceeded");
  expect_error(post_json(chat, chat_body(std::string(5000, 'x'), 4, false).dump()), 413);
  expect_error(curl({server.url("/v1/nothing")}), 404);
  expect_error(post_json(server.url("/v1/completions"), R"({"model": "smoe-mixtral-tiny", "prompt": [999999]})"), 400, "prompt");
  // After all that the server still answers.
  EXPECT_EQ(post_json(chat, chat_body("hi", 2, false).dump()).status, 200);
}

TEST(ServerHttp, ApiKeyIsRequiredWhenSet) {
  ServerProcess server({"--api-key", "sesame"});
  const std::string body = chat_body("hi", 2, false).dump();
  const std::string chat = server.url("/v1/chat/completions");
  expect_error(post_json(chat, body), 401);
  expect_error(post_json(chat, body, {"-H", "Authorization: Bearer wrong"}), 401);
  expect_error(curl({server.url("/v1/models")}), 401);
  EXPECT_EQ(post_json(chat, body, {"-H", "Authorization: Bearer sesame"}).status, 200);
  EXPECT_EQ(curl({server.url("/health")}).status, 200);  // health checks need no key
}

// An open TCP connection to the server that sends nothing: it holds one handler thread.
class IdleConnection {
 public:
  explicit IdleConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "connect failed";
  }
  ~IdleConnection() { close(fd_); }
  IdleConnection(const IdleConnection&) = delete;
  IdleConnection& operator=(const IdleConnection&) = delete;

 private:
  int fd_;
};

TEST(ServerHttp, ConnectionsOverTheLimitGet503) {
  ServerProcess server({"--max-connections", "1"});
  {
    IdleConnection holder(server.port());
    // Without the limit this waits for a free thread (or gets one): with it, 503 at once.
    const HttpResult r = curl({server.url("/health")});
    expect_error(r, 503);
    EXPECT_TRUE(contains(r.body, "too_many_connections")) << r.body;
    const HttpResult with_headers = curl({"-D", "-", server.url("/v1/models")});
    EXPECT_EQ(with_headers.status, 503);
    EXPECT_TRUE(contains(with_headers.body, "Retry-After: 1")) << with_headers.body;
  }
  // Once the connection has closed, its thread serves again.
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = curl({server.url("/health")}).status;
    if (status != 200) usleep(100'000);
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(server.stop(), 0);
}

TEST(ServerHttp, MaxTokensIsClampedToTheContext) {
  ServerProcess server;
  std::string prompt;
  for (int i = 0; i < 240; ++i) prompt += " word";
  const json body = {{"prompt", prompt}, {"max_tokens", int64_t{1} << 40}, {"temperature", 0}};
  const HttpResult r = post_json(server.url("/v1/completions"), body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = json::parse(r.body);
  // The bundled model's context is 256 tokens: the answer ends there at the latest.
  EXPECT_LE(answer["usage"]["total_tokens"].get<int>(), 256) << r.body;
  if (answer["choices"][0]["finish_reason"] == "length") {
    EXPECT_EQ(answer["usage"]["total_tokens"], 256) << r.body;
  }
  json over = body;
  over["max_tokens"] = (int64_t{1} << 40) + 1;
  expect_error(post_json(server.url("/v1/completions"), over.dump()), 400, "max_tokens");
}

TEST(ServerHttp, SigtermFinishesTheStreamsInFlightThenExits) {
  ServerProcess server;
  json body = chat_body("Tell me a story", 64, true);
  StreamingCurl client(server.url("/v1/chat/completions"), body.dump());
  std::string line, stream;
  while (client.read_line(line)) {  // wait until the request is being answered
    stream += line;
    if (line.rfind("data: ", 0) == 0) break;
  }
  ASSERT_FALSE(stream.empty());
  ::kill(server.pid(), SIGTERM);
  while (client.read_line(line)) stream += line;
  const auto data = sse_data(stream);
  ASSERT_GE(data.size(), 2u);
  EXPECT_EQ(data.back(), "[DONE]");
  EXPECT_FALSE(json::parse(data[data.size() - 2])["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(server.wait(), 0);  // it exits by itself once the stream is done
}

TEST(ServerHttp, ClientLeavingMidStreamFreesItsSlot) {
  ServerProcess server({"--parallel", "1"});
  json body = chat_body("Tell me a long story", 240, true);
  body["temperature"] = 1.0;
  {
    StreamingCurl client(server.url("/v1/chat/completions"), body.dump());
    std::string line;
    while (client.read_line(line) && line.rfind("data: ", 0) != 0) {
    }
    client.kill();
  }
  // The only slot serves the next request.
  const HttpResult r = post_json(server.url("/v1/chat/completions"), chat_body("hi", 3, false).dump());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(contains(curl({server.url("/metrics")}).body, "smoe_active_sequences 0"));
}

TEST(ServerHttp, UsageErrorsOfTheCommand) {
  EXPECT_EQ(run_smoe({"serve", "--port", "70000"}).exit_code, 2);
  EXPECT_EQ(run_smoe({"serve", "--parallel", "0"}).exit_code, 2);
  const RunResult r = run_smoe({"serve", "-m", "/nonexistent.gguf"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error: ")) << r.err;
}

}  // namespace
}  // namespace smoe::test
