// `smoe chat` (and `smoe run --chat`): an interactive multi-turn chat in the Mixtral Instruct
// format that keeps the conversation in the KV cache, so each turn only computes its own tokens.
// `smoe chat-tokenize`: the token ids of an OpenAI-style messages file.
#include "cli/commands.h"
#include "runtime/default_model.h"
#include "core/error.h"
#include "model/model.h"
#include "model/session.h"
#include "runtime/chat_format.h"
#include "runtime/generate.h"
#include "runtime/model_files.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace smoe::cli {

int run_interactive_chat(const ComputeOptions& compute, const GenerationFlags& flags, const std::string& system) {
  flags.sampling.validate();
  auto model = compute.load_model();
  const Tokenizer& tok = model->tokenizer();
  Session session(*model, compute.ctx);
  Sampler sampler(flags.sampling);
  const bool interactive = isatty(STDIN_FILENO);
  if (interactive)
    std::fprintf(stderr, "smoe chat with %s: type a message and press Enter; /exit or Ctrl-D quits.\n",
                 model->path().c_str());
  bool first_turn = true;
  std::string line;
  while (true) {
    if (interactive) {
      std::fputs("\n> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::vector<int32_t> turn;
    if (first_turn) turn.push_back(tok.bos_id());
    const auto user = chat_user_turn_tokens(tok, line, first_turn ? system : "");
    turn.insert(turn.end(), user.begin(), user.end());
    // The reply must fit with its end-of-sequence token.
    if (session.n_past() + static_cast<int64_t>(turn.size()) + 1 >= session.n_ctx())
      fail("the conversation is longer than the context ({} tokens); start again or raise --ctx", session.n_ctx());
    first_turn = false;

    int32_t last = -1;
    GenerateOptions options;
    options.max_tokens = flags.n_predict;
    options.stop_at_eos = true;
    const GenerationStats stats = stream_generation(session, sampler, turn, options, &last);
    // Close the assistant turn in the cache as the format does: reply tokens, then EOS. The last
    // sampled token has not been computed yet.
    std::vector<int32_t> closing;
    if (last != tok.eos_id() && last >= 0) closing.push_back(last);
    closing.push_back(tok.eos_id());
    if (session.n_past() + static_cast<int64_t>(closing.size()) > session.n_ctx()) {
      std::fprintf(stderr, "[context full: %lld tokens]\n", static_cast<long long>(session.n_ctx()));
      break;
    }
    std::vector<float> logits;
    session.eval(closing, false, logits);
    if (interactive || std::getenv("SMOE_CHAT_STATS"))
      std::fprintf(stderr, "[%lld tokens, %.1f tokens/s; %lld of %lld context tokens used]\n",
                   static_cast<long long>(stats.generated_tokens), stats.generation_tokens_per_second(),
                   static_cast<long long>(session.n_past()), static_cast<long long>(session.n_ctx()));
  }
  return 0;
}

Command add_chat_command(CLI::App& root) {
  struct Options {
    ComputeOptions compute;
    GenerationFlags gen;
    std::string system;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("chat", "Interactive multi-turn chat in the Mixtral Instruct format");
  o->compute.add_to(*sub);
  o->gen.add_to(*sub, 512);
  sub->add_option("--system", o->system, "System message, prepended to the first user turn");
  return {sub, [o]() { return run_interactive_chat(o->compute, o->gen, o->system); }};
}

Command add_chat_tokenize_command(CLI::App& root) {
  struct Options {
    std::string model, file;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("chat-tokenize", "Print the ids of an OpenAI-style {\"messages\": [...]} file");
  sub->add_option("-m,--model", o->model, "GGUF model, Hugging Face directory or tokenizer.model (default: the bundled model)");
  sub->add_option("-f,--file", o->file, "JSON file with {\"messages\": [...]} (or the bare array)")->required();
  return {sub, [o]() {
            auto tok = load_tokenizer(resolve_model_path(o->model));
            nlohmann::json j;
            try {
              j = nlohmann::json::parse(read_text_file(o->file));
            } catch (const nlohmann::json::exception& e) {
              fail("'{}' is not valid JSON: {}", o->file, e.what());
            }
            const nlohmann::json& messages = j.is_object() && j.contains("messages") ? j["messages"] : j;
            const auto ids = chat_prompt_tokens(*tok, parse_chat_messages(messages));
            std::string out = "[";
            for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
            out += "]\n";
            std::fwrite(out.data(), 1, out.size(), stdout);
            return 0;
          }};
}

}  // namespace smoe::cli
