// The same weights in other file layouts give the same logits: per-expert tensors instead of
// merged ones, and tied embeddings (no output.weight). Also the session's error cases.
#include "core/error.h"
#include "formats/gguf_writer.h"
#include "model/model.h"
#include "model/session.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fmt/format.h>
#include <functional>

namespace smoe {
namespace {

// Copies `src` to `dst`, letting `edit` rename, split or drop tensors. Metadata is copied as is.
using TensorEdit = std::function<void(GgufWriter& out, const GgufTensor& t)>;

void rewrite(const GgufFile& src, const std::string& dst, const TensorEdit& edit) {
  GgufWriter out;
  for (const auto& [key, value] : src.metadata()) out.set_value(key, value);
  for (const GgufTensor& t : src.tensors()) edit(out, t);
  out.write(dst);
}

void copy_tensor(GgufWriter& out, const GgufTensor& t) { out.add_tensor(t.name, t.type, t.ne, t.data); }

std::vector<float> all_logits(const std::string& path, const std::vector<int32_t>& tokens) {
  auto model = Model::load(path);
  Session s(*model);
  std::vector<float> logits;
  s.eval(tokens, true, logits);
  return logits;
}

const std::vector<int32_t> kTokens = {1, 450, 439, 860, 3347, 113, 1701, 123, 432, 398, 567, 975, 278};

TEST(ModelLayout, PerExpertTensorsEqualMergedTensors) {
  SMOE_REQUIRE_SHARED();
  for (const char* name : {"micro-f32.gguf", "small-q4_k_m.gguf"}) {
    const std::string merged = test::shared_path(std::string("golden/") + name);
    const std::string split = test::temp_dir() + "/split.gguf";
    GgufFile src = GgufFile::open(merged);
    rewrite(src, split, [](GgufWriter& out, const GgufTensor& t) {
      const auto pos = t.name.find("_exps.weight");
      if (pos == std::string::npos) return copy_tensor(out, t);
      // blk.N.ffn_gate_exps.weight [cols, rows, E] -> blk.N.ffn_gate.E.weight [cols, rows]
      const std::string stem = t.name.substr(0, pos);
      const size_t slice = t.n_bytes / t.ne[2];
      for (int64_t e = 0; e < t.ne[2]; ++e)
        out.add_tensor(fmt::format("{}.{}.weight", stem, e), t.type, {t.ne[0], t.ne[1]}, t.data + e * slice);
    });
    auto split_model = Model::load(split);
    EXPECT_EQ(split_model->config().n_expert, 8);
    EXPECT_EQ(all_logits(merged, kTokens), all_logits(split, kTokens)) << name;
  }
}

TEST(ModelLayout, MissingOutputMeansTiedEmbeddings) {
  SMOE_REQUIRE_SHARED();
  GgufFile src = GgufFile::open(test::shared_path("golden/micro-f32.gguf"));
  const GgufTensor* embd = src.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  const std::string dir = test::temp_dir();
  // One file with output.weight := token_embd.weight, one with no output.weight at all.
  rewrite(src, dir + "/explicit.gguf", [&](GgufWriter& out, const GgufTensor& t) {
    if (t.name == "output.weight") return out.add_tensor(t.name, embd->type, embd->ne, embd->data), void();
    copy_tensor(out, t);
  });
  rewrite(src, dir + "/tied.gguf", [&](GgufWriter& out, const GgufTensor& t) {
    if (t.name != "output.weight") copy_tensor(out, t);
  });
  auto tied = Model::load(dir + "/tied.gguf");
  EXPECT_TRUE(tied->weights().tied_output);
  EXPECT_EQ(all_logits(dir + "/explicit.gguf", kTokens), all_logits(dir + "/tied.gguf", kTokens));
}

TEST(ModelLayout, MissingOrMisshapenTensorIsAClearError) {
  SMOE_REQUIRE_SHARED();
  GgufFile src = GgufFile::open(test::shared_path("golden/micro-f32.gguf"));
  const std::string dir = test::temp_dir();
  rewrite(src, dir + "/missing.gguf", [](GgufWriter& out, const GgufTensor& t) {
    if (t.name != "blk.1.attn_k.weight") copy_tensor(out, t);
  });
  try {
    Model::load(dir + "/missing.gguf");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'blk.1.attn_k.weight'"), std::string::npos) << e.what();
  }
  rewrite(src, dir + "/shape.gguf", [](GgufWriter& out, const GgufTensor& t) {
    if (t.name == "blk.0.attn_q.weight")  // a [64, 32] slice where [64, 64] belongs
      return out.add_tensor(t.name, t.type, {t.ne[0], t.ne[1] / 2}, t.data), void();
    copy_tensor(out, t);
  });
  try {
    Model::load(dir + "/shape.gguf");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight' has shape"), std::string::npos) << e.what();
  }
}

TEST(Session, ContextOverflowAndBadTokensAreClearErrors) {
  SMOE_REQUIRE_SHARED();
  auto model = Model::load(test::shared_path("golden/micro-f32.gguf"));
  Session s(*model, 8);
  std::vector<float> logits;
  s.eval(std::vector<int32_t>{1, 2, 3, 4, 5}, false, logits);
  EXPECT_THROW(s.eval(std::vector<int32_t>{6, 7, 8, 9}, false, logits), Error);
  EXPECT_EQ(s.n_past(), 5);  // a refused batch changes nothing
  s.eval(std::vector<int32_t>{6, 7, 8}, false, logits);
  EXPECT_EQ(s.n_past(), 8);
  EXPECT_THROW(s.eval(std::vector<int32_t>{1}, false, logits), Error);

  Session t(*model);
  EXPECT_THROW(t.eval(std::vector<int32_t>{1, 4096}, false, logits), Error);
  EXPECT_THROW(t.eval(std::vector<int32_t>{-1}, false, logits), Error);
  EXPECT_THROW(Session(*model, model->config().context_length + 1), Error);
}

TEST(Session, TruncateThenReevaluateGivesTheSameLogits) {
  SMOE_REQUIRE_SHARED();
  auto model = Model::load(test::shared_path("golden/micro-q8_0.gguf"));
  Session s(*model);
  std::vector<float> first, second;
  s.eval(kTokens, false, first);
  s.truncate(5);
  s.eval(std::span(kTokens).subspan(5), false, second);
  EXPECT_EQ(first, second);
}

}  // namespace
}  // namespace smoe
