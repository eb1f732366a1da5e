// Quantization quality against llama.cpp: for every type found in the golden files, the
// round-trip error of smoe's quantizer is no worse than that of the blocks llama.cpp wrote.
//
// micro-*: micro-f32.gguf is the very source llama.cpp quantized, so the comparison is direct
// (and the blocks turn out byte-identical).
// small-*: the F32 source is not shipped. The reference is small-q8_0 dequantized, which is the
// source plus Q8_0 rounding noise. llama.cpp's K blocks were made from the source, ours from the
// reference; measured against the reference, llama.cpp's error includes that noise, so it is
// subtracted: Q8_0 rounds to a step d per block, an error of variance d^2/12 per value,
// independent of the K-quant error. Both raw and corrected figures are printed.
#include "convert_test_util.h"
#include "formats/gguf.h"
#include "kernels/fp16.h"
#include "kernels/kernels.h"

#include <gtest/gtest.h>

#include <map>

namespace smoe {
namespace {

std::vector<float> dequantize(const GgufTensor& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements));
  reference_kernels(t.type).dequantize_row(t.data, out.data(), t.n_elements);
  return out;
}

// Our quantization of `values` (rows of `n_cols`) to `type`.
std::vector<uint8_t> quantize(const std::vector<float>& values, int64_t n_cols, GgmlType type) {
  const int64_t rows = static_cast<int64_t>(values.size()) / n_cols;
  const size_t stride = row_bytes(type, n_cols);
  std::vector<uint8_t> out(stride * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    reference_kernels(type).quantize_row(values.data() + r * n_cols, out.data() + stride * static_cast<size_t>(r), n_cols);
  return out;
}

double squared_error(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return s;
}

double squared_norm(const std::vector<float>& a) {
  double s = 0;
  for (float v : a) s += static_cast<double>(v) * v;
  return s;
}

// Expected squared rounding error of a Q8_0 tensor: each block of 32 values rounds to steps of d.
double q8_0_noise(const GgufTensor& t) {
  double s = 0;
  for (int64_t b = 0; b < t.n_elements / 32; ++b) {
    uint16_t bits;
    std::memcpy(&bits, t.data + b * 34, 2);
    const double d = fp16_to_fp32(bits);
    s += 32 * d * d / 12;
  }
  return s;
}

struct Tally {
  double ref = 0, ours = 0, theirs = 0, noise = 0;
  int tensors = 0;
  size_t identical = 0, blocks_bytes = 0;
  double rel(double e) const { return std::sqrt(e / ref); }
};

TEST(QuantQuality, LegacyTypesMatchLlamaCppOnItsOwnSource) {
  SMOE_REQUIRE_SHARED();
  const GgufFile source = GgufFile::open(test::shared_path("golden/micro-f32.gguf"));
  for (const char* file : {"golden/micro-q8_0.gguf", "golden/micro-q4_0.gguf"}) {
    const GgufFile golden = GgufFile::open(test::shared_path(file));
    std::map<GgmlType, Tally> by_type;
    for (const GgufTensor& t : golden.tensors()) {
      if (t.type == GgmlType::F32) continue;
      const GgufTensor* src = source.find_tensor(t.name);
      ASSERT_TRUE(src) << t.name;
      const auto ref = dequantize(*src);
      const auto ours_bytes = quantize(ref, t.ne[0], t.type);
      GgufTensor ours = t;
      ours.data = ours_bytes.data();
      Tally& tally = by_type[t.type];
      tally.ref += squared_norm(ref);
      tally.ours += squared_error(dequantize(ours), ref);
      tally.theirs += squared_error(dequantize(t), ref);
      ++tally.tensors;
      ASSERT_EQ(ours_bytes.size(), t.n_bytes);
      tally.identical += std::memcmp(ours_bytes.data(), t.data, t.n_bytes) == 0;
    }
    for (const auto& [type, tally] : by_type) {
      std::printf("[quality] %-24s %-5s %2d tensors  rel RMSE ours %.6f  llama.cpp %.6f  (%zu byte-identical)\n", file,
                  std::string(type_name(type)).c_str(), tally.tensors, tally.rel(tally.ours), tally.rel(tally.theirs),
                  tally.identical);
      EXPECT_LE(tally.ours, tally.theirs * (1 + 1e-9)) << type_name(type);
      EXPECT_EQ(tally.identical, static_cast<size_t>(tally.tensors)) << type_name(type);
    }
  }
}

TEST(QuantQuality, KQuantsNoWorseThanLlamaCpp) {
  SMOE_REQUIRE_SHARED();
  const GgufFile reference = GgufFile::open(test::shared_path("golden/small-q8_0.gguf"));
  std::map<GgmlType, Tally> by_type;
  for (const char* file : {"small-q2_k", "small-q3_k_m", "small-q4_k_m", "small-q5_k_m", "small-q6_k"}) {
    const GgufFile golden = GgufFile::open(test::shared_path(std::string("golden/") + file + ".gguf"));
    for (const GgufTensor& t : golden.tensors()) {
      if (type_info(t.type).block_size != 256) continue;  // the K types
      const GgufTensor* r = reference.find_tensor(t.name);
      ASSERT_TRUE(r && r->type == GgmlType::Q8_0) << t.name;
      const auto ref = dequantize(*r);
      const auto ours_bytes = quantize(ref, t.ne[0], t.type);
      GgufTensor ours = t;
      ours.data = ours_bytes.data();
      Tally& tally = by_type[t.type];
      tally.ref += squared_norm(ref);
      tally.ours += squared_error(dequantize(ours), ref);
      tally.theirs += squared_error(dequantize(t), ref);
      tally.noise += q8_0_noise(*r);
      ++tally.tensors;
    }
  }
  ASSERT_EQ(by_type.size(), 5u);
  for (const auto& [type, tally] : by_type) {
    const double corrected = std::max(0.0, tally.theirs - tally.noise);
    std::printf("[quality] small-* %-5s %2d tensors  rel RMSE ours %.5f  llama.cpp %.5f raw, %.5f without the Q8_0 "
                "noise (%.5f)\n",
                std::string(type_name(type)).c_str(), tally.tensors, tally.rel(tally.ours), tally.rel(tally.theirs),
                tally.rel(corrected), tally.rel(tally.noise));
    // A small margin: the noise correction is a statistical estimate (measured within 0.3%).
    EXPECT_LE(tally.rel(tally.ours), tally.rel(corrected) * 1.01) << type_name(type);
  }
}

}  // namespace
}  // namespace smoe
