// The API key comparison: equal only for the same bytes and length, whatever the contents.
#include "server/api_key.h"

#include <gtest/gtest.h>

#include <string>

namespace smoe::server {
namespace {

TEST(ApiKey, ConstantTimeEqualIsEquality) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("sesame", "sesame"));
  EXPECT_FALSE(constant_time_equal("sesame", "sesamE"));
  EXPECT_FALSE(constant_time_equal("sesame", "sesam"));
  EXPECT_FALSE(constant_time_equal("sesam", "sesame"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  // A prefix padded with NULs is not the key (the shorter side reads as zeros past its end).
  EXPECT_FALSE(constant_time_equal(std::string("ab\0", 3), "ab"));
}

TEST(ApiKey, AuthorizationHeader) {
  EXPECT_TRUE(authorization_matches("Bearer sesame", "sesame"));
  EXPECT_FALSE(authorization_matches("Bearer sesame2", "sesame"));
  EXPECT_FALSE(authorization_matches("Basic sesame", "sesame"));
  EXPECT_FALSE(authorization_matches("sesame", "sesame"));
  EXPECT_FALSE(authorization_matches("", "sesame"));
  EXPECT_FALSE(authorization_matches("Bearer ", "sesame"));
}

}  // namespace
}  // namespace smoe::server
