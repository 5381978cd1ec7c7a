#include "scheduler/policies/lpm_policy.h"

#include <algorithm>

#include "scheduler/radix_cache.h"

namespace tandem::scheduler {

void LpmPolicy::order(std::vector<Request*>& waiting, RadixCache& cache) {
  auto by_arrival = [](const Request* a, const Request* b) { return arrives_before(*a, *b); };
  if (waiting.size() > fallback_queue_len_) {
    std::sort(waiting.begin(), waiting.end(), by_arrival);
    return;
  }
  for (Request* request : waiting) {
    MatchResult match = cache.match_prefix(request->prompt, request->extra_key,
                                            /*record_stats=*/false);
    request->matched_prefix_len = match.matched;
    request->last_node = match.last_node;
    request->prefix_slots = std::move(match.slots);
  }
  std::sort(waiting.begin(), waiting.end(), [&](const Request* a, const Request* b) {
    if (a->matched_prefix_len != b->matched_prefix_len) {
      return a->matched_prefix_len > b->matched_prefix_len;
    }
    return by_arrival(a, b);
  });
}

}  // namespace tandem::scheduler
