// Hugging Face -> GGUF: the converted file is the same model. Logits of smoe on the converted
// F32 / BF16 file equal those on the checkpoint itself (the RoPE rows were permuted for
// adjacent pairs, the experts stacked), the shape (sliding window included) and the
// vocabulary survive, and the file carries the keys llama.cpp reads.
#include "convert_test_util.h"
#include "formats/gguf.h"
#include "kernels/fp16.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace smoe {
namespace {

struct HfCase {
  std::string name;
  std::string dir;
  std::vector<int32_t> tokens;
};

std::vector<HfCase> hf_cases() {
  std::vector<HfCase> cases;
  for (const char* name : {"hf-mixtral-micro", "hf-mistral-swa"})
    cases.push_back({name, test::shared_path(std::string("hf/") + name),
                     test::manifest_tokens("hf/manifest.json", "model_dir", name)});
  return cases;
}

void expect_same_shape(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.dim, b.dim);
  EXPECT_EQ(a.n_layer, b.n_layer);
  EXPECT_EQ(a.hidden, b.hidden);
  EXPECT_EQ(a.n_head, b.n_head);
  EXPECT_EQ(a.n_kv_head, b.n_kv_head);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.rope_dim, b.rope_dim);
  EXPECT_EQ(a.n_expert, b.n_expert);
  EXPECT_EQ(a.n_expert_used, b.n_expert_used);
  EXPECT_EQ(a.vocab, b.vocab);
  EXPECT_EQ(a.context_length, b.context_length);
  EXPECT_EQ(a.sliding_window, b.sliding_window);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.norm_eps, b.norm_eps);
}

TEST(HfToGguf, SameLogitsShapeAndVocabulary) {
  SMOE_REQUIRE_SHARED();
  for (const HfCase& c : hf_cases()) {
    SCOPED_TRACE(c.name);
    ASSERT_FALSE(c.tokens.empty());
    const std::string dir = test::temp_dir();
    auto hf = Model::load(c.dir);
    auto f32 = Model::load(test::convert_quietly(c.dir, dir, "f32.gguf", "F32"));
    auto bf16 = Model::load(test::convert_quietly(c.dir, dir, "bf16.gguf", "BF16"));
    EXPECT_EQ(f32->config().rope_style, RopeStyle::AdjacentPairs);
    expect_same_shape(hf->config(), f32->config());
    expect_same_shape(hf->config(), bf16->config());

    const auto expected = test::prompt_logits(*hf, c.tokens);
    const auto from_f32 = test::prompt_logits(*f32, c.tokens);
    const auto from_bf16 = test::prompt_logits(*bf16, c.tokens);
    ASSERT_EQ(expected.size(), from_f32.size());
    const double diff = test::max_abs_diff(expected, from_f32);
    std::printf("[hf->gguf] %-18s max|logit diff| F32 %.3g, BF16 %.3g\n", c.name.c_str(), diff,
                test::max_abs_diff(expected, from_bf16));
    // Two float32 computations of the same weights; the GGUF's permuted RoPE layout changes the
    // rounding (each is within 1e-5 of the float64 reference, see tests/model/hf_test.cpp).
    EXPECT_LT(diff, 3e-5);
    // The BF16 file holds the checkpoint's own bf16 values, so it computes exactly what the F32
    // file (their exact widening) computes.
    EXPECT_EQ(from_bf16, from_f32);

    const Vocab& want = hf->tokenizer().vocab();
    const Vocab& got = bf16->tokenizer().vocab();
    EXPECT_EQ(got.pieces, want.pieces);
    EXPECT_EQ(got.scores, want.scores);
    EXPECT_EQ(got.kinds, want.kinds);
    EXPECT_EQ(got.bos_id, want.bos_id);
    EXPECT_EQ(got.eos_id, want.eos_id);
    EXPECT_EQ(got.unk_id, want.unk_id);
    EXPECT_EQ(got.add_bos, want.add_bos);
    EXPECT_EQ(got.add_eos, want.add_eos);
    const std::string text = "Mixtral routes every token to two experts.";
    EXPECT_EQ(bf16->tokenizer().encode(text, true), hf->tokenizer().encode(text, true));
  }
}

// The BF16 output holds the source bytes: unpermuted tensors verbatim, q/k rows moved.
TEST(HfToGguf, Bf16TensorsAreTheCheckpointsBytes) {
  SMOE_REQUIRE_SHARED();
  const std::string src = test::shared_path("hf/hf-mixtral-micro");
  auto hf = Model::load(src);
  const GgufFile out = GgufFile::open(test::convert_quietly(src, test::temp_dir(), "bf16.gguf", "BF16"));
  const ModelConfig& c = hf->config();

  const TensorRef* v = hf->tensors().find("model.layers.1.self_attn.v_proj.weight");
  const GgufTensor* v_out = out.find_tensor("blk.1.attn_v.weight");
  ASSERT_TRUE(v && v_out);
  EXPECT_EQ(v_out->type, GgmlType::BF16);
  ASSERT_EQ(v_out->n_bytes, v->n_bytes);
  EXPECT_EQ(0, std::memcmp(v_out->data, v->data, v->n_bytes));

  // Expert 5's w3 is slice 5 of ffn_up_exps.
  const TensorRef* w3 = hf->tensors().find("model.layers.0.block_sparse_moe.experts.5.w3.weight");
  const GgufTensor* up = out.find_tensor("blk.0.ffn_up_exps.weight");
  ASSERT_TRUE(w3 && up);
  EXPECT_EQ(up->ne, (std::vector<int64_t>{c.dim, c.hidden, c.n_expert}));
  EXPECT_EQ(0, std::memcmp(up->data + 5 * w3->n_bytes, w3->data, w3->n_bytes));

  // k_proj: within each KV head, row 2i is the source's row i and row 2i+1 its row i + half.
  const TensorRef* k = hf->tensors().find("model.layers.0.self_attn.k_proj.weight");
  const GgufTensor* k_out = out.find_tensor("blk.0.attn_k.weight");
  ASSERT_TRUE(k && k_out);
  const size_t row = static_cast<size_t>(c.dim) * 2;
  const int64_t half = c.head_dim / 2;
  for (int64_t h = 0; h < c.n_kv_head; ++h)
    for (int64_t i = 0; i < half; ++i) {
      const int64_t base = h * c.head_dim;
      EXPECT_EQ(0, std::memcmp(k_out->data + (base + 2 * i) * row, k->data + (base + i) * row, row));
      EXPECT_EQ(0, std::memcmp(k_out->data + (base + 2 * i + 1) * row, k->data + (base + half + i) * row, row));
    }
  // Norms and the router are F32 (widened exactly).
  EXPECT_EQ(out.find_tensor("blk.0.attn_norm.weight")->type, GgmlType::F32);
  EXPECT_EQ(out.find_tensor("blk.0.ffn_gate_inp.weight")->type, GgmlType::F32);
  const TensorRef* norm = hf->tensors().find("model.norm.weight");
  const auto* norm_out = reinterpret_cast<const float*>(out.find_tensor("output_norm.weight")->data);
  const auto* norm_in = reinterpret_cast<const uint16_t*>(norm->data);
  for (int64_t i = 0; i < c.dim; ++i) EXPECT_EQ(norm_out[i], bf16_to_fp32(norm_in[i]));
}

TEST(HfToGguf, MetadataLlamaCppReads) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const GgufFile moe = GgufFile::open(test::convert_quietly(test::shared_path("hf/hf-mixtral-micro"), dir, "m.gguf", "Q8_0"));
  EXPECT_EQ(moe.get_string("general.architecture"), "llama");
  EXPECT_EQ(moe.get_int("general.file_type"), 7);
  EXPECT_EQ(moe.get_int("general.quantization_version"), 2);
  EXPECT_FALSE(moe.has("general.alignment"));  // the default, 32
  EXPECT_EQ(moe.get_int("llama.context_length"), 32768);
  EXPECT_EQ(moe.get_int("llama.embedding_length"), 64);
  EXPECT_EQ(moe.get_int("llama.block_count"), 2);
  EXPECT_EQ(moe.get_int("llama.feed_forward_length"), 128);
  EXPECT_EQ(moe.get_int("llama.rope.dimension_count"), 16);
  EXPECT_EQ(moe.get_int("llama.attention.head_count"), 4);
  EXPECT_EQ(moe.get_int("llama.attention.head_count_kv"), 2);
  EXPECT_NEAR(*moe.get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-12);
  EXPECT_EQ(moe.get_float("llama.rope.freq_base"), 1e6);
  EXPECT_EQ(moe.get_int("llama.vocab_size"), 32000);
  EXPECT_EQ(moe.get_int("llama.expert_count"), 8);
  EXPECT_EQ(moe.get_int("llama.expert_used_count"), 2);
  EXPECT_FALSE(moe.has("llama.attention.sliding_window"));
  EXPECT_EQ(moe.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(moe.get_string("tokenizer.ggml.pre"), "default");
  EXPECT_EQ(moe.get_string_array("tokenizer.ggml.tokens")->size(), 32000u);
  EXPECT_EQ(moe.get_float_array("tokenizer.ggml.scores")->size(), 32000u);
  EXPECT_EQ(moe.find("tokenizer.ggml.token_type")->array_type, GgufValueType::INT32);
  EXPECT_EQ(moe.get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(moe.get_int("tokenizer.ggml.eos_token_id"), 2);
  EXPECT_EQ(moe.get_int("tokenizer.ggml.unknown_token_id"), 0);
  EXPECT_FALSE(moe.has("tokenizer.ggml.padding_token_id"));
  EXPECT_EQ(moe.get_bool("tokenizer.ggml.add_bos_token"), true);
  EXPECT_EQ(moe.get_bool("tokenizer.ggml.add_eos_token"), false);
  EXPECT_FALSE(moe.find_tensor("blk.0.ffn_gate.0.weight"));
  EXPECT_TRUE(moe.find_tensor("blk.1.ffn_down_exps.weight"));

  const GgufFile dense = GgufFile::open(test::convert_quietly(test::shared_path("hf/hf-mistral-swa"), dir, "d.gguf", "F16"));
  EXPECT_EQ(dense.get_int("general.file_type"), 1);
  EXPECT_EQ(dense.get_int("llama.attention.sliding_window"), 16);
  EXPECT_FALSE(dense.has("llama.expert_count"));
  EXPECT_TRUE(dense.find_tensor("blk.1.ffn_gate.weight"));
  EXPECT_TRUE(dense.find_tensor("output.weight"));

  const GgufFile f32 = GgufFile::open(test::convert_quietly(test::shared_path("hf/hf-mistral-swa"), dir, "f.gguf", "F32"));
  EXPECT_EQ(f32.get_int("general.file_type"), 0);
  EXPECT_FALSE(f32.has("general.quantization_version"));
}

}  // namespace
}  // namespace smoe
