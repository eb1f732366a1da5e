// Kernel micro-benchmarks: matvec throughput in GB/s of weights read (the decode roofline) for
// every type, level, precision and 1 / 2 threads on a 14336 x 4096 matrix (a Mixtral expert's
// gate), matmat GFLOP/s for 512 tokens on a 4096 x 4096 matrix (prompt processing), and the
// machine's read bandwidth (threads summing a 1 GiB buffer) for reference, and that buffer read
// in the kernels' tile pattern with and without their kinds of prefetching (tile_read).
//
//   ./build/bench/bench_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   (filter with --benchmark_filter=matvec/Q4_K, see --help)
//
// Rates are given twice: over wall-clock time (GB/s, GFLOP/s) and over the calling thread's CPU
// time (..._cpu). On a machine shared with other jobs the wall clock measures the contention;
// the CPU-time rate is what the kernels do while they run (with 2 threads it assumes the other
// thread ran as long, which the static row split makes nearly true).
#include "kernels/kernels.h"

#include <benchmark/benchmark.h>
#include "core/thread_pool.h"

#include <time.h>
#include <xmmintrin.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace smoe {
namespace {

// Random blocks with sane scales: quantizing real values (the reference quantizers' searches)
// would take minutes at these sizes, and the kernels' speed does not depend on the values.
std::vector<uint8_t> random_weights(GgmlType type, int64_t n_rows, int64_t n_cols) {
  const size_t bytes = row_bytes(type, n_cols) * static_cast<size_t>(n_rows);
  std::vector<uint8_t> w(bytes);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    const uint64_t r = rng();
    std::memcpy(&w[i], &r, 8);
  }
  auto set_half = [&](size_t at) { w[at] = 0x00; w[at + 1] = 0x20; };  // 2^-7
  const TypeInfo& info = type_info(type);
  std::vector<size_t> half_fields;
  switch (type) {
    case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: half_fields = {0}; break;
    case GgmlType::Q4_1: case GgmlType::Q5_1: case GgmlType::Q4_K: case GgmlType::Q5_K: half_fields = {0, 2}; break;
    case GgmlType::Q2_K: half_fields = {80, 82}; break;
    case GgmlType::Q3_K: half_fields = {108}; break;
    case GgmlType::Q6_K: half_fields = {208}; break;
    case GgmlType::F32:
      for (size_t i = 0; i + 4 <= bytes; i += 4) { w[i + 3] = 0x3C; }  // |x| < 0.02, finite
      return w;
    case GgmlType::F16: case GgmlType::BF16:
      for (size_t i = 0; i + 2 <= bytes; i += 2) w[i + 1] = static_cast<uint8_t>(w[i + 1] & 0x9F);
      return w;
    default: break;
  }
  for (size_t b = 0; b < bytes; b += info.block_bytes)
    for (size_t f : half_fields) set_half(b + f);
  return w;
}

std::vector<float> random_activations(int64_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = dist(rng);
  return x;
}

struct Setting {
  KernelLevel level;
  Precision precision;
  int threads;
};

void apply(const Setting& s) {
  set_kernel_level(s.level);
  set_kernel_precision(s.precision);
  smoe::ThreadPool::global().set_threads(s.threads);
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr int64_t kExpertRows = 14336, kExpertCols = 4096;
constexpr int64_t kHotRows = 128;  // 128 x 4096 at 8.5 bits or less: at most 544 KiB
constexpr int64_t kPromptRows = 4096, kPromptCols = 4096, kPromptTokens = 512;
// A prompt of 512 tokens routed top-2 of 8 gives an expert about 128 tokens.
constexpr int64_t kExpertTokens = 128;

// rows x cols: an expert's gate (kExpertRows x kExpertCols), its down projection (the
// transpose: long rows, whose partial sums take more scratch), or kHotRows x kExpertCols, a
// matrix that stays in L2 (the kernel's arithmetic alone, the ceiling of what it can stream).
void bench_matvec(benchmark::State& state, GgmlType type, Setting s, int64_t rows, int64_t cols) {
  apply(s);
  static GgmlType cached_type = GgmlType::I8;
  static int64_t cached_rows = 0, cached_cols = 0;
  static std::vector<uint8_t> w;
  if (cached_type != type || cached_rows != rows || cached_cols != cols) {
    w = random_weights(type, rows, cols);
    cached_type = type;
    cached_rows = rows;
    cached_cols = cols;
  }
  const auto x = random_activations(cols);
  std::vector<float> y(static_cast<size_t>(rows));
  double cpu = 0;
  for (auto _ : state) {
    const double start = thread_cpu_seconds();
    matvec(type, w.data(), rows, cols, x.data(), y.data());
    cpu += thread_cpu_seconds() - start;
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = static_cast<double>(w.size()) * static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["GB/s_cpu"] = bytes / 1e9 / cpu;
}

// `copies` different weight matrices are used in turn, so that with several the weights come
// from memory, as an engine's experts do, rather than from a cache that holds one matrix.
void bench_matmat(benchmark::State& state, GgmlType type, Setting s, int64_t rows, int64_t cols, int64_t tokens,
                  int copies) {
  apply(s);
  std::vector<std::vector<uint8_t>> w;
  for (int c = 0; c < copies; ++c) w.push_back(random_weights(type, rows, cols));
  const auto x = random_activations(cols * tokens);
  std::vector<float> y(static_cast<size_t>(rows * tokens));
  double cpu = 0;
  size_t next = 0;
  for (auto _ : state) {
    const double start = thread_cpu_seconds();
    matmat(type, w[next].data(), rows, cols, x.data(), tokens, y.data());
    next = (next + 1) % w.size();
    cpu += thread_cpu_seconds() - start;
    benchmark::DoNotOptimize(y.data());
  }
  const double flops = 2.0 * static_cast<double>(rows * cols * tokens) * static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s_cpu"] = flops / 1e9 / cpu;
  const double bytes = static_cast<double>(w[0].size()) * static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
}

// Read bandwidth: the engine's pool threads summing disjoint parts of a 1 GiB buffer.
void bench_memory_read(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  constexpr size_t kWords = (size_t{1} << 30) / 8;
  static std::unique_ptr<uint64_t[]> buffer;
  if (!buffer) {
    buffer.reset(new uint64_t[kWords]);
    for (size_t i = 0; i < kWords; ++i) buffer[i] = i;
  }
  ThreadPool& pool = ThreadPool::global();
  pool.set_threads(threads);
  std::vector<uint64_t> totals(static_cast<size_t>(threads));
  for (auto _ : state) {
    pool.run([&](int t, int n) {
      const size_t begin = kWords * static_cast<size_t>(t) / static_cast<size_t>(n);
      const size_t end = kWords * static_cast<size_t>(t + 1) / static_cast<size_t>(n);
      uint64_t acc[8] = {};
      for (size_t i = begin; i + 8 <= end; i += 8)
        for (int k = 0; k < 8; ++k) acc[k] += buffer[i + k];
      totals[static_cast<size_t>(t)] = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
    });
    benchmark::DoNotOptimize(totals.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(kWords * 8) * state.iterations() / 1e9,
                                             benchmark::Counter::kIsRate);
}

// The kernels' tile reading without their arithmetic: the 1 GiB buffer as rows of a Q8_0
// row's 4352 bytes, each thread a contiguous range of tiles of 16 rows, read 16 rows side by
// side in steps of 272 bytes (256 Q8_0 values), the next tile prefetched as the variant says:
// 0: a step's share of it in one burst into L2 (hint T1); 1: each row's piece of that share
// just before the row, into L1 (hint T0); 2: no prefetch, each tile's rows read whole in
// order (one linear stream). The memory_read baseline is a linear read as well.
void bench_tile_read(benchmark::State& state, int variant, int threads) {
  constexpr size_t kBytes = size_t{1} << 30, kStride = 4352, kStep = 272, kTileRows = 16;
  constexpr size_t kTiles = kBytes / (kStride * kTileRows);
  static std::unique_ptr<uint64_t[]> buffer;
  if (!buffer) {
    buffer.reset(new uint64_t[kBytes / 8]);
    for (size_t i = 0; i < kBytes / 8; ++i) buffer[i] = i;
  }
  const auto* base = reinterpret_cast<const uint8_t*>(buffer.get());
  ThreadPool& pool = ThreadPool::global();
  pool.set_threads(threads);
  std::vector<uint64_t> totals(static_cast<size_t>(threads));
  const auto read_words = [](const uint8_t* p, size_t bytes, uint64_t* acc) {
    for (size_t k = 0; k < bytes; k += 16) {
      uint64_t w[2];
      std::memcpy(w, p + k, 16);
      acc[0] += w[0];
      acc[1] += w[1];
    }
  };
  for (auto _ : state) {
    pool.run([&](int t, int n) {
      const size_t tile_begin = kTiles * static_cast<size_t>(t) / static_cast<size_t>(n);
      const size_t tile_end = kTiles * static_cast<size_t>(t + 1) / static_cast<size_t>(n);
      constexpr size_t kTileBytes = kStride * kTileRows;
      uint64_t acc[2] = {};
      for (size_t tile = tile_begin; tile < tile_end; ++tile) {
        const uint8_t* rows = base + tile * kTileBytes;
        const uint8_t* next = tile + 1 < tile_end ? rows + kTileBytes : nullptr;
        if (variant == 2) {
          read_words(rows, kTileBytes, acc);
          continue;
        }
        for (size_t off = 0; off < kStride; off += kStep) {
          if (variant == 0 && next != nullptr)
            for (size_t k = off * kTileRows; k < (off + kStep) * kTileRows; k += 64) _mm_prefetch(reinterpret_cast<const char*>(next + k), _MM_HINT_T1);
          for (size_t i = 0; i < kTileRows; ++i) {
            if (variant == 1 && next != nullptr)
              for (size_t k = off * kTileRows + i * kStep; k < off * kTileRows + (i + 1) * kStep; k += 64)
                _mm_prefetch(reinterpret_cast<const char*>(next + (k & ~size_t{63})), _MM_HINT_T0);
            read_words(rows + i * kStride + off, kStep, acc);
          }
        }
      }
      totals[static_cast<size_t>(t)] = acc[0] + acc[1];
    });
    benchmark::DoNotOptimize(totals.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(kTiles * kStride * kTileRows) * state.iterations() / 1e9,
                                             benchmark::Counter::kIsRate);
}

void register_all() {
  const std::vector<GgmlType> types = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                                       GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                                       GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                       GgmlType::Q6_K};
  benchmark::RegisterBenchmark("memory_read", bench_memory_read)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
  for (int variant = 0; variant < 3; ++variant)
    for (int threads : {1, 2}) {
      static const char* const kNames[] = {"burst_l2", "spread_l1", "rows_whole"};
      const std::string name = std::string("tile_read/") + kNames[variant] + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), bench_tile_read, variant, threads)->UseRealTime()->Unit(benchmark::kMillisecond);
    }
  for (GgmlType type : types) {
    const bool quantized = type_info(type).block_size > 1;
    for (KernelLevel level : supported_kernel_levels()) {
      for (Precision precision : {Precision::Exact, Precision::Fast}) {
        if (!quantized && precision == Precision::Fast) continue;  // same float path
        for (int threads : {1, 2}) {
          const std::string name = std::string("matvec/") + std::string(type_name(type)) + "/" +
                                   std::string(kernel_level_name(level)) + "/" +
                                   std::string(precision_name(precision)) + "/threads:" + std::to_string(threads);
          const Setting setting{level, precision, threads};
          benchmark::RegisterBenchmark(name.c_str(), bench_matvec, type, setting, kExpertRows, kExpertCols)
              ->UseRealTime()->Unit(benchmark::kMillisecond);
          if (!quantized || precision != Precision::Fast || level == KernelLevel::Scalar) continue;
          benchmark::RegisterBenchmark(("matvec_down" + name.substr(6)).c_str(), bench_matvec, type, setting,
                                       kExpertCols, kExpertRows)
              ->UseRealTime()->Unit(benchmark::kMillisecond);
          if (threads == 1) {
            benchmark::RegisterBenchmark(("matvec_hot" + name.substr(6)).c_str(), bench_matvec, type, setting,
                                         kHotRows, kExpertCols)
                ->UseRealTime()->Unit(benchmark::kMicrosecond);
            // Batch decode's arithmetic: 2, 4 and 8 tokens over the same L2-resident matrix (at
            // batch 8 the shared matrices, attention and output, get all 8 tokens, and an expert
            // about 2: top-2 of 8).
            for (int tokens : {2, 4, 8})
              benchmark::RegisterBenchmark(("matmat" + std::to_string(tokens) + "_hot" + name.substr(6)).c_str(),
                                           bench_matmat, type, setting, kHotRows, kExpertCols, tokens, 1)
                  ->UseRealTime()->Unit(benchmark::kMicrosecond);
          }
          // Eight gate matrices in turn (at least 264 MB): every byte comes from memory, as in
          // decode, where one matrix alone may largely stay in a large L3.
          benchmark::RegisterBenchmark(("matvec_dram" + name.substr(6)).c_str(), bench_matmat, type, setting,
                                       kExpertRows, kExpertCols, 1, 8)
              ->UseRealTime()->Unit(benchmark::kMillisecond);
          // The same with 2 and 4 tokens, an expert's share at batch 8 (top-2 of 8: 2 on average),
          // on gate and on down matrices: how much of the arithmetic hides under the reads.
          for (int tokens : {2, 4}) {
            benchmark::RegisterBenchmark(("matmat" + std::to_string(tokens) + "_dram" + name.substr(6)).c_str(),
                                         bench_matmat, type, setting, kExpertRows, kExpertCols, tokens, 8)
                ->UseRealTime()->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(("matmat" + std::to_string(tokens) + "_down_dram" + name.substr(6)).c_str(),
                                         bench_matmat, type, setting, kExpertCols, kExpertRows, tokens, 8)
                ->UseRealTime()->Unit(benchmark::kMillisecond);
          }
        }
      }
    }
  }
  for (GgmlType type : types) {
    const bool quantized = type_info(type).block_size > 1;
    for (KernelLevel level : supported_kernel_levels()) {
      if (level == KernelLevel::Scalar) continue;  // minutes per run
      for (Precision precision : {Precision::Exact, Precision::Fast}) {
        if (!quantized && precision == Precision::Fast) continue;
        const std::string name = std::string("matmat512/") + std::string(type_name(type)) + "/" +
                                 std::string(kernel_level_name(level)) + "/" +
                                 std::string(precision_name(precision)) + "/threads:2";
        benchmark::RegisterBenchmark(name.c_str(), bench_matmat, type, Setting{level, precision, 2}, kPromptRows,
                                     kPromptCols, kPromptTokens, 1)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
        // An expert's gate over its share of a prompt, with 1 and 2 threads (the scaling); four
        // matrices in turn (at least 132 MB), so that the weights come from memory.
        if (precision == Precision::Fast)
          for (int threads : {1, 2})
            benchmark::RegisterBenchmark(("matmat_expert" + name.substr(9, name.size() - 10) + std::to_string(threads)).c_str(),
                                         bench_matmat, type, Setting{level, precision, threads}, kExpertRows,
                                         kExpertCols, kExpertTokens, 4)
                ->UseRealTime()->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace
}  // namespace smoe

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  smoe::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
