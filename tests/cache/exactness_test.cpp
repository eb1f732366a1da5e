// The expert cache changes where expert bytes live, never what is computed: logits with any cache
// size (1 slot, 2, one layer's worth, every expert) and either policy are bit-identical to the
// model read in place, for prefill, incremental and batched decoding. Also checks that the expert
// regions of the file stay out of the page cache (read with O_DIRECT, never through the mapping).
#include "cache_test_util.h"
#include "convert/convert.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace smoe {
namespace {

const std::vector<int32_t> kPrompt = {1, 450, 439, 860, 3347, 113, 1701, 123, 432, 398, 567, 975, 278, 425};

std::string bundled_model() { return test::source_dir() + "/models/smoe-mixtral-tiny"; }

// The bundled model converted once per test run (Q4_K_M: several block types, as real files).
const std::string& bundled_gguf() {
  static const std::string path = [] {
    ConvertOptions o;
    o.source = bundled_model();
    o.output = test::temp_dir() + "/tiny-q4_k_m.gguf";
    o.type = "Q4_K_M";
    o.threads = 1;  // a fixture: no OpenMP team, whose barriers ThreadSanitizer cannot see (tsan preset)
    o.progress = ConvertOptions::Progress::Never;
    convert_model(o);
    return o.output;
  }();
  return path;
}

void expect_exact_at_every_size(const std::string& path, const std::vector<int32_t>& prompt) {
  auto resident = Model::load(path);
  const std::vector<float> reference = test::workload_logits(*resident, prompt);
  const ModelConfig& c = resident->config();
  const int64_t total = c.n_layer * c.experts_per_layer();
  struct Case {
    int64_t slots;
    EvictionPolicy policy;
    bool prefetch;
  };
  const std::vector<Case> cases = {{1, EvictionPolicy::Lru, true},          {2, EvictionPolicy::Lru, true},
                                   {2, EvictionPolicy::Frequency, true},    {c.experts_per_layer(), EvictionPolicy::Lru, true},
                                   {c.experts_per_layer(), EvictionPolicy::Frequency, false},
                                   {total, EvictionPolicy::Lru, true}};
  for (const Case& k : cases) {
    SCOPED_TRACE(::testing::Message() << k.slots << " slots, " << eviction_policy_name(k.policy)
                                      << (k.prefetch ? ", prefetch" : ", no prefetch"));
    auto cached = test::load_with_cache(path, std::to_string(k.slots), k.policy, k.prefetch);
    EXPECT_EQ(cached->expert_source()->stats().slots, k.slots);
    const std::vector<float> got = test::workload_logits(*cached, prompt);
    EXPECT_TRUE(test::bit_identical(got, reference));
    const ExpertCacheStats s = cached->expert_source()->stats();
    EXPECT_GT(s.lookups, 0);
    EXPECT_GT(s.reads, 0);
    EXPECT_EQ(s.lookups, s.hits + s.prefetch_hits + s.misses());
    if (k.slots == total) {
      EXPECT_LE(s.reads, total) << "with room for all, each expert is read once";
    }
  }
}

TEST(ExpertCacheExactness, BundledModelGguf) { expect_exact_at_every_size(bundled_gguf(), kPrompt); }

TEST(ExpertCacheExactness, BundledModelHuggingFaceDirectory) {
  // Safetensors shards are mapped in place too, so the cache reads experts from them the same way.
  expect_exact_at_every_size(bundled_model(), kPrompt);
}

TEST(ExpertCacheExactness, GoldenModels) {
  SMOE_REQUIRE_SHARED();
  for (const char* name : {"micro-f32.gguf", "micro-q4_0.gguf", "small-q4_k_m.gguf", "small-q2_k.gguf", "dense-f32.gguf"}) {
    SCOPED_TRACE(name);
    expect_exact_at_every_size(test::shared_path(std::string("golden/") + name), kPrompt);
  }
}

TEST(ExpertCacheExactness, PrefillReadsEachNeededExpertOncePerLayer) {
  auto model = test::load_with_cache(bundled_gguf(), "1");
  Session session(*model);
  std::vector<float> logits;
  session.eval(kPrompt, false, logits);  // one batch: every layer needs several experts
  const ExpertCacheStats s = model->expert_source()->stats();
  EXPECT_EQ(s.tokens, static_cast<int64_t>(kPrompt.size()));
  EXPECT_LE(s.lookups, model->config().n_layer * model->config().n_expert);
  // With one slot nothing survives between uses, so every lookup is one read (plus prefetches).
  EXPECT_EQ(s.reads - s.prefetch_reads, s.lookups - s.prefetch_hits);
}

TEST(ExpertCacheExactness, AllExpertsCachedReadsEachOnce) {
  const std::string path = bundled_gguf();
  auto model = test::load_with_cache(path, "1G");
  const ModelConfig& c = model->config();
  test::workload_logits(*model, kPrompt);
  const ExpertCacheStats s = model->expert_source()->stats();
  EXPECT_EQ(s.slots, c.n_layer * c.n_expert);
  EXPECT_LE(s.reads, c.n_layer * c.n_expert);
  EXPECT_EQ(s.prefetch_wasted, 0);
}

// Pages of [begin, end) of the mapping that are in the page cache, whole pages only.
int64_t resident_pages(const uint8_t* base, uint64_t begin, uint64_t end) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  begin = (begin + page - 1) / page * page;
  end = end / page * page;
  if (end <= begin) return 0;
  std::vector<unsigned char> v((end - begin) / page);
  if (mincore(const_cast<uint8_t*>(base + begin), end - begin, v.data()) != 0) return -1;
  int64_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

TEST(ExpertCacheExactness, ExpertRegionsStayOutOfThePageCache) {
  const std::string path = bundled_gguf();
  {  // the converter just wrote the file: make its pages clean so they can be dropped
    const int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ::fsync(fd);
    ::close(fd);
  }
  auto model = test::load_with_cache(path, "4");
  test::workload_logits(*model, kPrompt);
  const uint8_t* base = model->gguf()->file_data();
  int64_t expert_pages = 0, other_pages = 0;
  for (const GgufTensor& t : model->gguf()->tensors()) {
    const uint64_t begin = static_cast<uint64_t>(t.data - base);
    const int64_t n = resident_pages(base, begin, begin + t.n_bytes);
    ASSERT_GE(n, 0) << "mincore failed";
    (t.name.find("_exps.") != std::string::npos ? expert_pages : other_pages) += n;
  }
  EXPECT_GT(other_pages, 0) << "the non-expert weights are used through the mapping";
  EXPECT_EQ(expert_pages, 0) << "expert pages were read into the page cache";
}

}  // namespace
}  // namespace smoe
