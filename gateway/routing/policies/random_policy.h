// random: a uniformly random candidate. Seedable so tests and benchmarks are reproducible.
// Thread-safe (the generator is mutex-guarded).
#pragma once

#include <mutex>
#include <random>

#include "gateway/routing/policies/routing_policy.h"

namespace tandem::gateway::routing {

// Shared by random and power_of_two: a seeded generator behind a lock.
class LockedRng {
 public:
  explicit LockedRng(std::optional<uint64_t> seed);
  // Uniform in [0, n); n > 0.
  size_t below(size_t n);

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

class RandomPolicy final : public RoutingPolicy {
 public:
  explicit RandomPolicy(std::optional<uint64_t> seed) : rng_(seed) {}
  std::string_view name() const override { return "random"; }
  std::optional<size_t> select(std::span<const WorkerSnapshot> candidates,
                               const RouteRequest& request) override;

 private:
  LockedRng rng_;
};

}  // namespace tandem::gateway::routing
