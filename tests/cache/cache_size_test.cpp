// --expert-cache budgets: sizes with units, slot counts, and the errors for anything else.
#include "cache/cache_size.h"
#include "core/error.h"

#include <gtest/gtest.h>

namespace smoe {
namespace {

TEST(ExpertCacheBudget, SizesWithUnitsAreBinaryBytes) {
  EXPECT_EQ(parse_expert_cache_budget("6G").bytes, uint64_t{6} << 30);
  EXPECT_EQ(parse_expert_cache_budget("512M").bytes, uint64_t{512} << 20);
  EXPECT_EQ(parse_expert_cache_budget("64k").bytes, uint64_t{64} << 10);
  EXPECT_EQ(parse_expert_cache_budget("1.5G").bytes, uint64_t{3} << 29);
  EXPECT_EQ(parse_expert_cache_budget("8GiB").bytes, uint64_t{8} << 30);
  EXPECT_EQ(parse_expert_cache_budget("8GB").bytes, uint64_t{8} << 30);
  EXPECT_EQ(parse_expert_cache_budget("1T").bytes, uint64_t{1} << 40);
  EXPECT_EQ(parse_expert_cache_budget("6G").slots, 0);
}

TEST(ExpertCacheBudget, PlainNumbersAreSlots) {
  EXPECT_EQ(parse_expert_cache_budget("1").slots, 1);
  EXPECT_EQ(parse_expert_cache_budget(" 12 ").slots, 12);
  EXPECT_EQ(parse_expert_cache_budget("12").bytes, 0u);
  EXPECT_EQ(parse_expert_cache_budget("12").describe(), "12 slots");
}

TEST(ExpertCacheBudget, RejectsWhatIsNotASizeOrCount) {
  for (const char* bad : {"", "0", "-1", "G", "abc", "5X", "1.5", "12B", "-2G", "0G", "nanG", "1e9G", "6 G"})
    EXPECT_THROW(parse_expert_cache_budget(bad), Error) << "'" << bad << "'";
}

TEST(ExpertCacheBudget, SlotsForBudget) {
  const uint64_t slot = 3 << 20;
  EXPECT_EQ(slots_for_budget(parse_expert_cache_budget("10M"), slot, 100), 3);
  EXPECT_EQ(slots_for_budget(parse_expert_cache_budget("3M"), slot, 100), 1);
  EXPECT_EQ(slots_for_budget(parse_expert_cache_budget("7"), slot, 100), 7);
  // More than the model has is capped: the extra slots would never be used.
  EXPECT_EQ(slots_for_budget(parse_expert_cache_budget("1G"), slot, 48), 48);
  EXPECT_EQ(slots_for_budget(parse_expert_cache_budget("500"), slot, 48), 48);
}

TEST(ExpertCacheBudget, SmallerThanOneExpertIsAnError) {
  try {
    slots_for_budget(parse_expert_cache_budget("2M"), 3 << 20, 100);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("smaller than one expert"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace smoe
