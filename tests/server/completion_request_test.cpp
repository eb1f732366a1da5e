// Request parsing and validation: OpenAI's fields, defaults, and a 400 naming the field for
// every kind of bad input.
#include "server/api_error.h"
#include "server/completion_request.h"

#include <gtest/gtest.h>

namespace smoe::server {
namespace {

CompletionRequest chat(const std::string& body) { return parse_completion_request(Endpoint::ChatCompletions, body); }
CompletionRequest completion(const std::string& body) { return parse_completion_request(Endpoint::Completions, body); }

// The ApiError a body raises (status 0 when it parses).
ApiError error_of(Endpoint endpoint, const std::string& body) {
  try {
    parse_completion_request(endpoint, body);
  } catch (const ApiError& e) {
    return e;
  }
  return ApiError(0, "", "");
}

TEST(CompletionRequest, ChatFieldsAndDefaults) {
  CompletionRequest r = chat(R"({"model": "m", "messages": [{"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi"}]})");
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].content, "Hi");
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_EQ(r.sampling.top_p, 1.0f);
  EXPECT_EQ(r.sampling.min_p, 0.0f);
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.logprobs);
  EXPECT_FALSE(r.seed_given);
}

TEST(CompletionRequest, AllSamplingFields) {
  CompletionRequest r = chat(R"({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 7,
      "temperature": 0, "top_p": 0.5, "top_k": 3, "min_p": 0.1, "seed": 42, "stop": ["a", "b"], "stream": true,
      "stream_options": {"include_usage": true}, "n": 1, "presence_penalty": 0.5, "frequency_penalty": -1,
      "logprobs": true, "top_logprobs": 3, "smoe_routing": true, "user": "ignored"})");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_EQ(r.sampling.top_k, 3);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.1f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_TRUE(r.seed_given);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.stream_include_usage);
  EXPECT_EQ(r.presence_penalty, 0.5f);
  EXPECT_EQ(r.frequency_penalty, -1.0f);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
  EXPECT_TRUE(r.routing);
}

TEST(CompletionRequest, PromptForms) {
  EXPECT_EQ(completion(R"({"model": "m", "prompt": "Once"})").prompt_text, "Once");
  // No model: the one being served (llama.cpp's and vLLM's servers accept that too).
  EXPECT_EQ(completion(R"({"prompt": "Once"})").model, "");
  EXPECT_EQ(completion(R"({"model": "m", "prompt": ["Once"]})").prompt_text, "Once");
  CompletionRequest ids = completion(R"({"model": "m", "prompt": [1, 2, 3]})");
  EXPECT_TRUE(ids.prompt_is_ids);
  EXPECT_EQ(ids.prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(completion(R"({"model": "m", "prompt": "x", "stop": "\n"})").stop, (std::vector<std::string>{"\n"}));
  CompletionRequest lp = completion(R"({"model": "m", "prompt": "x", "logprobs": 2})");
  EXPECT_TRUE(lp.logprobs);
  EXPECT_EQ(lp.top_logprobs, 2);
}

TEST(CompletionRequest, BadInputIs400NamingTheField) {
  struct Case {
    Endpoint endpoint;
    const char* body;
    const char* param;
  };
  const Endpoint C = Endpoint::ChatCompletions, P = Endpoint::Completions;
  const Case cases[] = {
      {C, "{not json", ""},
      {C, "[1, 2]", ""},
      {C, R"({"model": 3, "messages": [{"role": "user", "content": "x"}]})", "model"},
      {C, R"({"model": "m"})", "messages"},
      {C, R"({"model": "m", "messages": "hi"})", "messages"},
      {C, R"({"model": "m", "messages": [{"role": "robot", "content": "x"}]})", "messages"},
      {C, R"({"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]})",
       "messages"},
      {P, R"({"model": "m"})", "prompt"},
      {P, R"({"model": "m", "prompt": 5})", "prompt"},
      {P, R"({"model": "m", "prompt": ["a", "b"]})", "prompt"},
      {P, R"({"model": "m", "prompt": [1, "b"]})", "prompt"},
      {P, R"({"model": "m", "prompt": []})", "prompt"},
      {P, R"({"model": "m", "prompt": "x", "max_tokens": "5"})", "max_tokens"},
      {P, R"({"model": "m", "prompt": "x", "max_tokens": 0})", "max_tokens"},
      {P, R"({"model": "m", "prompt": "x", "max_tokens": 1.5})", "max_tokens"},
      {P, R"({"model": "m", "prompt": "x", "temperature": "hot"})", "temperature"},
      {P, R"({"model": "m", "prompt": "x", "temperature": 3})", "temperature"},
      {P, R"({"model": "m", "prompt": "x", "top_p": 0})", "top_p"},
      {P, R"({"model": "m", "prompt": "x", "top_k": -1})", "top_k"},
      {P, R"({"model": "m", "prompt": "x", "presence_penalty": 5})", "presence_penalty"},
      {P, R"({"model": "m", "prompt": "x", "n": 2})", "n"},
      {P, R"({"model": "m", "prompt": "x", "stop": 5})", "stop"},
      {P, R"({"model": "m", "prompt": "x", "stop": ["a", "b", "c", "d", "e"]})", "stop"},
      {P, R"({"model": "m", "prompt": "x", "stop": [""]})", "stop"},
      {P, R"({"model": "m", "prompt": "x", "stream": "yes"})", "stream"},
      {P, R"({"model": "m", "prompt": "x", "stream_options": {"include_usage": true}})", "stream_options"},
      {P, R"({"model": "m", "prompt": "x", "logprobs": 6})", "logprobs"},
      {C, R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", "top_logprobs"},
      {C, R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 21})",
       "top_logprobs"},
      {P, R"({"model": "m", "prompt": "x", "seed": "1"})", "seed"},
      {P, R"({"model": "m", "prompt": "x", "echo": true})", "echo"},
      {C, R"({"messages": [{"role": "user", "content": [{"type": 1, "text": "x"}]}]})", "messages"},
  };
  for (const Case& c : cases) {
    const ApiError e = error_of(c.endpoint, c.body);
    EXPECT_EQ(e.status(), 400) << c.body;
    EXPECT_EQ(e.type(), "invalid_request_error") << c.body;
    EXPECT_EQ(e.param(), c.param) << c.body;
    EXPECT_FALSE(std::string(e.what()).empty()) << c.body;
  }
}

// Found by fuzz_completion_request: nlohmann's parser throws out_of_range, not parse_error, for a
// number beyond double, which escaped as a 500.
TEST(CompletionRequest, NumberOutOfRangeIs400) {
  for (const char* body : {R"({"prompt": "x", "max_tokens": 1e400})", R"({"prompt": [-1e999]})"}) {
    const ApiError e = error_of(Endpoint::Completions, body);
    EXPECT_EQ(e.status(), 400) << body;
    EXPECT_EQ(e.param(), "") << body;
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
}

// A prompt nested deeper than OpenAI's [[ids]] is a 400; it used to be read recursively, so a
// body of 300000 nested lists (600 kB, under the 1 MiB body limit) overflowed the stack.
TEST(CompletionRequest, DeeplyNestedPromptIs400) {
  const ApiError shallow = error_of(Endpoint::Completions, R"({"prompt": [[[1, 2]]]})");
  EXPECT_EQ(shallow.status(), 400);
  EXPECT_EQ(shallow.param(), "prompt");
  const size_t depth = 300000;
  const std::string body = "{\"prompt\": " + std::string(depth, '[') + "1" + std::string(depth, ']') + "}";
  const ApiError deep = error_of(Endpoint::Completions, body);
  EXPECT_EQ(deep.status(), 400);
  EXPECT_EQ(deep.param(), "prompt");
  EXPECT_EQ(completion(R"({"prompt": [[1, 2]]})").prompt_ids, (std::vector<int32_t>{1, 2}));
}

TEST(CompletionRequest, BudgetIsClampedToTheContext) {
  CompletionRequest r = completion(R"({"model": "m", "prompt": "x"})");
  EXPECT_EQ(completion_budget(r, 10, 256), 16);  // the completions default
  r.max_tokens = 1000;
  EXPECT_EQ(completion_budget(r, 10, 256), 246);
  CompletionRequest c = chat(R"({"model": "m", "messages": [{"role": "user", "content": "x"}]})");
  EXPECT_EQ(completion_budget(c, 10, 256), 246);  // chat: the rest of the context
  try {
    completion_budget(c, 256, 256);
    FAIL() << "a prompt filling the context must be refused";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.code(), "context_length_exceeded");
    EXPECT_EQ(e.param(), "messages");
  }
}

TEST(CompletionRequest, ErrorBodyHasOpenAIsShape) {
  const auto body = error_body(ApiError(404, "no such model", "invalid_request_error", "model", "model_not_found"));
  EXPECT_EQ(body["error"]["message"], "no such model");
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["param"], "model");
  EXPECT_EQ(body["error"]["code"], "model_not_found");
  EXPECT_TRUE(error_body(ApiError(400, "x", "invalid_request_error"))["error"]["param"].is_null());
}

}  // namespace
}  // namespace smoe::server
