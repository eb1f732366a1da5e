// Mixtral Instruct (v1) chat format, built at the token level:
//   [BOS] then, per user turn, encode("[INST] " + text + " [/INST]"), per assistant turn
//   encode(text) + [EOS]. A system message is prepended to the first user message as
//   system + "\n\n" + user. "[INST]" is plain text: text typed by a user is never parsed into
//   special tokens.
#pragma once

#include "tokenizer/tokenizer.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace smoe {

enum class ChatRole { System, User, Assistant };

struct ChatMessage {
  ChatRole role;
  std::string content;
};

// Reads OpenAI-style messages: [{"role": "system"|"user"|"assistant", "content": "..." or
// [{"type": "text", "text": "..."}, ...]}, ...]. Throws smoe::Error naming the offending message.
std::vector<ChatMessage> parse_chat_messages(const nlohmann::json& messages);

// Checks the conversation shape: system messages only before the first user turn, then user and
// assistant strictly alternating, starting with user. Throws smoe::Error naming the message.
void validate_chat(const std::vector<ChatMessage>& messages);

// The token ids of a whole conversation (validated), starting with BOS.
std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages);

// One user turn as appended to a conversation already in the KV cache:
// encode("[INST] " + text + " [/INST]"), with the system text folded in for the first turn.
std::vector<int32_t> chat_user_turn_tokens(const Tokenizer& tokenizer, const std::string& text,
                                           const std::string& system = "");

}  // namespace smoe
