// The --type names and the per-tensor type choice (see type_policy.h for the table).
#include "convert/type_policy.h"

#include <array>
#include <cctype>

namespace smoe {
namespace {

using enum FileType;

struct MixName {
  std::string_view name;
  FileType file_type;
  GgmlType base;
};

constexpr std::array kMixes = {
    MixName{"F32", ALL_F32, GgmlType::F32},         MixName{"F16", MOSTLY_F16, GgmlType::F16},
    MixName{"BF16", MOSTLY_BF16, GgmlType::BF16},   MixName{"Q8_0", MOSTLY_Q8_0, GgmlType::Q8_0},
    MixName{"Q4_0", MOSTLY_Q4_0, GgmlType::Q4_0},   MixName{"Q4_1", MOSTLY_Q4_1, GgmlType::Q4_1},
    MixName{"Q5_0", MOSTLY_Q5_0, GgmlType::Q5_0},   MixName{"Q5_1", MOSTLY_Q5_1, GgmlType::Q5_1},
    MixName{"Q2_K", MOSTLY_Q2_K, GgmlType::Q2_K},   MixName{"Q3_K", MOSTLY_Q3_K_S, GgmlType::Q3_K},
    MixName{"Q4_K", MOSTLY_Q4_K_S, GgmlType::Q4_K}, MixName{"Q5_K", MOSTLY_Q5_K_S, GgmlType::Q5_K},
    MixName{"Q6_K", MOSTLY_Q6_K, GgmlType::Q6_K},   MixName{"Q3_K_S", MOSTLY_Q3_K_S, GgmlType::Q3_K},
    MixName{"Q3_K_M", MOSTLY_Q3_K_M, GgmlType::Q3_K}, MixName{"Q3_K_L", MOSTLY_Q3_K_L, GgmlType::Q3_K},
    MixName{"Q4_K_S", MOSTLY_Q4_K_S, GgmlType::Q4_K}, MixName{"Q4_K_M", MOSTLY_Q4_K_M, GgmlType::Q4_K},
    MixName{"Q5_K_S", MOSTLY_Q5_K_S, GgmlType::Q5_K}, MixName{"Q5_K_M", MOSTLY_Q5_K_M, GgmlType::Q5_K},
};

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third layer in
// between, are the ones whose attn_v / ffn_down most affect quality.
bool use_more_bits(int64_t il, int64_t n_layer) {
  return il < n_layer / 8 || il >= 7 * n_layer / 8 || (il - n_layer / 8) % 3 == 2;
}

bool rows_fit(GgmlType type, int64_t row_length) { return row_length % type_info(type).block_size == 0; }

GgmlType attn_v_type(FileType ft, GgmlType type, int64_t il, const ModelFacts& m) {
  if (m.n_expert == 8) return GgmlType::Q8_0;  // ~128 MB on Mixtral 8x7B for a clear gain
  switch (ft) {
    case MOSTLY_Q2_K: return m.n_gqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
    case MOSTLY_Q3_K_M: return il < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
    case MOSTLY_Q3_K_L: return GgmlType::Q5_K;
    case MOSTLY_Q4_K_M:
    case MOSTLY_Q5_K_M: return use_more_bits(il, m.n_layer) ? GgmlType::Q6_K : type;
    case MOSTLY_Q4_K_S: return il < 4 ? GgmlType::Q5_K : type;
    default: return type;
  }
}

GgmlType ffn_down_type(FileType ft, GgmlType type, int64_t il, const ModelFacts& m) {
  switch (ft) {
    case MOSTLY_Q2_K: return GgmlType::Q3_K;
    case MOSTLY_Q3_K_M: return il < m.n_layer / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
    case MOSTLY_Q3_K_L: return GgmlType::Q5_K;
    case MOSTLY_Q4_K_M:
    case MOSTLY_Q5_K_M: return use_more_bits(il, m.n_layer) ? GgmlType::Q6_K : type;
    case MOSTLY_Q4_K_S: return il < m.n_layer / 8 ? GgmlType::Q5_K : type;
    default: return type;
  }
}

GgmlType attn_output_type(FileType ft, GgmlType type, const ModelFacts& m) {
  if (m.n_expert == 8) {
    switch (ft) {
      case MOSTLY_Q2_K:
      case MOSTLY_Q3_K_S:
      case MOSTLY_Q3_K_M:
      case MOSTLY_Q4_K_S:
      case MOSTLY_Q4_K_M: return GgmlType::Q5_K;
      default: return type;
    }
  }
  switch (ft) {
    case MOSTLY_Q2_K: return GgmlType::Q3_K;
    case MOSTLY_Q3_K_M: return GgmlType::Q4_K;
    case MOSTLY_Q3_K_L: return GgmlType::Q5_K;
    default: return type;
  }
}

// A type whose blocks do not divide the row length falls back to a 32-value block type of at
// least as many bits, then to F16.
GgmlType fallback_for_row_length(GgmlType type, int64_t row_length) {
  if (rows_fit(type, row_length)) return type;
  GgmlType fallback = GgmlType::F16;
  switch (type) {
    case GgmlType::Q2_K:
    case GgmlType::Q3_K: fallback = GgmlType::Q4_0; break;
    case GgmlType::Q4_K: fallback = GgmlType::Q5_0; break;
    case GgmlType::Q5_K: fallback = GgmlType::Q5_1; break;
    case GgmlType::Q6_K: fallback = GgmlType::Q8_0; break;
    default: break;
  }
  return rows_fit(fallback, row_length) ? fallback : GgmlType::F16;
}

}  // namespace

std::optional<QuantMix> parse_quant_mix(std::string_view name) {
  for (const MixName& m : kMixes)
    if (same_name(m.name, name)) return QuantMix{m.name, m.file_type, m.base};
  return std::nullopt;
}

std::vector<std::string_view> quant_mix_names() {
  std::vector<std::string_view> names;
  for (const MixName& m : kMixes) names.push_back(m.name);
  return names;
}

GgmlType choose_tensor_type(const QuantMix& mix, const TensorFacts& t, const ModelFacts& m) {
  // Norms, and the router, whose few rows decide which experts run, are never reduced.
  if (t.n_dims < 2 || t.role == TensorRole::Norm || t.role == TensorRole::Router) return GgmlType::F32;
  if (!mix.quantized()) return mix.base;

  const FileType ft = mix.file_type;
  GgmlType type = mix.base;
  const bool is_output = t.role == TensorRole::Output || (!m.has_output && t.role == TensorRole::TokenEmbd);
  if (is_output) {
    if (!rows_fit(mix.base, t.row_length)) type = GgmlType::Q8_0;
    else if (mix.base != GgmlType::Q8_0) type = GgmlType::Q6_K;
  } else {
    switch (t.role) {
      case TensorRole::AttnV: type = attn_v_type(ft, type, t.layer, m); break;
      case TensorRole::AttnK:
        if (m.n_expert == 8) type = GgmlType::Q8_0;
        break;
      case TensorRole::FfnDown: type = ffn_down_type(ft, type, t.layer, m); break;
      case TensorRole::AttnOutput: type = attn_output_type(ft, type, m); break;
      default: break;
    }
  }
  return fallback_for_row_length(type, t.row_length);
}

}  // namespace smoe
