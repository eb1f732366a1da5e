// Stop strings over streamed text. Text arrives in pieces (one token's worth at a time); the
// matcher passes on only what can no longer become part of a stop string, holding back any tail
// that is the start of one, so a client never sees a partial match that later turns out to be
// the stop. The text before a complete match is released and the rest discarded.
#pragma once

#include <string>
#include <vector>

namespace smoe::server {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops = {});

  // Adds generated text; returns the text now safe to emit. After a match, stopped() is true
  // and further input is ignored.
  std::string push(const std::string& text);
  // The generation ended without a match: releases what was held back.
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;  // text that may still be the beginning of a stop string
  bool stopped_ = false;
};

}  // namespace smoe::server
