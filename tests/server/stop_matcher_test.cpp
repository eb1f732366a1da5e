// Stop strings: matches across pieces, no partial match ever released, text after a stop dropped.
#include "server/stop_matcher.h"

#include <gtest/gtest.h>

namespace smoe::server {
namespace {

// Feeds pieces one by one; returns everything emitted (and finish() unless stopped).
std::string run(StopMatcher& m, const std::vector<std::string>& pieces, std::vector<std::string>* emitted = nullptr) {
  std::string out;
  for (const auto& p : pieces) {
    std::string e = m.push(p);
    if (emitted) emitted->push_back(e);
    out += e;
  }
  return out + m.finish();
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  StopMatcher m;
  std::vector<std::string> emitted;
  EXPECT_EQ(run(m, {"Hello", " wor", "ld"}, &emitted), "Hello world");
  EXPECT_EQ(emitted, (std::vector<std::string>{"Hello", " wor", "ld"}));
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, StopInsideOnePiece) {
  StopMatcher m({"END"});
  EXPECT_EQ(run(m, {"abcENDdef", "more"}), "abc");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, StopSplitAcrossPiecesIsNeverPartlyEmitted) {
  StopMatcher m({"\n\nUser:"});
  std::vector<std::string> emitted;
  EXPECT_EQ(run(m, {"Sure.", "\n", "\nUs", "er:", " hi"}, &emitted), "Sure.");
  EXPECT_EQ(emitted, (std::vector<std::string>{"Sure.", "", "", "", ""}));
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, HeldBackTextIsReleasedWhenTheMatchFails) {
  StopMatcher m({"STOP"});
  std::vector<std::string> emitted;
  EXPECT_EQ(run(m, {"a ST", "OR", "Y"}, &emitted), "a STORY");
  EXPECT_EQ(emitted[0], "a ");  // "ST" could begin STOP
  EXPECT_EQ(emitted[1], "STOR");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, HeldBackTailIsReleasedAtTheEnd) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(run(m, {"the end ST"}), "the end ST");
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"world", "lo w"});
  EXPECT_EQ(run(m, {"hello world"}), "hel");
}

TEST(StopMatcher, LongestPossiblePrefixIsHeld) {
  // "aab" could still become "aaba" (stop "aaba") and "ab" could become "abc".
  StopMatcher m({"aaba", "abc"});
  EXPECT_EQ(m.push("xaab"), "x");
  EXPECT_EQ(m.push("c"), "a");  // "aabc": "abc" matched after "a"
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) {
  StopMatcher m({""});
  EXPECT_EQ(run(m, {"abc"}), "abc");
}

}  // namespace
}  // namespace smoe::server
