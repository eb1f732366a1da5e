// Random models of real shapes (see model_generator.h).
#include "convert/model_generator.h"

#include "convert/metadata.h"
#include "convert/progress.h"
#include "convert/type_policy.h"
#include "core/error.h"
#include "formats/gguf_writer.h"
#include "kernels/kernels.h"
#include "tokenizer/vocab.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <unistd.h>

namespace smoe {
namespace {

// Rows of one (type, length): quantized once, then copied.
class RowPool {
 public:
  RowPool(GgmlType type, int64_t n_cols, float stddev, uint64_t seed) : row_bytes_(smoe::row_bytes(type, n_cols)) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, stddev);
    std::vector<float> values(n_cols);
    data_.resize(kRows * row_bytes_);
    const TypeKernels& k = reference_kernels(type);
    for (int64_t r = 0; r < kRows; ++r) {
      for (float& v : values) v = normal(rng);
      k.quantize_row(values.data(), data_.data() + r * row_bytes_, n_cols);
    }
  }
  const uint8_t* row(uint64_t i) const { return data_.data() + (i % kRows) * row_bytes_; }
  size_t row_bytes() const { return row_bytes_; }

 private:
  static constexpr int64_t kRows = 512;
  size_t row_bytes_;
  std::vector<uint8_t> data_;
};

Vocab synthetic_vocab(int64_t n) {
  Vocab v;
  v.pieces = {"<unk>", "<s>", "</s>"};
  v.kinds = {TokenKind::Unknown, TokenKind::Control, TokenKind::Control};
  for (int b = 0; b < 256; ++b) {
    v.pieces.push_back(fmt::format("<0x{:02X}>", b));
    v.kinds.push_back(TokenKind::Byte);
  }
  for (int64_t i = static_cast<int64_t>(v.pieces.size()); i < n; ++i) {
    v.pieces.push_back(fmt::format("\u2581t{}", i));
    v.kinds.push_back(TokenKind::Normal);
  }
  v.pieces.resize(n);
  v.kinds.resize(n);
  v.scores.assign(n, 0.0f);
  for (int64_t i = 0; i < n; ++i) v.scores[i] = -static_cast<float>(i);
  return v;
}

Vocab load_vocab(const GenerateModelOptions& o, int64_t n_vocab) {
  std::string path = o.tokenizer;
  if (path.empty()) {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto bundled = exe.parent_path().parent_path() / "models" / "smoe-mixtral-tiny" / "tokenizer.model";
    if (!ec && std::filesystem::exists(bundled, ec)) path = bundled.string();
  }
  if (path.empty()) return synthetic_vocab(n_vocab);
  Vocab v = load_vocab_from_sentencepiece(path);
  if (v.size() > n_vocab) fail("the tokenizer has {} pieces, more than the model's vocabulary {}", v.size(), n_vocab);
  for (int64_t id = v.size(); id < n_vocab; ++id) {
    v.pieces.push_back(fmt::format("[PAD{}]", id));
    v.scores.push_back(-1000.0f);
    v.kinds.push_back(TokenKind::Unused);
  }
  return v;
}

struct Planned {
  std::string name;
  TensorRole role;
  int64_t layer;
  std::vector<int64_t> ne;
  GgmlType type;
  float stddev;
};

}  // namespace

std::vector<std::string> preset_names() { return {"mixtral-8x7b", "mixtral-8x22b", "mistral-7b"}; }

ModelConfig preset_config(const std::string& preset) {
  ModelConfig c;
  c.architecture = "llama";
  c.name = preset;
  c.dim = 4096, c.hidden = 14336, c.n_layer = 32, c.n_head = 32, c.n_kv_head = 8, c.head_dim = 128;
  c.vocab = 32000, c.context_length = 32768, c.rope_theta = 1e6f, c.norm_eps = 1e-5f;
  c.n_expert = 8, c.n_expert_used = 2;
  if (preset == "mixtral-8x7b") {
  } else if (preset == "mixtral-8x22b") {
    c.dim = 6144, c.hidden = 16384, c.n_layer = 56, c.n_head = 48, c.n_kv_head = 8;
    c.vocab = 32768, c.context_length = 65536;
  } else if (preset == "mistral-7b") {
    c.n_expert = 0, c.n_expert_used = 0, c.rope_theta = 10000.0f, c.sliding_window = 4096;
  } else {
    fail("unknown preset '{}' (choose mixtral-8x7b, mixtral-8x22b or mistral-7b)", preset);
  }
  c.rope_dim = c.head_dim;
  return c;
}

GenerateModelReport generate_model(const GenerateModelOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  ModelConfig c = preset_config(o.preset);
  if (o.layers < 0) fail("--layers must be positive");
  if (o.layers > 0) c.n_layer = o.layers;
  c.validate();
  const auto mix = parse_quant_mix(o.type);
  if (!mix) fail("unknown type '{}'", o.type);
  if (o.output.empty()) fail("no output file (-o)");

  ModelFacts facts;
  facts.n_layer = c.n_layer;
  facts.n_expert = c.n_expert;
  facts.n_gqa = c.n_head / c.n_kv_head;
  facts.has_output = true;
  std::vector<Planned> plan;
  auto add = [&](std::string name, TensorRole role, int64_t layer, std::vector<int64_t> ne, float stddev) {
    TensorFacts t;
    t.role = role;
    t.layer = layer;
    t.n_dims = static_cast<int>(ne.size());
    t.row_length = ne[0];
    plan.push_back({std::move(name), role, layer, std::move(ne), choose_tensor_type(*mix, t, facts), stddev});
  };
  const float s_dim = 1.0f / std::sqrt(static_cast<float>(c.dim));
  const float s_hidden = 1.0f / std::sqrt(static_cast<float>(c.hidden));
  add("token_embd.weight", TensorRole::TokenEmbd, -1, {c.dim, c.vocab}, 1.0f);
  for (int64_t il = 0; il < c.n_layer; ++il) {
    const std::string b = fmt::format("blk.{}.", il);
    add(b + "attn_norm.weight", TensorRole::Norm, il, {c.dim}, 0);
    add(b + "attn_q.weight", TensorRole::AttnQ, il, {c.dim, c.q_dim()}, s_dim);
    add(b + "attn_k.weight", TensorRole::AttnK, il, {c.dim, c.kv_dim()}, s_dim);
    add(b + "attn_v.weight", TensorRole::AttnV, il, {c.dim, c.kv_dim()}, s_dim);
    add(b + "attn_output.weight", TensorRole::AttnOutput, il, {c.q_dim(), c.dim}, s_dim);
    add(b + "ffn_norm.weight", TensorRole::Norm, il, {c.dim}, 0);
    if (c.is_moe()) {
      add(b + "ffn_gate_inp.weight", TensorRole::Router, il, {c.dim, c.n_expert}, s_dim);
      add(b + "ffn_gate_exps.weight", TensorRole::FfnGate, il, {c.dim, c.hidden, c.n_expert}, s_dim);
      add(b + "ffn_down_exps.weight", TensorRole::FfnDown, il, {c.hidden, c.dim, c.n_expert}, s_hidden);
      add(b + "ffn_up_exps.weight", TensorRole::FfnUp, il, {c.dim, c.hidden, c.n_expert}, s_dim);
    } else {
      add(b + "ffn_gate.weight", TensorRole::FfnGate, il, {c.dim, c.hidden}, s_dim);
      add(b + "ffn_down.weight", TensorRole::FfnDown, il, {c.hidden, c.dim}, s_hidden);
      add(b + "ffn_up.weight", TensorRole::FfnUp, il, {c.dim, c.hidden}, s_dim);
    }
  }
  add("output_norm.weight", TensorRole::Norm, -1, {c.dim}, 0);
  add("output.weight", TensorRole::Output, -1, {c.dim, c.vocab}, s_dim);

  GgufWriter out;
  write_model_shape(out, c, fmt::format("{} (random weights, {} layers)", o.preset, c.n_layer));
  write_vocab(out, load_vocab(o, c.vocab));
  write_file_type(out, *mix);

  std::map<std::tuple<GgmlType, int64_t, float>, std::unique_ptr<RowPool>> pools;
  uint64_t total_bytes = 0;
  GenerateModelReport report;
  for (const Planned& p : plan) {
    int64_t n_elements = 1;
    for (int64_t d : p.ne) n_elements *= d;
    report.parameters += n_elements;
    total_bytes += row_bytes(p.type, p.ne[0]) * static_cast<size_t>(n_elements / p.ne[0]);
  }
  ConvertProgress progress(o.progress && isatty(STDERR_FILENO), plan.size(), total_bytes);
  uint64_t tensor_seed = o.seed;
  for (const Planned& p : plan) {
    const uint64_t seed = ++tensor_seed * 0x9E3779B97F4A7C15ull;
    if (p.role == TensorRole::Norm) {
      out.add_tensor(p.name, GgmlType::F32, p.ne, [seed](uint8_t* dst, size_t n) {
        std::mt19937_64 rng(seed);
        std::normal_distribution<float> normal(1.0f, 0.05f);
        for (size_t i = 0; i < n / 4; ++i) {
          const float v = normal(rng);
          std::memcpy(dst + 4 * i, &v, 4);
        }
      });
      continue;
    }
    auto& pool = pools[{p.type, p.ne[0], p.stddev}];
    if (!pool) pool = std::make_unique<RowPool>(p.type, p.ne[0], p.stddev, seed);
    const RowPool* rows = pool.get();
    out.add_tensor(p.name, p.type, p.ne, [rows, seed, &progress, name = p.name](uint8_t* dst, size_t n) {
      progress.start_tensor(name);
      // xorshift: fast enough not to matter next to the copy.
      uint64_t x = seed | 1;
      const size_t rb = rows->row_bytes();
      for (size_t off = 0; off < n; off += rb) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        std::memcpy(dst + off, rows->row(x), rb);
      }
      progress.add_bytes(n);
      progress.finish_tensor();
    });
  }
  out.write(o.output);
  progress.finish();
  report.tensors = static_cast<int64_t>(plan.size());
  report.bytes = std::filesystem::file_size(o.output);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace smoe
