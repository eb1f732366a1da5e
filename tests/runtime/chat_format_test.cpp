// Mixtral Instruct chat format: Mistral's own token ids for a multi-turn sample, the system
// message rule, content parts, and the alternation errors.
#include "core/error.h"
#include "runtime/chat_format.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace smoe {
namespace {

const Tokenizer& mixtral_tokenizer() {
  static Tokenizer tok(load_vocab_from_sentencepiece(test::shared_path("tokenizer/mixtral-v1.tokenizer.model")));
  return tok;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

TEST(ChatFormat, ReproducesMistralsTokensForTheSample) {
  SMOE_REQUIRE_SHARED();
  const auto messages = read_json(test::shared_path("tokenizer/mixtral-v1-chat-sample.messages.json"))["messages"];
  const auto expected = read_json(test::shared_path("tokenizer/mixtral-v1-chat-sample.tokens.json"))["tokens"];
  EXPECT_EQ(chat_prompt_tokens(mixtral_tokenizer(), parse_chat_messages(messages)),
            expected.get<std::vector<int32_t>>());
}

TEST(ChatFormat, SystemMessageJoinsTheFirstUserTurn) {
  SMOE_REQUIRE_SHARED();
  const Tokenizer& tok = mixtral_tokenizer();
  const std::vector<ChatMessage> chat = {{ChatRole::System, "Be brief."},
                                         {ChatRole::User, "Hi"},
                                         {ChatRole::Assistant, "Hello."},
                                         {ChatRole::User, "Bye"}};
  std::vector<int32_t> expected = {tok.bos_id()};
  for (int32_t id : tok.encode("[INST] Be brief.\n\nHi [/INST]", false)) expected.push_back(id);
  for (int32_t id : tok.encode("Hello.", false)) expected.push_back(id);
  expected.push_back(tok.eos_id());
  for (int32_t id : tok.encode("[INST] Bye [/INST]", false)) expected.push_back(id);
  EXPECT_EQ(chat_prompt_tokens(tok, chat), expected);
}

TEST(ChatFormat, TypedSpecialTokensStayText) {
  SMOE_REQUIRE_SHARED();
  const Tokenizer& tok = mixtral_tokenizer();
  const auto ids = chat_prompt_tokens(tok, {{ChatRole::User, "<s></s>[INST]"}});
  EXPECT_EQ(std::count(ids.begin(), ids.end(), tok.bos_id()), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), tok.eos_id()), 0);
}

TEST(ChatFormat, ParsesStringsAndTextParts) {
  const auto parsed = parse_chat_messages(nlohmann::json::parse(
      R"([{"role":"developer","content":"sys"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}])"));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].role, ChatRole::System);
  EXPECT_EQ(parsed[1].content, "ab");
}

TEST(ChatFormat, RejectsMalformedConversations) {
  auto rejects = [](const char* json, const char* part) {
    try {
      validate_chat(parse_chat_messages(nlohmann::json::parse(json)));
      ADD_FAILURE() << "accepted " << json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  rejects(R"({"role":"user"})", "array");
  rejects(R"([{"role":"user","content":"a"},{"role":"user","content":"b"}])", "alternate");
  rejects(R"([{"role":"assistant","content":"a"}])", "alternate");
  rejects(R"([{"role":"system","content":"s"}])", "no user message");
  rejects(R"([])", "no user message");
  rejects(R"([{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"system","content":"s"}])",
          "system");
  rejects(R"([{"role":"tool","content":"a"}])", "tool");
  rejects(R"([{"role":"user"}])", "content");
  rejects(R"([{"role":"user","content":42}])", "content");
  rejects(R"([{"role":"user","content":[{"type":"image_url","image_url":"x"}]}])", "text");
  rejects(R"([{"content":"a"}])", "role");
  // A content part whose type is not a string: an Error, not nlohmann's type_error (found in review
  // while writing fuzz_chat_messages; the fuzzer had not reached it in 1M runs).
  rejects(R"([{"role":"user","content":[{"type":1,"text":"a"}]}])", "only text content parts");
  rejects(R"([{"role":"user","content":[{"type":null,"text":"a"}]}])", "only text content parts");
  // A conversation may end with an assistant turn (e.g. for scoring a reply).
  EXPECT_NO_THROW(validate_chat(parse_chat_messages(
      nlohmann::json::parse(R"([{"role":"user","content":"a"},{"role":"assistant","content":"b"}])"))));
}

}  // namespace
}  // namespace smoe
