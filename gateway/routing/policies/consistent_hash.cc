#include "gateway/routing/policies/consistent_hash.h"

#include <algorithm>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace tandem::gateway::routing {

uint64_t ConsistentHashPolicy::hash_key(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

void ConsistentHashPolicy::rebuild_locked(std::span<const WorkerSnapshot> candidates) {
  ring_ids_.clear();
  ring_.clear();
  ring_.reserve(candidates.size() * static_cast<size_t>(config_.virtual_nodes));
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string& id = candidates[i].id();
    ring_ids_.push_back(id);
    for (int v = 0; v < config_.virtual_nodes; ++v) {
      ring_.emplace_back(XXH3_64bits_withSeed(id.data(), id.size(), static_cast<uint64_t>(v)), i);
    }
  }
  // Sorting by (point, index) keeps the order total if two points ever collide.
  std::sort(ring_.begin(), ring_.end());
}

std::optional<size_t> ConsistentHashPolicy::select(std::span<const WorkerSnapshot> candidates,
                                                   const RouteRequest& request) {
  if (candidates.empty()) return std::nullopt;
  if (!request.routing_key || request.routing_key->empty()) {
    return static_cast<size_t>(next_.fetch_add(1, std::memory_order_relaxed) % candidates.size());
  }
  const uint64_t h = hash_key(*request.routing_key);
  std::lock_guard lock(mu_);
  bool same = ring_ids_.size() == candidates.size();
  for (size_t i = 0; same && i < candidates.size(); ++i) same = ring_ids_[i] == candidates[i].id();
  if (!same) rebuild_locked(candidates);
  auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(h, size_t{0}));
  if (it == ring_.end()) it = ring_.begin();
  return it->second;
}

}  // namespace tandem::gateway::routing
