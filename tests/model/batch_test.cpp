// Batched decoding: several sequences advanced together in one forward pass give, bit for bit,
// the logits each gets alone (the server's promise that batching never changes an answer).
#include "core/error.h"
#include "model/model.h"
#include "model/random_model.h"
#include "model/session.h"
#include "runtime/sampler.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <memory>

namespace smoe {
namespace {

void expect_batch_equals_solo(const Model& model) {
  const int64_t vocab = model.config().vocab;
  const std::vector<std::vector<int32_t>> prompts = {
      {1, 450, 439, 860}, {1, 13, 14, 15, 16, 17, 18, 19, 20, 21}, {1, 99}, {1, 7, 7, 7, 7, 7, 7}};
  // Solo: prefill, then 12 greedy steps each.
  std::vector<std::vector<std::vector<float>>> solo(prompts.size());
  for (size_t s = 0; s < prompts.size(); ++s) {
    Session session(model);
    std::vector<float> logits;
    session.eval(prompts[s], false, logits);
    for (int step = 0; step < 12; ++step) {
      solo[s].push_back(logits);
      const int32_t next = argmax(logits);
      session.eval(std::span(&next, 1), false, logits);
    }
  }
  // Together: same prefills, then 12 batched steps.
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<Session*> ptrs;
  std::vector<std::vector<float>> current(prompts.size());
  for (size_t s = 0; s < prompts.size(); ++s) {
    sessions.push_back(std::make_unique<Session>(model));
    sessions.back()->eval(prompts[s], false, current[s]);
    ptrs.push_back(sessions.back().get());
  }
  ForwardPass pass(model);
  std::vector<float> logits;
  for (int step = 0; step < 12; ++step) {
    std::vector<int32_t> next;
    for (size_t s = 0; s < prompts.size(); ++s) {
      ASSERT_EQ(current[s], solo[s][step]) << "sequence " << s << " step " << step;
      next.push_back(argmax(current[s]));
    }
    decode_batch(pass, ptrs, next, logits);
    for (size_t s = 0; s < prompts.size(); ++s)
      current[s].assign(logits.begin() + s * vocab, logits.begin() + (s + 1) * vocab);
  }
}

TEST(BatchedDecode, EqualsSoloDecodingOnGoldenModels) {
  SMOE_REQUIRE_SHARED();
  for (const char* name : {"micro-f32.gguf", "small-q4_k_m.gguf", "dense-f32.gguf"}) {
    SCOPED_TRACE(name);
    auto model = Model::load(test::shared_path(std::string("golden/") + name));
    expect_batch_equals_solo(*model);
  }
}

TEST(BatchedDecode, EqualsSoloDecodingWithASlidingWindow) {
  const std::string path = test::temp_dir() + "/swa.gguf";
  test::RandomModelShape shape;
  shape.vocab = 1024;
  shape.sliding_window = 5;
  test::write_random_model(shape, path);
  auto model = Model::load(path);
  expect_batch_equals_solo(*model);
}

TEST(BatchedDecode, RejectsInvalidStepsWithoutChangingAnything) {
  SMOE_REQUIRE_SHARED();
  auto model = Model::load(test::shared_path("golden/micro-q8_0.gguf"));
  Session a(*model, 4), b(*model);
  std::vector<float> logits;
  a.eval(std::vector<int32_t>{1, 2, 3, 4}, false, logits);  // full
  b.eval(std::vector<int32_t>{1, 2}, false, logits);
  ForwardPass pass(*model);
  std::vector<Session*> both = {&b, &a};
  EXPECT_THROW(decode_batch(pass, both, std::vector<int32_t>{5, 6}, logits), Error);
  EXPECT_EQ(b.n_past(), 2);
  std::vector<Session*> twice = {&b, &b};
  EXPECT_THROW(decode_batch(pass, twice, std::vector<int32_t>{5, 6}, logits), Error);
  std::vector<Session*> one = {&b};
  EXPECT_THROW(decode_batch(pass, one, std::vector<int32_t>{5000}, logits), Error);
  decode_batch(pass, one, std::vector<int32_t>{5}, logits);
  EXPECT_EQ(b.n_past(), 3);
}

}  // namespace
}  // namespace smoe
