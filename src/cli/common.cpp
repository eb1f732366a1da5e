// Helpers shared by the subcommands.
#include "cli/commands.h"

#include "cache/cache_report.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "runtime/default_model.h"

#include <cerrno>
#include <cstdio>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace smoe::cli {

void ComputeOptions::add_to(CLI::App& app, bool with_ctx) {
  app.add_option("-m,--model", model,
                 "Model: a GGUF file or a Hugging Face checkpoint directory (default: the bundled model)");
  app.add_option("-t,--threads", threads, "Threads (default: physical cores)")->check(CLI::NonNegativeNumber);
  if (with_ctx) app.add_option("--ctx", ctx, "Context size in tokens (default: the model's)")->check(CLI::NonNegativeNumber);
  cache.add_to(app);
}

std::string ComputeOptions::prepare() const {
  ThreadPool::global().set_threads(threads > 0 ? threads : physical_core_count());
  return resolve_model_path(model);
}

std::unique_ptr<Model> ComputeOptions::load_model() const {
  auto m = Model::load(prepare());
  cache.apply(*m);
  return m;
}

void ExpertCacheFlags::add_to(CLI::App& app) {
  app.add_option("--expert-cache", size,
                 "Keep experts in a cache of this size (6G, 512M, or a number of expert slots) read from the file "
                 "on demand, instead of mapping them all: runs models larger than memory");
  app.add_option("--expert-cache-policy", policy, "Expert cache eviction: lru, or lfu (decayed use frequency)")
      ->capture_default_str();
  app.add_flag("--no-prefetch", no_prefetch, "Expert cache: do not read the next layer's predicted experts ahead");
}

void print_expert_cache_report(const Model& model) {
  if (const ExpertCache* cache = expert_cache_of(model))
    std::fprintf(stderr, "%s\n%s", cache->describe().c_str(), format_expert_cache_stats(cache->stats(), "  ").c_str());
  else
    std::fprintf(stderr, "experts: read in place from the memory-mapped file (no --expert-cache)\n");
}

void ExpertCacheFlags::apply(Model& model) const {
  if (size.empty()) {
    if (no_prefetch) fail("--no-prefetch needs --expert-cache");
    return;
  }
  ExpertCacheOptions options;
  options.budget = parse_expert_cache_budget(size);
  options.policy = parse_eviction_policy(policy);
  options.prefetch = !no_prefetch;
  attach_expert_cache(model, options);
}

void GenerationFlags::add_to(CLI::App& app, int64_t default_n_predict) {
  n_predict = default_n_predict;
  app.add_option("-n,--n-predict", n_predict, "Tokens to generate (-1: until end of sequence or full context)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--temp", sampling.temperature, "Temperature (0: greedy)")->capture_default_str();
  app.add_option("--top-k", sampling.top_k, "Keep the K most likely tokens (0: all)")->capture_default_str();
  app.add_option("--top-p", sampling.top_p, "Nucleus sampling threshold (1: off)")->capture_default_str();
  app.add_option("--min-p", sampling.min_p, "Drop tokens below P x the top probability (0: off)")->capture_default_str();
  app.add_option("--repeat-penalty", sampling.repeat_penalty, "Penalty for repeated tokens (1: off)")->capture_default_str();
  app.add_option("--repeat-last-n", sampling.repeat_last_n, "How many recent tokens the penalty looks at")->capture_default_str();
  app.add_option("--seed", sampling.seed, "Random seed (same seed, same text)")->capture_default_str();
  app.add_flag("--ignore-eos", ignore_eos, "Keep generating past the end-of-sequence token");
}

GenerationStats stream_generation(Session& session, Sampler& sampler, const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options, int32_t* last_token) {
  const Tokenizer& tok = session.model().tokenizer();
  StreamingDecoder decoder(tok);
  GenerationStats stats = generate(session, sampler, prompt, options, [&](int32_t token) {
    if (last_token) *last_token = token;
    if (token == tok.eos_id() && options.stop_at_eos) return true;
    const std::string piece = decoder.push(token);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  const std::string rest = decoder.finish();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  return stats;
}

std::vector<int32_t> parse_id_list(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',' || text[i] == '[' || text[i] == ']')) ++i;
    if (i >= text.size()) break;
    int32_t v = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), v);
    if (ec != std::errc() || (end != text.data() + text.size() && *end != ',' && *end != ' ' && *end != ']'))
      fail("cannot read a token id at '{}' (expected comma-separated integers like 1,2,3)", text.substr(i, 16));
    ids.push_back(v);
    i = end - text.data();
  }
  return ids;
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot read '{}': {}", path, std::strerror(errno));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace smoe::cli
