// The reference GGUF files in ../shared: each opens, its metadata matches manifest.json's config,
// its tensor shapes are those of the Mixtral layout, and copying it through GgufWriter gives
// back the same metadata and tensor bytes. Skipped when ../shared is absent.
#include "formats/gguf_writer.h"
#include "gguf_test_support.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

namespace smoe {
namespace {

struct GoldenModel {
  std::string file;
  nlohmann::json config;
};

// One entry per distinct model file of the manifest (cases repeat a model for several prompts).
std::vector<GoldenModel> golden_models() {
  std::ifstream in(test::shared_path("golden/manifest.json"));
  const nlohmann::json manifest = nlohmann::json::parse(in);
  std::map<std::string, nlohmann::json> by_file;
  for (const auto& c : manifest.at("cases")) by_file.emplace(c.at("model").get<std::string>(), c.at("config"));
  std::vector<GoldenModel> out;
  for (auto& [file, config] : by_file) out.push_back({file, config});
  return out;
}

void expect_shape(const GgufFile& f, const std::string& name, std::vector<int64_t> ne) {
  const GgufTensor* t = f.find_tensor(name);
  ASSERT_NE(t, nullptr) << name << " missing";
  EXPECT_EQ(t->ne, ne) << name;
}

TEST(GgufGolden, EveryModelMatchesItsManifestConfig) {
  SMOE_REQUIRE_SHARED();
  const std::vector<GoldenModel> models = golden_models();
  ASSERT_GE(models.size(), 10u);
  for (const GoldenModel& m : models) {
    SCOPED_TRACE(m.file);
    const GgufFile f = GgufFile::open(test::shared_path("golden/" + m.file));
    const auto& c = m.config;
    const int64_t dim = c.at("dim"), hidden = c.at("hidden"), n_layer = c.at("n_layer");
    const int64_t n_head = c.at("n_head"), n_kv = c.at("n_kv"), n_expert = c.at("n_expert");
    const int64_t vocab = c.at("vocab");
    const int64_t head_dim = dim / n_head;

    EXPECT_TRUE(f.version() == 2 || f.version() == 3);
    EXPECT_EQ(f.alignment(), 32u);
    EXPECT_EQ(f.data_offset() % f.alignment(), 0u);
    EXPECT_EQ(f.get_string("general.architecture"), "llama");
    EXPECT_EQ(f.get_int("llama.embedding_length"), dim);
    EXPECT_EQ(f.get_int("llama.block_count"), n_layer);
    EXPECT_EQ(f.get_int("llama.feed_forward_length"), hidden);
    EXPECT_EQ(f.get_int("llama.attention.head_count"), n_head);
    EXPECT_EQ(f.get_int("llama.attention.head_count_kv"), n_kv);
    EXPECT_EQ(f.get_float("llama.rope.freq_base"), c.at("rope_base").get<double>());
    EXPECT_FLOAT_EQ(static_cast<float>(*f.get_float("llama.attention.layer_norm_rms_epsilon")),
                    c.at("eps").get<float>());
    if (n_expert > 0) {
      EXPECT_EQ(f.get_int("llama.expert_count"), n_expert);
      EXPECT_EQ(f.get_int("llama.expert_used_count"), c.at("top_k").get<int64_t>());
    } else {
      EXPECT_FALSE(f.has("llama.expert_count"));
    }

    const auto tokens = f.get_string_array("tokenizer.ggml.tokens");
    ASSERT_TRUE(tokens.has_value());
    EXPECT_EQ(static_cast<int64_t>(tokens->size()), vocab);
    EXPECT_EQ(static_cast<int64_t>(f.get_float_array("tokenizer.ggml.scores")->size()), vocab);
    EXPECT_EQ(static_cast<int64_t>(f.get_int_array("tokenizer.ggml.token_type")->size()), vocab);

    expect_shape(f, "token_embd.weight", {dim, vocab});
    expect_shape(f, "output_norm.weight", {dim});
    expect_shape(f, "output.weight", {dim, vocab});
    for (int64_t il = 0; il < n_layer; ++il) {
      const std::string blk = "blk." + std::to_string(il) + ".";
      expect_shape(f, blk + "attn_norm.weight", {dim});
      expect_shape(f, blk + "attn_q.weight", {dim, n_head * head_dim});
      expect_shape(f, blk + "attn_k.weight", {dim, n_kv * head_dim});
      expect_shape(f, blk + "attn_v.weight", {dim, n_kv * head_dim});
      expect_shape(f, blk + "attn_output.weight", {n_head * head_dim, dim});
      expect_shape(f, blk + "ffn_norm.weight", {dim});
      if (n_expert > 0) {
        expect_shape(f, blk + "ffn_gate_inp.weight", {dim, n_expert});
        expect_shape(f, blk + "ffn_gate_exps.weight", {dim, hidden, n_expert});
        expect_shape(f, blk + "ffn_up_exps.weight", {dim, hidden, n_expert});
        expect_shape(f, blk + "ffn_down_exps.weight", {hidden, dim, n_expert});
      } else {
        expect_shape(f, blk + "ffn_gate.weight", {dim, hidden});
        expect_shape(f, blk + "ffn_up.weight", {dim, hidden});
        expect_shape(f, blk + "ffn_down.weight", {hidden, dim});
      }
    }
    EXPECT_EQ(f.find_tensor("blk." + std::to_string(n_layer) + ".attn_norm.weight"), nullptr);

    for (const GgufTensor& t : f.tensors()) {
      EXPECT_GE(t.data, f.file_data() + f.data_offset());
      EXPECT_LE(t.data + t.n_bytes, f.file_data() + f.file_size());
    }
  }
}

TEST(GgufGolden, VocabOnlyFileOpens) {
  SMOE_REQUIRE_SHARED();
  const GgufFile f = GgufFile::open(test::shared_path("tokenizer/ggml-vocab-llama-spm.gguf"));
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens")->size(), 32000u);
}

// Copying every key (in file order) and every tensor through the writer reproduces the metadata
// and tensor bytes exactly.
TEST(GgufGolden, CopyThroughWriterPreservesEverything) {
  SMOE_REQUIRE_SHARED();
  for (const char* name : {"golden/micro-q4_0.gguf", "golden/small-q4_k_m.gguf", "golden/dense-f32.gguf"}) {
    SCOPED_TRACE(name);
    const GgufFile source = GgufFile::open(test::shared_path(name));
    GgufWriter w;
    for (const std::string& key : source.key_order()) w.set_value(key, *source.find(key));
    for (const GgufTensor& t : source.tensors()) w.add_tensor(t.name, t.type, t.ne, t.data);
    const std::string path = test::temp_dir() + "/copy.gguf";
    w.write(path);

    const GgufFile copy = GgufFile::open(path);
    EXPECT_EQ(copy.key_order(), source.key_order());
    for (const std::string& key : source.key_order()) {
      const GgufValue& a = *source.find(key);
      const GgufValue& b = *copy.find(key);
      SCOPED_TRACE(key);
      EXPECT_EQ(a.type, b.type);
      EXPECT_EQ(a.integer, b.integer);
      EXPECT_EQ(a.real, b.real);
      EXPECT_EQ(a.boolean, b.boolean);
      EXPECT_EQ(a.string, b.string);
      EXPECT_EQ(a.array_type, b.array_type);
      EXPECT_EQ(a.array_count, b.array_count);
      EXPECT_EQ(a.strings, b.strings);
      ASSERT_EQ(a.array_encoded_bytes, b.array_encoded_bytes);
      if (a.array_encoded_bytes) {
        EXPECT_EQ(std::memcmp(a.array_encoded, b.array_encoded, a.array_encoded_bytes), 0);
      }
    }
    ASSERT_EQ(copy.tensors().size(), source.tensors().size());
    for (size_t i = 0; i < source.tensors().size(); ++i) {
      const GgufTensor& a = source.tensors()[i];
      const GgufTensor& b = copy.tensors()[i];
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(a.type, b.type);
      EXPECT_EQ(a.ne, b.ne);
      ASSERT_EQ(a.n_bytes, b.n_bytes);
      EXPECT_EQ(std::memcmp(a.data, b.data, a.n_bytes), 0) << a.name;
    }
    // The writer lays files out exactly as llama.cpp does, so the copy is the same file.
    EXPECT_TRUE(test::read_bytes(path) == test::read_bytes(source.path()));
  }
}

}  // namespace
}  // namespace smoe
