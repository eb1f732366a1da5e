// The kernel tables, the dispatcher and the matrix products built on them. reference_kernels()
// is the scalar table; the products go through the level chosen once per process (CPU features,
// SMOE_KERNELS) and the precision (SMOE_PRECISION), see kernels.h. This file owns the threads
// (the engine's ThreadPool: a static partition of the rows in multiples of the level's row
// tile), the per-thread scratch memory and the quantized activations; the levels
// (kernel_levels.h) only compute.
#include "kernels/kernels.h"

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/kernel_levels.h"
#include "kernels/ref/ref_kernels.h"

#include <cpuid.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <vector>

namespace smoe {
namespace {

#define SMOE_REF_ENTRY(type, suffix)                                                       \
  TypeKernels {                                                                            \
    GgmlType::type, &ref::dequantize_row_##suffix, &ref::dot_row_##suffix,                 \
        &ref::quantize_row_##suffix                                                        \
  }

constexpr std::array kReferenceKernels = {
    SMOE_REF_ENTRY(F32, f32),   SMOE_REF_ENTRY(F16, f16),   SMOE_REF_ENTRY(BF16, bf16),
    SMOE_REF_ENTRY(Q4_0, q4_0), SMOE_REF_ENTRY(Q4_1, q4_1), SMOE_REF_ENTRY(Q5_0, q5_0),
    SMOE_REF_ENTRY(Q5_1, q5_1), SMOE_REF_ENTRY(Q8_0, q8_0), SMOE_REF_ENTRY(Q2_K, q2_k),
    SMOE_REF_ENTRY(Q3_K, q3_k), SMOE_REF_ENTRY(Q4_K, q4_k), SMOE_REF_ENTRY(Q5_K, q5_k),
    SMOE_REF_ENTRY(Q6_K, q6_k),
};

#undef SMOE_REF_ENTRY

// Type ids are small (ggml's largest is below 64), so tables are indexed by id directly.
constexpr size_t kTypeIdLimit = 64;
using KernelTable = std::array<const TypeKernels*, kTypeIdLimit>;

size_t type_index(GgmlType type) {
  const auto id = static_cast<size_t>(type);
  if (id >= kTypeIdLimit) fail("unknown tensor type id {}", id);
  return id;
}

KernelTable make_reference_table() {
  KernelTable table{};
  for (const TypeKernels& k : kReferenceKernels) table[type_index(k.type)] = &k;
  return table;
}

const KernelTable& reference_table() {
  static const KernelTable table = make_reference_table();
  return table;
}

const TypeKernels& lookup(const KernelTable& table, GgmlType type) {
  const TypeInfo& info = type_info(type);  // throws for ids ggml does not define
  const TypeKernels* k = info.computable ? table[type_index(type)] : nullptr;
  if (!k) fail("weights of type {} are not supported", info.name);
  return *k;
}

void check_shape(GgmlType type, int64_t n_rows, int64_t n_cols) {
  const TypeInfo& info = type_info(type);
  if (n_rows < 0 || n_cols < 0 || n_cols % info.block_size != 0)
    fail("matrix of {} x {} {} values: the row length must be a multiple of {}", n_rows, n_cols,
         info.name, info.block_size);
}

// ------------------------------------------------------------------------------ CPU features

// XCR0 (which register states the OS saves on context switches); 0 without OSXSAVE.
uint64_t os_enabled_state() {
  if (!__builtin_cpu_supports("avx")) return 0;  // libgcc sets avx only when OSXSAVE is on
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

// F16C straight from CPUID (leaf 1, ECX): clang's __builtin_cpu_supports does not know "f16c".
bool cpu_has_f16c() {
  unsigned eax, ebx, ecx, edx;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}

bool cpu_has_avx2() {
  const uint64_t xcr0 = os_enabled_state();
  return (xcr0 & 0x6) == 0x6 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         cpu_has_f16c();
}

bool cpu_has_avx512() {
  // SSE, AVX, opmask, upper halves of ZMM0-15 and ZMM16-31 must all be enabled by the OS.
  const uint64_t xcr0 = os_enabled_state();
  return cpu_has_avx2() && (xcr0 & 0xE6) == 0xE6 && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

// ----------------------------------------------------------------------------------- settings

struct Settings {
  std::atomic<KernelLevel> level{KernelLevel::Scalar};
  std::atomic<Precision> precision{kDefaultPrecision};
};

Settings& settings() {
  static Settings* s = [] {
    auto* fresh = new Settings;
    KernelLevel level = best_kernel_level();
    if (const char* env = std::getenv("SMOE_KERNELS"); env && *env) {
      const auto parsed = parse_kernel_level(env);
      if (!parsed) fail("SMOE_KERNELS={}: expected scalar, avx2 or avx512", env);
      if (!kernel_level_supported(*parsed))
        fail("SMOE_KERNELS={}: this CPU (or its operating system) does not support {}", env,
             kernel_level_name(*parsed));
      level = *parsed;
    }
    Precision precision = kDefaultPrecision;
    if (const char* env = std::getenv("SMOE_PRECISION"); env && *env) {
      const auto parsed = parse_precision(env);
      if (!parsed) fail("SMOE_PRECISION={}: expected exact or fast", env);
      precision = *parsed;
    }
    fresh->level = level;
    fresh->precision = precision;
    return fresh;
  }();
  return *s;
}

const kernel_impl::LevelOps& level_ops(KernelLevel level) {
  switch (level) {
    case KernelLevel::Avx512: return kernel_impl::avx512_ops();
    case KernelLevel::Avx2: return kernel_impl::avx2_ops();
    default: return kernel_impl::scalar_ops();
  }
}

// ------------------------------------------------------------------------------------ threads

// Below this many multiply-adds a product is faster on the calling thread than after waking
// the pool's workers.
constexpr int64_t kMinParallelWork = int64_t{1} << 20;

// Reusable per-thread scratch (pool threads persist, so this is allocated once per size).
void* thread_scratch(size_t bytes) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < bytes + 64) buffer.resize(bytes + 64);
  const auto address = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - address % 64) % 64);
}

// Runs body(row_begin, row_end, scratch) over [0, n_rows) in ranges of whole tiles; the split
// never changes a row's result.
// - Few tokens (decode): one contiguous range per thread, because the decode kernels prefetch
//   from tile to tile along their range.
// - Many tokens (a prompt, `chunked`): about kChunksPerProduct chunks dealt out from a counter.
//   With equal halves, the two threads of a 512-token prompt on a shared 2-core VM waited on
//   each other for 12 to 17% of the products' time (one thread was slowed at random).
constexpr int64_t kChunksPerProduct = 64;

template <typename Body>
void for_row_ranges(const kernel_impl::LevelOps& ops, GgmlType type, int64_t n_rows,
                    int64_t n_cols, int64_t n_tokens, bool chunked, const Body& body) {
  const int64_t tile = std::max<int64_t>(1, ops.row_tile);
  const int64_t n_tiles = (n_rows + tile - 1) / tile;
  const size_t scratch_bytes = ops.scratch_bytes(type, n_cols, n_tokens);
  const bool parallel = n_rows * n_cols * n_tokens >= kMinParallelWork && n_tiles > 1;
  if (!parallel) {
    body(0, n_rows, thread_scratch(scratch_bytes));
    return;
  }
  if (chunked) {
    // Chunks of whole blocks of 32 rows (the row block of the many-token kernels).
    const int64_t block = std::max<int64_t>(1, 32 / tile);
    const int64_t chunk_tiles = ((n_tiles + kChunksPerProduct - 1) / kChunksPerProduct + block - 1) / block * block;
    ThreadPool::global().parallel_chunks(n_tiles, chunk_tiles, [&](int, int64_t first, int64_t last) {
      body(first * tile, std::min(n_rows, last * tile), thread_scratch(scratch_bytes));
    });
    return;
  }
  ThreadPool::global().run([&](int id, int n_threads) {
    const int64_t first = n_tiles * id / n_threads, last = n_tiles * (id + 1) / n_threads;
    if (first < last) body(first * tile, std::min(n_rows, last * tile), thread_scratch(scratch_bytes));
  });
}

// The float path (Exact precision, or float weights).
void float_product(const kernel_impl::LevelOps& ops, GgmlType type, const void* w, int64_t n_rows,
                   int64_t n_cols, const float* x, int64_t n_tokens, float* y) {
  const kernel_impl::Matrix m{type, static_cast<const uint8_t*>(w), row_bytes(type, n_cols), n_cols};
  const bool chunked = n_tokens > 8;
  for_row_ranges(ops, type, n_rows, n_cols, n_tokens, chunked, [&](int64_t begin, int64_t end, void* scratch) {
    ops.exact_rows(m, begin, end, x, n_tokens, y, n_rows, scratch);
  });
}

void fast_product(const kernel_impl::LevelOps& ops, GgmlType type, const void* w, int64_t n_rows,
                  int64_t n_cols, const kernel_impl::Q8Activations& q,
                  const kernel_impl::TokenLanes* lanes, float* y) {
  const kernel_impl::Matrix m{type, static_cast<const uint8_t*>(w), row_bytes(type, n_cols), n_cols};
  for_row_ranges(ops, type, n_rows, n_cols, q.n_tokens, lanes != nullptr, [&](int64_t begin, int64_t end, void* scratch) {
    if (lanes)
      ops.fast_rows_lanes(m, begin, end, *lanes, y, n_rows, scratch);
    else
      ops.fast_rows(m, begin, end, q, 0, q.n_tokens, y, n_rows, scratch);
  });
}

PreparedActivations& thread_prepared() {
  thread_local PreparedActivations prepared;
  return prepared;
}

// matvec / matmat: the float path directly, or the fast path through per-thread prepared
// activations (quantized once per call, not once per weight row).
void product(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols, const float* x,
             int64_t n_tokens, float* y) {
  kernels_for(type);  // the type check, with its error message
  check_shape(type, n_rows, n_cols);
  if (n_tokens <= 0 || n_rows == 0) return;
  const Settings& s = settings();
  const auto& ops = level_ops(s.level);
  if (s.precision == Precision::Exact || kernel_impl::activation_unit(type) == 0) {
    float_product(ops, type, w, n_rows, n_cols, x, n_tokens, y);
    return;
  }
  PreparedActivations& prepared = thread_prepared();
  prepared.prepare(type, x, n_cols, n_tokens);
  matmat_prepared(type, w, n_rows, n_cols, prepared, y);
}

template <GgmlType kType>
float active_dot_row(const void* w, const float* x, int64_t n) {
  float y = 0.0f;
  product(kType, w, 1, n, x, 1, &y);
  return y;
}

template <GgmlType kType>
void active_dequantize_row(const void* src, float* dst, int64_t n) {
  level_ops(settings().level).dequantize_row(kType, src, dst, n);
}

#define SMOE_ACTIVE_ENTRY(type, suffix)                                                    \
  TypeKernels {                                                                            \
    GgmlType::type, &active_dequantize_row<GgmlType::type>,                                \
        &active_dot_row<GgmlType::type>, &ref::quantize_row_##suffix                       \
  }

constexpr std::array kActiveKernels = {
    SMOE_ACTIVE_ENTRY(F32, f32),   SMOE_ACTIVE_ENTRY(F16, f16),   SMOE_ACTIVE_ENTRY(BF16, bf16),
    SMOE_ACTIVE_ENTRY(Q4_0, q4_0), SMOE_ACTIVE_ENTRY(Q4_1, q4_1), SMOE_ACTIVE_ENTRY(Q5_0, q5_0),
    SMOE_ACTIVE_ENTRY(Q5_1, q5_1), SMOE_ACTIVE_ENTRY(Q8_0, q8_0), SMOE_ACTIVE_ENTRY(Q2_K, q2_k),
    SMOE_ACTIVE_ENTRY(Q3_K, q3_k), SMOE_ACTIVE_ENTRY(Q4_K, q4_k), SMOE_ACTIVE_ENTRY(Q5_K, q5_k),
    SMOE_ACTIVE_ENTRY(Q6_K, q6_k),
};

#undef SMOE_ACTIVE_ENTRY

const KernelTable& active_table() {
  static const KernelTable table = [] {
    KernelTable t{};
    for (const TypeKernels& k : kActiveKernels) t[type_index(k.type)] = &k;
    return t;
  }();
  return table;
}

}  // namespace

FloatVectorOps float_vector_ops() {
  const auto& ops = level_ops(settings().level);
  return {ops.dot_f32, ops.axpy_f32, ops.scale_f32};
}

const TypeKernels& reference_kernels(GgmlType type) { return lookup(reference_table(), type); }

const TypeKernels& kernels_for(GgmlType type) {
  settings();  // reads the environment once (and reports a bad setting here)
  return lookup(active_table(), type);
}

std::string_view kernel_level_name(KernelLevel level) {
  switch (level) {
    case KernelLevel::Scalar: return "scalar";
    case KernelLevel::Avx2: return "avx2";
    case KernelLevel::Avx512: return "avx512";
  }
  return "?";
}

std::string_view precision_name(Precision precision) {
  return precision == Precision::Exact ? "exact" : "fast";
}

std::optional<KernelLevel> parse_kernel_level(std::string_view name) {
  for (KernelLevel l : {KernelLevel::Scalar, KernelLevel::Avx2, KernelLevel::Avx512})
    if (name == kernel_level_name(l)) return l;
  return std::nullopt;
}

std::optional<Precision> parse_precision(std::string_view name) {
  if (name == "exact") return Precision::Exact;
  if (name == "fast") return Precision::Fast;
  return std::nullopt;
}

bool kernel_level_supported(KernelLevel level) {
  switch (level) {
    case KernelLevel::Scalar: return true;
    case KernelLevel::Avx2: return cpu_has_avx2();
    case KernelLevel::Avx512: return cpu_has_avx512();
  }
  return false;
}

KernelLevel best_kernel_level() {
  static const KernelLevel best = cpu_has_avx512() ? KernelLevel::Avx512
                                  : cpu_has_avx2() ? KernelLevel::Avx2
                                                   : KernelLevel::Scalar;
  return best;
}

std::vector<KernelLevel> supported_kernel_levels() {
  std::vector<KernelLevel> levels;
  for (KernelLevel l : {KernelLevel::Scalar, KernelLevel::Avx2, KernelLevel::Avx512})
    if (kernel_level_supported(l)) levels.push_back(l);
  return levels;
}

KernelLevel kernel_level() { return settings().level; }

void set_kernel_level(KernelLevel level) {
  if (!kernel_level_supported(level))
    fail("kernel level {} is not supported by this CPU (or its operating system)",
         kernel_level_name(level));
  settings().level = level;
}

Precision kernel_precision() { return settings().precision; }
void set_kernel_precision(Precision precision) { settings().precision = precision; }

void matvec(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols, const float* x, float* y) {
  product(type, w, n_rows, n_cols, x, 1, y);
}

void matmat(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols, const float* x,
            int64_t n_tokens, float* y) {
  product(type, w, n_rows, n_cols, x, n_tokens, y);
}

void PreparedActivations::prepare(GgmlType type, const float* x, int64_t n_cols, int64_t n_tokens) {
  kernels_for(type);
  check_shape(type, 0, n_cols);
  const Settings& s = settings();
  x_ = x;
  n_cols_ = n_cols;
  n_tokens_ = std::max<int64_t>(n_tokens, 0);
  level_ = s.level;
  precision_ = s.precision;
  unit_ = precision_ == Precision::Fast ? kernel_impl::activation_unit(type) : 0;
  lanes_ = 0;
  if (unit_ == 0 || n_tokens_ == 0) return;
  const int64_t n_units = n_cols / unit_;
  q_.resize(static_cast<size_t>(n_cols * n_tokens_));
  d_.resize(static_cast<size_t>(n_units * n_tokens_));
  sums16_.resize(static_cast<size_t>(n_cols / 16 * n_tokens_));
  const bool with_sa = unit_ == 32;
  sa_.resize(with_sa ? d_.size() : 0);
  const bool parallel = n_tokens_ * n_cols >= (int64_t{1} << 16);
  const auto& ops = level_ops(level_);
  auto quantize_tokens = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      ops.quantize_row(x + t * n_cols, n_cols, unit_, q_.data() + t * n_cols, d_.data() + t * n_units,
                       sums16_.data() + t * (n_cols / 16), with_sa ? sa_.data() + t * n_units : nullptr);
  };
  if (parallel)
    ThreadPool::global().parallel_for(n_tokens_, 1, quantize_tokens);
  else
    quantize_tokens(0, n_tokens_);
  if (ops.lanes > 0 && ops.fast_rows_lanes && n_tokens_ >= ops.min_tokens_for_lanes) {
    lanes_ = ops.lanes;
    const int64_t groups = (n_tokens_ + lanes_ - 1) / lanes_;
    lane_q_.resize(static_cast<size_t>(groups * lanes_ * n_cols));
    lane_d_.resize(static_cast<size_t>(groups * lanes_ * n_units));
    lane_sa_.resize(with_sa ? lane_d_.size() : 0);
    lane_pairs_.resize(unit_ == 256 ? static_cast<size_t>(groups * lanes_ * (n_cols / 32)) : 0);
    kernel_impl::Q8Activations q{q_.data(), d_.data(), sums16_.data(), with_sa ? sa_.data() : nullptr,
                                 n_cols, n_tokens_, unit_};
    auto fill_groups = [&](int64_t begin, int64_t end) {
      kernel_impl::fill_token_lanes(q, lanes_, begin, end, lane_q_.data(), lane_d_.data(),
                                    with_sa ? lane_sa_.data() : nullptr, unit_ == 256 ? lane_pairs_.data() : nullptr);
    };
    if (parallel)
      ThreadPool::global().parallel_for(groups, 1, fill_groups);
    else
      fill_groups(0, groups);
  }
}

void matmat_prepared(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols,
                     const PreparedActivations& x, float* y) {
  kernels_for(type);
  check_shape(type, n_rows, n_cols);
  const Settings& s = settings();
  const int64_t unit = s.precision == Precision::Fast ? kernel_impl::activation_unit(type) : 0;
  if (x.n_cols_ != n_cols || x.level_ != s.level || x.precision_ != s.precision || x.unit_ != unit)
    fail("activations prepared for another product ({} values per token, unit {}, {} {}) used "
         "with {} weights of {} values per row under {} {}",
         x.n_cols_, x.unit_, kernel_level_name(x.level_), precision_name(x.precision_),
         type_name(type), n_cols, kernel_level_name(s.level), precision_name(s.precision));
  if (x.n_tokens_ == 0 || n_rows == 0) return;
  const auto& ops = level_ops(s.level);
  if (unit == 0) {
    float_product(ops, type, w, n_rows, n_cols, x.x_, x.n_tokens_, y);
    return;
  }
  const kernel_impl::Q8Activations q{x.q_.data(), x.d_.data(), x.sums16_.data(),
                                     x.sa_.empty() ? nullptr : x.sa_.data(), n_cols, x.n_tokens_, unit};
  if (x.lanes_ > 0) {
    const kernel_impl::TokenLanes lanes{x.lane_q_.data(), x.lane_d_.data(),
                                        x.lane_sa_.empty() ? nullptr : x.lane_sa_.data(),
                                        x.lane_pairs_.empty() ? nullptr : x.lane_pairs_.data(),
                                        n_cols, x.n_tokens_, unit, x.lanes_};
    fast_product(ops, type, w, n_rows, n_cols, q, &lanes, y);
  } else {
    fast_product(ops, type, w, n_rows, n_cols, q, nullptr, y);
  }
}

}  // namespace smoe
