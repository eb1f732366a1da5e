// The continuous-batching scheduler on the bundled model: a request's tokens are the same alone
// (through the plain generation loop) and batched with others, with prompts prefilled in chunks
// while others decode; the queue is bounded; cancelled requests give their place up; drain
// finishes everything accepted.
#include "model/model.h"
#include "model/session.h"
#include "runtime/default_model.h"
#include "runtime/generate.h"
#include "server/scheduler.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <memory>

namespace smoe::server {
namespace {

using namespace std::chrono_literals;

const Model& bundled_model() {
  static std::unique_ptr<Model> model = Model::load(resolve_model_path(""));
  return *model;
}

struct Outcome {
  std::vector<int32_t> tokens;
  std::string text;
  std::vector<JobEvent> events;
  JobEvent final;
};

Outcome collect(GenerationJob& job) {
  Outcome o;
  for (;;) {
    std::optional<JobEvent> e = job.channel.pop(1s);
    if (!e) continue;
    if (e->final) {
      o.final = *e;
      return o;
    }
    if (e->token >= 0) o.tokens.push_back(e->token);
    o.text += e->text;
    o.events.push_back(*e);
  }
}

std::shared_ptr<GenerationJob> make_job(const std::string& prompt, int64_t max_tokens, SamplerParams sampling,
                                        const Model& model = bundled_model()) {
  auto job = std::make_shared<GenerationJob>();
  job->prompt = model.tokenizer().encode(prompt, true);
  job->max_tokens = max_tokens;
  job->sampling = sampling;
  return job;
}

SamplerParams greedy() {
  SamplerParams p;
  p.temperature = 0;
  return p;
}

// The reference: the same request through Session::eval and generate(), alone.
std::vector<int32_t> solo_tokens(const Model& model, const std::vector<int32_t>& prompt, int64_t max_tokens,
                                 SamplerParams sampling) {
  Session session(model);
  Sampler sampler(sampling);
  GenerateOptions options;
  options.max_tokens = max_tokens;
  std::vector<int32_t> tokens;
  generate(session, sampler, prompt, options, [&](int32_t t) {
    if (t != model.tokenizer().eos_id()) tokens.push_back(t);
    return true;
  });
  return tokens;
}

// Eight requests on three slots, with a small prefill chunk so long prompts take several steps
// while other requests decode: each request's tokens equal its solo run.
void expect_batched_equals_solo(const Model& model) {
  Metrics metrics;
  Scheduler scheduler(model, {.parallel = 3, .max_queue = 16, .ctx = 0, .prefill_chunk = 8}, metrics);
  const std::vector<std::string> prompts = {
      "It is a truth universally acknowledged",
      "In the beginning",
      "And God said, Let there be light: and there was light. And God saw the light, that it was good: and God "
      "divided the light from the darkness. And God called the light Day,",
      "Mr. Darcy",
      "The",
      "She was",
      "And it came to pass, when men began to multiply on the face of the earth,",
      "Elizabeth",
  };
  std::vector<std::shared_ptr<GenerationJob>> jobs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    SamplerParams sampling = greedy();
    if (i % 2 == 1) {  // seeded sampling must be reproducible too
      sampling.temperature = 0.9f;
      sampling.top_k = 40;
      sampling.seed = 1000 + i;
    }
    jobs.push_back(make_job(prompts[i], 20 + static_cast<int64_t>(i), sampling, model));
    ASSERT_EQ(scheduler.submit(jobs.back()), Admission::Accepted);
  }
  scheduler.start();
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Outcome o = collect(*jobs[i]);
    ASSERT_TRUE(o.final.error.empty()) << o.final.error;
    const auto expected = solo_tokens(model, jobs[i]->prompt, jobs[i]->max_tokens, jobs[i]->sampling);
    EXPECT_EQ(o.tokens, expected) << "request " << i << ": " << prompts[i];
    EXPECT_EQ(o.text, model.tokenizer().decode(expected)) << i;
    EXPECT_EQ(o.final.completion_tokens, static_cast<int64_t>(expected.size()));
    EXPECT_EQ(o.final.prompt_tokens, static_cast<int64_t>(jobs[i]->prompt.size()));
    EXPECT_EQ(o.final.finish_reason, static_cast<int64_t>(expected.size()) == jobs[i]->max_tokens ? "length" : "stop");
  }
  // Some steps decoded several requests together.
  const std::string m = metrics.render(0, 0, 3);
  auto value_after = [&](const std::string& key) {
    const size_t at = m.find(key);
    return at == std::string::npos ? -1.0 : std::stod(m.substr(at + key.size()));
  };
  const double single = value_after("smoe_decode_batch_size_bucket{le=\"1\"} ");
  const double steps = value_after("smoe_decode_batch_size_count ");
  EXPECT_GE(single, 0) << m;
  EXPECT_GT(steps, single) << m;
}

TEST(Scheduler, OutputIsTheSameAloneAndBatched) { expect_batched_equals_solo(bundled_model()); }

// The reference models of ../shared: F32 (exact arithmetic) and a K-quant mix.
TEST(Scheduler, OutputIsTheSameAloneAndBatchedOnReferenceModels) {
  SMOE_REQUIRE_SHARED();
  for (const char* name : {"golden/micro-f32.gguf", "golden/small-q4_k_m.gguf"}) {
    SCOPED_TRACE(name);
    const auto model = Model::load(test::shared_path(name));
    expect_batched_equals_solo(*model);
  }
}

TEST(Scheduler, StopStringEndsTheTextBeforeIt) {
  Metrics metrics;
  Scheduler scheduler(bundled_model(), {.parallel = 2}, metrics);
  scheduler.start();
  auto plain = make_job("It is a truth universally acknowledged", 24, greedy());
  scheduler.submit(plain);
  const Outcome full = collect(*plain);
  ASSERT_GT(full.text.size(), 8u) << full.text;
  const std::string stop = full.text.substr(full.text.size() / 2, 3);
  const size_t at = full.text.find(stop);

  auto stopped = make_job("It is a truth universally acknowledged", 24, greedy());
  stopped->stop = {stop, "never appears in this text"};
  scheduler.submit(stopped);
  const Outcome o = collect(*stopped);
  EXPECT_EQ(o.text, full.text.substr(0, at)) << "stop: '" << stop << "'";
  EXPECT_EQ(o.final.finish_reason, "stop");
  // No event released text that turned out to be part of the stop string.
  std::string so_far;
  for (const JobEvent& e : o.events) {
    so_far += e.text;
    EXPECT_EQ(full.text.compare(0, so_far.size(), so_far), 0);
    EXPECT_LE(so_far.size(), at);
  }
}

TEST(Scheduler, LogprobsAndRouting) {
  Metrics metrics;
  Scheduler scheduler(bundled_model(), {.parallel = 2}, metrics);
  scheduler.start();
  auto job = make_job("In the beginning", 6, greedy());
  job->logprobs = true;
  job->top_logprobs = 3;
  job->routing = true;
  scheduler.submit(job);
  const Outcome o = collect(*job);
  ASSERT_FALSE(o.events.empty());
  const ModelConfig& c = bundled_model().config();
  for (const JobEvent& e : o.events) {
    if (e.token < 0) continue;
    ASSERT_EQ(e.top.size(), 3u);
    EXPECT_EQ(e.top[0].token, e.token);  // greedy picks the most likely
    EXPECT_EQ(e.top[0].logprob, e.chosen.logprob);
    EXPECT_LE(e.chosen.logprob, 0.0f);
    EXPECT_GE(e.top[0].logprob, e.top[1].logprob);
    ASSERT_EQ(static_cast<int64_t>(e.routing.size()), c.n_layer);
    for (const auto& experts : e.routing) {
      ASSERT_EQ(static_cast<int64_t>(experts.size()), c.n_expert_used);
      for (int32_t x : experts) EXPECT_TRUE(x >= 0 && x < c.n_expert);
    }
  }
}

TEST(Scheduler, QueueIsBounded) {
  Metrics metrics;
  Scheduler scheduler(bundled_model(), {.parallel = 1, .max_queue = 1}, metrics);  // not started
  EXPECT_EQ(scheduler.submit(make_job("a", 4, greedy())), Admission::Accepted);
  EXPECT_EQ(scheduler.submit(make_job("b", 4, greedy())), Admission::Accepted);
  EXPECT_EQ(scheduler.submit(make_job("c", 4, greedy())), Admission::QueueFull);
  EXPECT_EQ(scheduler.queue_length(), 2);
}

TEST(Scheduler, CancelledRequestGivesUpItsPlace) {
  Metrics metrics;
  Scheduler scheduler(bundled_model(), {.parallel = 1, .max_queue = 2}, metrics);
  auto abandoned = make_job("It is a truth", 200, greedy());
  auto next = make_job("In the beginning", 5, greedy());
  scheduler.submit(abandoned);
  scheduler.submit(next);
  abandoned->channel.cancel();  // its client left while it waited
  scheduler.start();
  const Outcome o = collect(*next);
  EXPECT_EQ(o.final.completion_tokens, static_cast<int64_t>(o.tokens.size()));
  EXPECT_FALSE(abandoned->channel.pop(0ms).has_value()) << "a cancelled request is not computed";
}

TEST(Scheduler, DrainFinishesEverythingAcceptedAndRefusesMore) {
  Metrics metrics;
  Scheduler scheduler(bundled_model(), {.parallel = 2, .max_queue = 4}, metrics);
  std::vector<std::shared_ptr<GenerationJob>> jobs;
  for (const char* p : {"The", "And", "She", "It"}) {
    jobs.push_back(make_job(p, 8, greedy()));
    scheduler.submit(jobs.back());
  }
  scheduler.start();
  scheduler.drain();
  EXPECT_EQ(scheduler.submit(make_job("late", 4, greedy())), Admission::ShuttingDown);
  for (auto& job : jobs) {
    std::optional<JobEvent> last;
    while (auto e = job->channel.pop(0ms)) last = e;
    ASSERT_TRUE(last && last->final) << "every accepted request was answered before drain returned";
    EXPECT_TRUE(last->error.empty());
  }
}

TEST(Scheduler, PenaltiesFollowOpenAI) {
  std::vector<float> logits = {1, 1, 1, 1};
  apply_openai_penalties(logits, {{1, 1}, {2, 3}}, 0.5f, 0.25f);
  EXPECT_EQ(logits, (std::vector<float>{1, 0.25f, -0.25f, 1}));
}

}  // namespace
}  // namespace smoe::server
