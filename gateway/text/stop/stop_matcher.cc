#include "gateway/text/stop/stop_matcher.h"

#include <algorithm>
#include <limits>

#include "gateway/text/stop/partial_match.h"

namespace tandem::text {

StatusOr<StopMatcher> StopMatcher::create(std::vector<std::string> stops) {
  for (size_t i = 0; i < stops.size(); ++i) {
    if (stops[i].empty()) {
      return invalid_argument("stop string {} of {} is empty; remove it or give at least one character",
                              i, stops.size());
    }
  }
  return StopMatcher(std::move(stops));
}

StopResult StopMatcher::feed(std::string_view delta) {
  if (stopped_) return {};
  held_.append(delta);
  return drain(/*at_end=*/false);
}

StopResult StopMatcher::finish() {
  if (stopped_) return {};
  return drain(/*at_end=*/true);
}

StopResult StopMatcher::drain(bool at_end) {
  constexpr size_t kNone = std::numeric_limits<size_t>::max();
  std::string_view text = held_;

  // Earliest complete match; shortest stop string on a tie.
  size_t match_pos = kNone;
  const std::string* match = nullptr;
  for (const std::string& stop : stops_) {
    size_t pos = text.find(stop);
    if (pos == std::string_view::npos) continue;
    if (pos < match_pos || (pos == match_pos && stop.size() < match->size())) {
      match_pos = pos;
      match = &stop;
    }
  }

  // Earliest position whose tail could still grow into some stop string. Everything before it
  // is safe to emit. If it lies before the complete match, that match is not yet final.
  size_t open_pos = text.size();
  if (!at_end) {
    for (const std::string& stop : stops_) {
      open_pos = std::min(open_pos, text.size() - partial_suffix_len(text, stop));
    }
    // partial_suffix_len gives the longest suffix per stop, which is the earliest start for it.
  }

  StopResult out;
  if (match != nullptr && match_pos <= open_pos) {
    out.emit.assign(text.substr(0, match_pos));
    out.stopped = true;
    out.matched = *match;
    stopped_ = true;
    held_.clear();
    return out;
  }
  size_t safe = match != nullptr ? std::min(open_pos, match_pos) : open_pos;
  out.emit.assign(text.substr(0, safe));
  held_.erase(0, safe);
  return out;
}

}  // namespace tandem::text
