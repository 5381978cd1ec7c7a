#include "scheduler/policies/priority_policy.h"

#include <algorithm>

namespace tandem::scheduler {

void PriorityPolicy::order(std::vector<Request*>& waiting, RadixCache& /*cache*/) {
  std::sort(waiting.begin(), waiting.end(), [](const Request* a, const Request* b) {
    if (a->priority != b->priority) return a->priority > b->priority;
    return arrives_before(*a, *b);
  });
}

std::vector<Request*> preemption_candidates(std::span<Request* const> running,
                                            const Request& incoming, int32_t threshold) {
  std::vector<Request*> out;
  for (Request* request : running) {
    // int64_t: priorities may be anywhere in int32_t range; the difference must not overflow.
    if (static_cast<int64_t>(incoming.priority) - request->priority > threshold) {
      out.push_back(request);
    }
  }
  std::sort(out.begin(), out.end(), [](const Request* a, const Request* b) {
    if (a->priority != b->priority) return a->priority < b->priority;
    return arrives_before(*b, *a);  // newest first
  });
  return out;
}

}  // namespace tandem::scheduler
