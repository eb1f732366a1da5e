// Mixtral Instruct v1 prompt construction and OpenAI-style message parsing.
#include "runtime/chat_format.h"

#include "core/error.h"

#include <nlohmann/json.hpp>

namespace smoe {
namespace {

const char* role_name(ChatRole r) {
  switch (r) {
    case ChatRole::System: return "system";
    case ChatRole::User: return "user";
    case ChatRole::Assistant: return "assistant";
  }
  return "?";
}

}  // namespace

std::vector<ChatMessage> parse_chat_messages(const nlohmann::json& messages) {
  if (!messages.is_array()) fail("'messages' must be an array of {{\"role\", \"content\"}} objects");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object()) fail("message {} is not an object", i);
    if (!m.contains("role") || !m["role"].is_string()) fail("message {} has no 'role' string", i);
    const std::string role = m["role"];
    ChatMessage msg;
    if (role == "system" || role == "developer")
      msg.role = ChatRole::System;
    else if (role == "user")
      msg.role = ChatRole::User;
    else if (role == "assistant")
      msg.role = ChatRole::Assistant;
    else
      fail("message {} has role '{}' (Mixtral Instruct supports system, user and assistant)", i, role);
    if (!m.contains("content") || m["content"].is_null()) fail("message {} ({}) has no 'content'", i, role);
    const auto& content = m["content"];
    if (content.is_string()) {
      msg.content = content.get<std::string>();
    } else if (content.is_array()) {
      for (const auto& part : content) {
        // Compared as JSON, not read with value("type", ""), which throws for a non-string type.
        if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
            !part["text"].is_string())
          fail("message {} ({}): only text content parts are supported", i, role);
        msg.content += part["text"].get<std::string>();
      }
    } else {
      fail("message {} ({}): 'content' must be a string or an array of text parts", i, role);
    }
    out.push_back(std::move(msg));
  }
  return out;
}

void validate_chat(const std::vector<ChatMessage>& messages) {
  bool seen_turn = false;
  ChatRole expected = ChatRole::User;
  bool any_user = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatRole r = messages[i].role;
    if (r == ChatRole::System) {
      if (seen_turn) fail("message {}: a system message must come before the conversation starts", i);
      continue;
    }
    seen_turn = true;
    if (r != expected)
      fail("message {} is '{}' but '{}' was expected: user and assistant turns must alternate, starting with user",
           i, role_name(r), role_name(expected));
    any_user = any_user || r == ChatRole::User;
    expected = r == ChatRole::User ? ChatRole::Assistant : ChatRole::User;
  }
  if (!any_user) fail("the conversation has no user message");
}

std::vector<int32_t> chat_user_turn_tokens(const Tokenizer& tokenizer, const std::string& text,
                                           const std::string& system) {
  const std::string content = system.empty() ? text : system + "\n\n" + text;
  return tokenizer.encode("[INST] " + content + " [/INST]", false);
}

std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages) {
  validate_chat(messages);
  std::string system;
  for (const auto& m : messages)
    if (m.role == ChatRole::System) system += (system.empty() ? "" : "\n\n") + m.content;
  std::vector<int32_t> ids = {tokenizer.bos_id()};
  bool first_user = true;
  for (const auto& m : messages) {
    if (m.role == ChatRole::User) {
      const auto turn = chat_user_turn_tokens(tokenizer, m.content, first_user ? system : "");
      ids.insert(ids.end(), turn.begin(), turn.end());
      first_user = false;
    } else if (m.role == ChatRole::Assistant) {
      const auto reply = tokenizer.encode(m.content, false);
      ids.insert(ids.end(), reply.begin(), reply.end());
      ids.push_back(tokenizer.eos_id());
    }
  }
  return ids;
}

}  // namespace smoe
