// The --type names and the per-tensor type rules (llama.cpp's llama_tensor_get_type), on
// shapes the golden files do not cover: dense models, 32 layers, short rows, tied output; and
// the RoPE row permutation.
#include "convert/tensor_plan.h"
#include "convert/type_policy.h"

#include <gtest/gtest.h>

namespace smoe {
namespace {

QuantMix mix(const char* name) {
  auto m = parse_quant_mix(name);
  EXPECT_TRUE(m) << name;
  return *m;
}

GgmlType type_for(const char* mix_name, TensorRole role, int64_t layer, const ModelFacts& model, int64_t row = 4096) {
  return choose_tensor_type(mix(mix_name), {role, layer, 2, row}, model);
}

TEST(TypePolicy, NamesAndFileTypes) {
  EXPECT_EQ(mix("q4_k_m").file_type, FileType::MOSTLY_Q4_K_M);
  EXPECT_EQ(mix("Q4_K_M").name, "Q4_K_M");
  EXPECT_EQ(mix("bf16").file_type, FileType::MOSTLY_BF16);
  EXPECT_EQ(static_cast<int>(mix("BF16").file_type), 32);
  EXPECT_EQ(static_cast<int>(mix("Q5_K_M").file_type), 17);
  EXPECT_EQ(static_cast<int>(mix("Q8_0").file_type), 7);
  EXPECT_EQ(mix("Q4_K").file_type, FileType::MOSTLY_Q4_K_S);
  EXPECT_EQ(mix("Q3_K").base, GgmlType::Q3_K);
  EXPECT_FALSE(parse_quant_mix("Q4_K_X"));
  EXPECT_FALSE(parse_quant_mix(""));
  EXPECT_FALSE(parse_quant_mix("IQ2_XS"));
  for (const char* required : {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K",
                               "Q5_K", "Q6_K", "Q4_K_M", "Q5_K_M"})
    EXPECT_TRUE(parse_quant_mix(required)) << required;
}

TEST(TypePolicy, FloatTypesKeepNormsAndRouterF32) {
  const ModelFacts moe{32, 8, 4, true};
  EXPECT_EQ(choose_tensor_type(mix("F16"), {TensorRole::Norm, 0, 1, 4096}, moe), GgmlType::F32);
  EXPECT_EQ(choose_tensor_type(mix("BF16"), {TensorRole::Router, 0, 2, 4096}, moe), GgmlType::F32);
  EXPECT_EQ(choose_tensor_type(mix("BF16"), {TensorRole::Output, -1, 2, 4096}, moe), GgmlType::BF16);
  EXPECT_EQ(choose_tensor_type(mix("F16"), {TensorRole::FfnDown, 3, 3, 14336}, moe), GgmlType::F16);
  EXPECT_EQ(choose_tensor_type(mix("Q4_K_M"), {TensorRole::Router, 0, 2, 4096}, moe), GgmlType::F32);
}

TEST(TypePolicy, MixtralShapes) {
  const ModelFacts mixtral{32, 8, 4, true};  // Mixtral 8x7B
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::AttnV, 5, mixtral), GgmlType::Q8_0);
  EXPECT_EQ(type_for("Q2_K", TensorRole::AttnK, 5, mixtral), GgmlType::Q8_0);
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::AttnQ, 5, mixtral), GgmlType::Q4_K);
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::AttnOutput, 5, mixtral), GgmlType::Q5_K);
  EXPECT_EQ(type_for("Q5_K_M", TensorRole::AttnOutput, 5, mixtral), GgmlType::Q5_K);
  EXPECT_EQ(type_for("Q6_K", TensorRole::AttnOutput, 5, mixtral), GgmlType::Q6_K);
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::Output, -1, mixtral), GgmlType::Q6_K);
  EXPECT_EQ(type_for("Q8_0", TensorRole::Output, -1, mixtral), GgmlType::Q8_0);
  EXPECT_EQ(type_for("Q4_0", TensorRole::Output, -1, mixtral), GgmlType::Q6_K);
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::TokenEmbd, -1, mixtral), GgmlType::Q4_K);
  // use_more_bits over 32 layers: 0..3, 28..31, and 6, 9, 12, ... in between.
  for (int64_t il = 0; il < 32; ++il) {
    const bool more = il < 4 || il >= 28 || (il - 4) % 3 == 2;
    EXPECT_EQ(type_for("Q4_K_M", TensorRole::FfnDown, il, mixtral), more ? GgmlType::Q6_K : GgmlType::Q4_K) << il;
    EXPECT_EQ(type_for("Q5_K_M", TensorRole::FfnDown, il, mixtral), more ? GgmlType::Q6_K : GgmlType::Q5_K) << il;
    EXPECT_EQ(type_for("Q3_K_M", TensorRole::FfnDown, il, mixtral), il < 2 ? GgmlType::Q5_K : GgmlType::Q4_K) << il;
    EXPECT_EQ(type_for("Q4_K_S", TensorRole::FfnDown, il, mixtral), il < 4 ? GgmlType::Q5_K : GgmlType::Q4_K) << il;
    EXPECT_EQ(type_for("Q2_K", TensorRole::FfnDown, il, mixtral), GgmlType::Q3_K) << il;
  }
  // With no output tensor, token_embd is quantized as output is.
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::TokenEmbd, -1, {32, 8, 4, false}), GgmlType::Q6_K);
}

TEST(TypePolicy, DenseShapes) {
  const ModelFacts mistral{32, 0, 4, true};  // Mistral 7B: 32 heads, 8 KV heads
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::AttnK, 5, mistral), GgmlType::Q4_K);
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::AttnV, 0, mistral), GgmlType::Q6_K);
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::AttnV, 5, mistral), GgmlType::Q4_K);
  EXPECT_EQ(type_for("Q2_K", TensorRole::AttnV, 5, mistral), GgmlType::Q4_K);
  EXPECT_EQ(type_for("Q2_K", TensorRole::AttnV, 5, {32, 0, 1, true}), GgmlType::Q3_K);
  EXPECT_EQ(type_for("Q3_K_M", TensorRole::AttnV, 1, mistral), GgmlType::Q5_K);
  EXPECT_EQ(type_for("Q3_K_M", TensorRole::AttnV, 2, mistral), GgmlType::Q4_K);
  EXPECT_EQ(type_for("Q4_K_S", TensorRole::AttnV, 3, mistral), GgmlType::Q5_K);
  EXPECT_EQ(type_for("Q4_K_S", TensorRole::AttnV, 4, mistral), GgmlType::Q4_K);
  EXPECT_EQ(type_for("Q2_K", TensorRole::AttnOutput, 5, mistral), GgmlType::Q3_K);
  EXPECT_EQ(type_for("Q3_K_M", TensorRole::AttnOutput, 5, mistral), GgmlType::Q4_K);
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::AttnOutput, 5, mistral), GgmlType::Q4_K);
  EXPECT_EQ(type_for("Q3_K_L", TensorRole::FfnDown, 20, mistral), GgmlType::Q5_K);
}

TEST(TypePolicy, ShortRowsFallBack) {
  const ModelFacts m{2, 8, 2, true};
  EXPECT_EQ(type_for("Q4_K", TensorRole::AttnQ, 0, m, 64), GgmlType::Q5_0);
  EXPECT_EQ(type_for("Q5_K", TensorRole::AttnQ, 0, m, 64), GgmlType::Q5_1);
  EXPECT_EQ(type_for("Q6_K", TensorRole::AttnQ, 0, m, 64), GgmlType::Q8_0);
  EXPECT_EQ(type_for("Q2_K", TensorRole::AttnQ, 0, m, 64), GgmlType::Q4_0);
  EXPECT_EQ(type_for("Q3_K", TensorRole::FfnGate, 0, m, 64), GgmlType::Q4_0);
  EXPECT_EQ(type_for("Q4_0", TensorRole::Output, -1, m, 64), GgmlType::Q8_0);  // Q6_K, then its fallback
  EXPECT_EQ(type_for("Q4_K_M", TensorRole::Output, -1, m, 64), GgmlType::Q8_0);
  // Rows that are not even whole 32-value blocks: F16.
  EXPECT_EQ(type_for("Q4_K", TensorRole::AttnQ, 0, m, 48), GgmlType::F16);
  EXPECT_EQ(type_for("Q8_0", TensorRole::AttnQ, 0, m, 48), GgmlType::F16);
  EXPECT_EQ(type_for("Q4_0", TensorRole::AttnQ, 0, m, 40), GgmlType::F16);
  EXPECT_EQ(type_for("Q8_0", TensorRole::Output, -1, m, 40), GgmlType::F16);
}

TEST(RopePermutation, PairsOfHalvesBecomeAdjacent) {
  // Two heads of 8 rows: output rows (0..7) of a head take source rows 0,4,1,5,2,6,3,7.
  const int64_t expected[] = {0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15};
  for (int64_t r = 0; r < 16; ++r) EXPECT_EQ(source_row(r, 16, 2), expected[r]) << r;
  for (int64_t r = 0; r < 16; ++r) EXPECT_EQ(source_row(r, 16, 0), r);
}

}  // namespace
}  // namespace smoe
