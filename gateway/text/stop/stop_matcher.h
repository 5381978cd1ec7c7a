// StopMatcher: applies OpenAI `stop` strings to a stream of decoded text deltas.
//
// Text that can no longer be part of a stop string is emitted at once; the longest tail that is a
// proper prefix of some stop string is held back until the next delta decides it. On a match only
// the text before the match is emitted (the stop string itself is not, as in OpenAI) and every
// later feed emits nothing. The result does not depend on how the text was chunked:
//  - the match that starts earliest in the whole text wins, so a complete match is not acted on
//    while a stop string that starts earlier could still be completed by later input;
//  - among stop strings matching at the same position the shortest wins (it completes first).
// Matching is on bytes; stop strings and deltas are UTF-8, so a held tail starts on a character
// boundary whenever the deltas end on one.
//
// Thread model: one request's object, called by one thread at a time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tandem::text {

struct StopResult {
  std::string emit;     // text to send to the client now
  bool stopped = false;  // a stop string matched: the stream is over
  std::string matched;   // the stop string that matched (empty unless stopped)
};

class StopMatcher {
 public:
  // Fails on an empty stop string (it would match before any text). Any number of stops; none
  // is allowed and makes the matcher a pass-through.
  static StatusOr<StopMatcher> create(std::vector<std::string> stops);

  StopResult feed(std::string_view delta);
  // End of stream: a match still pending (one waiting on a possibly earlier match) is taken,
  // otherwise the held-back tail is emitted.
  StopResult finish();

  bool stopped() const { return stopped_; }

 private:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  StopResult drain(bool at_end);

  std::vector<std::string> stops_;
  std::string held_;  // text not yet emitted
  bool stopped_ = false;
};

}  // namespace tandem::text
