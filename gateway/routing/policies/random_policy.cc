#include "gateway/routing/policies/random_policy.h"

#include "common/check.h"

namespace tandem::gateway::routing {

LockedRng::LockedRng(std::optional<uint64_t> seed)
    : rng_(seed ? *seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {}

size_t LockedRng::below(size_t n) {
  CHECK(n > 0, "LockedRng::below needs n > 0");
  std::lock_guard lock(mu_);
  return std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
}

std::optional<size_t> RandomPolicy::select(std::span<const WorkerSnapshot> candidates,
                                           const RouteRequest& /*request*/) {
  if (candidates.empty()) return std::nullopt;
  return rng_.below(candidates.size());
}

}  // namespace tandem::gateway::routing
