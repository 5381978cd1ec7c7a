// "lpm": longest prefix match first. Each waiting request is matched against the radix cache
// (within its extra_key namespace); requests that reuse the most cached tokens go first, so cached
// prefixes are consumed while they are still resident. Ties by arrival, then id.
//
// Fallback (as SGLang does): when more than fallback_queue_len requests wait, matching every one
// of them each step costs more than the cache hits save, so the policy orders by arrival (fcfs)
// instead and leaves the requests' prefix-match fields untouched. SGLang's threshold is 128.
//
// Thread model: engine thread only.
#pragma once

#include <cstddef>

#include "scheduler/policies/policy.h"

namespace tandem::scheduler {

inline constexpr size_t kLpmFallbackQueueLen = 128;

class LpmPolicy final : public SchedulePolicy {
 public:
  explicit LpmPolicy(size_t fallback_queue_len = kLpmFallbackQueueLen)
      : fallback_queue_len_(fallback_queue_len) {}
  std::string_view name() const override { return "lpm"; }
  // Fills matched_prefix_len, last_node and prefix_slots of every request (unless falling back).
  void order(std::vector<Request*>& waiting, RadixCache& cache) override;
  size_t fallback_queue_len() const { return fallback_queue_len_; }

 private:
  size_t fallback_queue_len_;
};

}  // namespace tandem::scheduler
