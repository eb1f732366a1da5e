// Round trips: a model converted to each --type loads, computes logits close to the
// unquantized model's, and every tensor is within its type's quantization error of the exact
// values (so a misplaced row or a wrong block layout fails by an order of magnitude).
//
// hf-mixtral-micro (dim 64, ffn 128) has rows too short for the 256-value K blocks, so its K
// types exercise llama.cpp's fallbacks; the K types proper are checked on the golden `small`
// model (dim 256), re-quantized from its Q8_0 file and compared with llama.cpp's own files.
#include "convert_test_util.h"
#include "formats/gguf.h"
#include "kernels/kernels.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace smoe {
namespace {

// Mean KL of the converted hf-mixtral-micro against the BF16 checkpoint: about 3x the measured
// value (measured values are in the report of the conversion work). These random-weight models
// are very sensitive (llama.cpp's own Q6_K file of `small` is at 0.07 against its Q8_0 file), so
// KL is a coarse check here; the per-tensor errors below are the sharp one.
struct MicroCase {
  const char* type;
  double kl_bound;
};
constexpr MicroCase kMicroCases[] = {
    {"F32", 1e-9},  {"F16", 1e-9},  {"BF16", 1e-9}, {"Q8_0", 1.5e-2}, {"Q4_0", 1.5},   {"Q4_1", 1.0},
    {"Q5_0", 0.4},  {"Q5_1", 0.3},  {"Q2_K", 1.2},  {"Q3_K", 1.2},    {"Q4_K", 0.4},   {"Q5_K", 0.3},
    {"Q6_K", 1.5e-2}, {"Q3_K_M", 1.2}, {"Q4_K_M", 0.4}, {"Q5_K_M", 0.3},
};

// The K types on `small` (re-quantized from small-q8_0), each against llama.cpp's file of the
// closest mix: mean KL against small-q8_0 within twice llama.cpp's (the golden tolerance).
struct SmallCase {
  const char* type;
  const char* llama_cpp_file;
};
constexpr SmallCase kSmallCases[] = {
    {"Q2_K", "small-q2_k"},     {"Q3_K", "small-q3_k_m"},   {"Q3_K_M", "small-q3_k_m"}, {"Q4_K", "small-q4_k_m"},
    {"Q4_K_M", "small-q4_k_m"}, {"Q5_K", "small-q5_k_m"},   {"Q5_K_M", "small-q5_k_m"}, {"Q6_K", "small-q6_k"},
};

// Relative RMS error of each tensor type of `converted` against the same tensors of `exact`
// (an F32 conversion of the same source), pooled over the tensors of that type.
std::map<GgmlType, double> relative_error_by_type(const GgufFile& converted, const GgufFile& exact) {
  std::map<GgmlType, std::pair<double, double>> sums;  // type -> (squared error, squared norm)
  for (const GgufTensor& t : converted.tensors()) {
    const GgufTensor* e = exact.find_tensor(t.name);
    EXPECT_TRUE(e && e->type == GgmlType::F32 && e->ne == t.ne) << t.name;
    if (!e || e->ne != t.ne) continue;
    std::vector<float> values(static_cast<size_t>(t.n_elements));
    reference_kernels(t.type).dequantize_row(t.data, values.data(), t.n_elements);
    const auto* want = reinterpret_cast<const float*>(e->data);
    auto& [error, norm] = sums[t.type];
    for (int64_t i = 0; i < t.n_elements; ++i) {
      error += (static_cast<double>(values[i]) - want[i]) * (static_cast<double>(values[i]) - want[i]);
      norm += static_cast<double>(want[i]) * want[i];
    }
  }
  std::map<GgmlType, double> out;
  for (const auto& [type, s] : sums) out[type] = std::sqrt(s.first / s.second);
  return out;
}

// Upper bounds of the relative RMS error of one tensor type, about 1.4x what llama.cpp's
// quantizers give on these Gaussian-like weights (QuantQuality prints the figures).
double error_bound(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
    case GgmlType::BF16: return 0;  // the source is bf16: exact
    case GgmlType::F16: return 1e-3;
    case GgmlType::Q8_0: return 0.008;
    case GgmlType::Q6_K: return 0.025;
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q5_K: return 0.06;
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q4_K: return 0.12;
    case GgmlType::Q3_K: return 0.21;
    case GgmlType::Q2_K: return 0.42;
    default: return 0;
  }
}

TEST(RoundTrip, EveryTypeLoadsAndStaysClose) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const std::string src = test::shared_path("hf/hf-mixtral-micro");
  const auto tokens = test::manifest_tokens("hf/manifest.json", "model_dir", "hf-mixtral-micro");
  auto checkpoint = Model::load(src);
  const auto expected = test::prompt_logits(*checkpoint, tokens);
  const GgufFile exact = GgufFile::open(test::convert_quietly(src, dir, "exact.gguf", "F32"));

  for (const MicroCase& c : kMicroCases) {
    SCOPED_TRACE(c.type);
    const std::string path = test::convert_quietly(src, dir, std::string(c.type) + ".gguf", c.type);
    auto model = Model::load(path);
    const double kl = test::mean_kl(expected, test::prompt_logits(*model, tokens), checkpoint->config().vocab);
    EXPECT_LE(kl, c.kl_bound);
    std::string errors;
    for (const auto& [type, error] : relative_error_by_type(GgufFile::open(path), exact)) {
      errors += fmt::format(" {} {:.4f}", type_name(type), error);
      EXPECT_LE(error, error_bound(type)) << type_name(type);
    }
    std::printf("[round trip] micro %-7s KL %-10.3g %9llu bytes, rel RMSE by type:%s\n", c.type, kl,
                static_cast<unsigned long long>(model->file_bytes()), errors.c_str());
  }
}

TEST(RoundTrip, KTypesOnSmallAreAsCloseAsLlamaCpps) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const std::string src = test::shared_path("golden/small-q8_0.gguf");
  const auto tokens = test::manifest_tokens("golden/manifest.json", "model", "small-q8_0.gguf");
  auto reference = Model::load(src);
  const auto expected = test::prompt_logits(*reference, tokens);
  const int64_t vocab = reference->config().vocab;
  for (const SmallCase& c : kSmallCases) {
    SCOPED_TRACE(c.type);
    auto ours = Model::load(test::convert_quietly(src, dir, std::string(c.type) + ".gguf", c.type));
    auto theirs = Model::load(test::shared_path(std::string("golden/") + c.llama_cpp_file + ".gguf"));
    const double kl_ours = test::mean_kl(expected, test::prompt_logits(*ours, tokens), vocab);
    const double kl_theirs = test::mean_kl(expected, test::prompt_logits(*theirs, tokens), vocab);
    std::printf("[round trip] small %-7s KL %-8.3g %9llu bytes | llama.cpp %-13s KL %-8.3g %9llu bytes\n", c.type,
                kl_ours, static_cast<unsigned long long>(ours->file_bytes()), c.llama_cpp_file, kl_theirs,
                static_cast<unsigned long long>(theirs->file_bytes()));
    EXPECT_LE(kl_ours, 2 * kl_theirs);
  }
}

// A file converted twice to the same type is the same file (tensors already of the type are
// copied byte for byte, the metadata is copied).
TEST(RoundTrip, ConvertingAgainToTheSameTypeIsTheIdentity) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const std::string once = test::convert_quietly(test::shared_path("golden/small-q8_0.gguf"), dir, "once.gguf", "Q4_K_M");
  const std::string twice = test::convert_quietly(once, dir, "twice.gguf", "Q4_K_M");
  std::ifstream a(once, std::ios::binary), b(twice, std::ios::binary);
  const std::string bytes_a((std::istreambuf_iterator<char>(a)), {}), bytes_b((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(bytes_a.size(), bytes_b.size());
  EXPECT_TRUE(bytes_a == bytes_b);
}

// The thread count changes nothing in the output.
TEST(RoundTrip, OutputDoesNotDependOnThreads) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const std::string src = test::shared_path("hf/hf-mixtral-micro");
  const std::string one = test::convert_quietly(src, dir, "one.gguf", "Q4_K_M", 1);
  const std::string three = test::convert_quietly(src, dir, "three.gguf", "Q4_K_M", 3);
  std::ifstream a(one, std::ios::binary), b(three, std::ios::binary);
  const std::string bytes_a((std::istreambuf_iterator<char>(a)), {}), bytes_b((std::istreambuf_iterator<char>(b)), {});
  EXPECT_TRUE(bytes_a == bytes_b);
}

}  // namespace
}  // namespace smoe
