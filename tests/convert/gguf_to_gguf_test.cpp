// GGUF -> GGUF: re-quantizing the golden F32 source reproduces llama.cpp's own files byte for
// byte, the K mixes choose the tensor types llama.cpp chose for the golden `small` model, and
// older layouts (one tensor per expert, a "mixtral" architecture prefix) come out merged and
// named as llama.cpp expects.
#include "convert_test_util.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"

#include <gtest/gtest.h>

#include <fstream>

namespace smoe {
namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

TEST(GgufToGguf, ReproducesLlamaCppFilesFromTheirSource) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const std::string source = test::shared_path("golden/micro-f32.gguf");
  for (const char* type : {"Q8_0", "Q4_0", "F16", "BF16"}) {
    SCOPED_TRACE(type);
    std::string lower = type;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string golden_path = test::shared_path("golden/micro-" + lower + ".gguf");
    const std::string ours_path = test::convert_quietly(source, dir, lower + ".gguf", type);
    // Tensor by tensor first, for a readable failure ...
    const GgufFile ours = GgufFile::open(ours_path), golden = GgufFile::open(golden_path);
    ASSERT_EQ(ours.tensors().size(), golden.tensors().size());
    for (const GgufTensor& g : golden.tensors()) {
      const GgufTensor* t = ours.find_tensor(g.name);
      ASSERT_TRUE(t) << g.name;
      EXPECT_EQ(t->type, g.type) << g.name;
      EXPECT_EQ(t->ne, g.ne) << g.name;
      ASSERT_EQ(t->n_bytes, g.n_bytes) << g.name;
      EXPECT_EQ(0, std::memcmp(t->data, g.data, g.n_bytes)) << g.name;
    }
    for (const std::string& key : golden.key_order()) EXPECT_TRUE(ours.has(key)) << key;
    EXPECT_EQ(ours.key_order(), golden.key_order());
    // ... then the whole file: same metadata, order, alignment and padding as llama-quantize.
    EXPECT_TRUE(file_bytes(ours_path) == file_bytes(golden_path));
  }
}

TEST(GgufToGguf, KMixesChooseLlamaCppsTypes) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const std::string source = test::shared_path("golden/small-q8_0.gguf");
  for (const char* type : {"Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"}) {
    SCOPED_TRACE(type);
    std::string lower = type;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const GgufFile golden = GgufFile::open(test::shared_path("golden/small-" + lower + ".gguf"));
    const GgufFile ours = GgufFile::open(test::convert_quietly(source, dir, lower + ".gguf", type));
    ASSERT_EQ(ours.tensors().size(), golden.tensors().size());
    for (size_t i = 0; i < golden.tensors().size(); ++i) {
      const GgufTensor& g = golden.tensors()[i];
      EXPECT_EQ(ours.tensors()[i].name, g.name);
      EXPECT_EQ(ours.tensors()[i].type, g.type) << g.name;
      EXPECT_EQ(ours.tensors()[i].ne, g.ne) << g.name;
    }
    EXPECT_EQ(ours.key_order(), golden.key_order());
    EXPECT_EQ(ours.get_int("general.file_type"), golden.get_int("general.file_type"));
  }
}

// A file in the layout of older conversions: architecture "mixtral", one tensor per expert,
// plus a tensor outside smoe's schema. Built from micro-f32 by splitting its stacked experts.
std::string write_per_expert_file(const GgufFile& src, const std::string& path) {
  GgufWriter w;
  for (const std::string& key : src.key_order()) {
    const GgufValue& v = *src.find(key);
    if (key == "general.architecture")
      w.set_string(key, "mixtral");
    else if (key.starts_with("llama."))
      w.set_value("mixtral." + key.substr(6), v);
    else
      w.set_value(key, v);
  }
  static const std::vector<float> rope_freqs(8, 1.0f);
  for (const GgufTensor& t : src.tensors()) {
    const std::string name = t.name;
    const size_t exps = name.find("_exps.weight");
    if (exps == std::string::npos) {
      w.add_tensor(name, t.type, t.ne, t.data);
      continue;
    }
    const std::string stem = name.substr(0, exps);  // blk.N.ffn_gate
    const size_t slice = t.n_bytes / static_cast<size_t>(t.ne[2]);
    for (int64_t e = 0; e < t.ne[2]; ++e)
      w.add_tensor(stem + "." + std::to_string(e) + ".weight", t.type, {t.ne[0], t.ne[1]}, t.data + slice * e);
  }
  w.add_tensor("rope_freqs.weight", GgmlType::F32, {8}, rope_freqs.data());
  w.write(path);
  return path;
}

TEST(GgufToGguf, PerExpertTensorsAreMergedAndTheArchitectureRenamed) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const GgufFile micro = GgufFile::open(test::shared_path("golden/micro-f32.gguf"));
  const std::string old_layout = write_per_expert_file(micro, dir + "/per-expert.gguf");
  const GgufFile out = GgufFile::open(test::convert_quietly(old_layout, dir, "merged.gguf", "F32"));
  EXPECT_EQ(out.get_string("general.architecture"), "llama");
  EXPECT_EQ(out.get_int("llama.expert_count"), 8);
  EXPECT_FALSE(out.has("mixtral.expert_count"));
  for (const GgufTensor& t : micro.tensors()) {
    const GgufTensor* o = out.find_tensor(t.name);
    ASSERT_TRUE(o) << t.name;
    EXPECT_EQ(o->ne, t.ne);
    ASSERT_EQ(o->n_bytes, t.n_bytes);
    EXPECT_EQ(0, std::memcmp(o->data, t.data, t.n_bytes)) << t.name;
  }
  EXPECT_FALSE(out.find_tensor("blk.0.ffn_gate.3.weight"));
  ASSERT_TRUE(out.find_tensor("rope_freqs.weight"));  // copied as it was
  EXPECT_EQ(out.tensors().size(), micro.tensors().size() + 1);

  // The merged file computes what the original computes.
  auto a = Model::load(test::shared_path("golden/micro-f32.gguf"));
  auto b = Model::load(out.path());
  const auto tokens = test::manifest_tokens("golden/manifest.json", "model", "micro-f32.gguf");
  EXPECT_EQ(test::prompt_logits(*a, tokens), test::prompt_logits(*b, tokens));
}

TEST(GgufToGguf, WithoutTypeKeepsTheSourcePrecision) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const std::string copy = test::convert_quietly(test::shared_path("golden/micro-bf16.gguf"), dir, "copy.gguf", "");
  EXPECT_TRUE(file_bytes(copy) == file_bytes(test::shared_path("golden/micro-bf16.gguf")));
}

}  // namespace
}  // namespace smoe
