#include "scheduler/policies/fcfs_policy.h"

#include <algorithm>

namespace tandem::scheduler {

bool arrives_before(const Request& a, const Request& b) {
  if (a.arrival != b.arrival) return a.arrival < b.arrival;
  return a.id < b.id;
}

void FcfsPolicy::order(std::vector<Request*>& waiting, RadixCache& /*cache*/) {
  std::sort(waiting.begin(), waiting.end(),
            [](const Request* a, const Request* b) { return arrives_before(*a, *b); });
}

}  // namespace tandem::scheduler
