#include "gateway/routing/policies/cache_aware.h"

#include <algorithm>
#include <vector>

namespace tandem::gateway::routing {

Status validate(const CacheAwareConfig& c) {
  if (!(c.cache_threshold >= 0.0 && c.cache_threshold <= 1.0)) {
    return invalid_argument("cache_aware cache_threshold must be in [0, 1], got {}",
                            c.cache_threshold);
  }
  if (c.balance_abs_threshold < 0 || !(c.balance_rel_threshold >= 1.0)) {
    return invalid_argument(
        "cache_aware balance thresholds must be abs >= 0 and rel >= 1, got abs {} rel {}",
        c.balance_abs_threshold, c.balance_rel_threshold);
  }
  if (c.eviction_ttl.count() <= 0 || c.max_tree_tokens == 0) {
    return invalid_argument("cache_aware needs eviction_ttl > 0 s and max_tree_tokens > 0, got {} s "
                            "and {}",
                            c.eviction_ttl.count(), c.max_tree_tokens);
  }
  return Status::Ok();
}

CacheAwarePolicy::CacheAwarePolicy(CacheAwareConfig config, std::function<TimePoint()> clock)
    : config_(config), clock_(std::move(clock)), last_sweep_(clock_()) {}

std::optional<size_t> least_loaded_if_imbalanced(std::span<const WorkerSnapshot> candidates,
                                                 const CacheAwareConfig& config) {
  size_t least = 0;
  int64_t min_load = candidates[0].total_load();
  int64_t max_load = min_load;
  for (size_t i = 1; i < candidates.size(); ++i) {
    const int64_t l = candidates[i].total_load();
    if (l < min_load) {
      min_load = l;
      least = i;
    }
    max_load = std::max(max_load, l);
  }
  const bool imbalanced = max_load - min_load > config.balance_abs_threshold &&
                          static_cast<double>(max_load) >
                              config.balance_rel_threshold * static_cast<double>(min_load);
  return imbalanced ? std::optional<size_t>(least) : std::nullopt;
}

std::shared_ptr<ApproxTree> CacheAwarePolicy::find_tree(std::string_view worker_id) const {
  std::lock_guard lock(mu_);
  auto it = trees_.find(worker_id);
  return it == trees_.end() ? nullptr : it->second;
}

std::optional<size_t> CacheAwarePolicy::select(std::span<const WorkerSnapshot> candidates,
                                               const RouteRequest& request) {
  if (candidates.empty()) return std::nullopt;
  if (auto least = least_loaded_if_imbalanced(candidates, config_)) return least;
  const size_t n = candidates.size();

  std::vector<size_t> matched(n, 0);
  std::vector<size_t> tree_sizes(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (auto tree = find_tree(candidates[i].id())) {
      matched[i] = request.tokens.empty() ? 0 : tree->match(request.tokens);
      tree_sizes[i] = tree->size();
    }
  }
  // Lexicographic pick: the first key decides, load then order break ties.
  size_t best = 0;
  for (size_t i = 1; i < n; ++i) {
    if (matched[i] > matched[best] ||
        (matched[i] == matched[best] && candidates[i].total_load() < candidates[best].total_load())) {
      best = i;
    }
  }
  if (!request.tokens.empty() && matched[best] > 0 &&
      static_cast<double>(matched[best]) >=
          config_.cache_threshold * static_cast<double>(request.tokens.size())) {
    return best;
  }
  size_t smallest = 0;
  for (size_t i = 1; i < n; ++i) {
    if (tree_sizes[i] < tree_sizes[smallest] ||
        (tree_sizes[i] == tree_sizes[smallest] &&
         candidates[i].total_load() < candidates[smallest].total_load())) {
      smallest = i;
    }
  }
  return smallest;
}

void CacheAwarePolicy::on_request_routed(std::string_view worker_id,
                                         std::span<const int32_t> tokens) {
  TimePoint now = clock_();
  std::shared_ptr<ApproxTree> tree;
  std::vector<std::shared_ptr<ApproxTree>> to_sweep;
  {
    std::lock_guard lock(mu_);
    auto it = trees_.find(worker_id);
    if (it == trees_.end()) {
      it = trees_.emplace(std::string(worker_id),
                          std::make_shared<ApproxTree>(config_.max_tree_tokens)).first;
    }
    tree = it->second;
    if (now - last_sweep_ >= config_.eviction_interval) {
      last_sweep_ = now;
      for (auto& [id, t] : trees_) to_sweep.push_back(t);
    }
  }
  // Sweep before inserting so the fresh entry is never a candidate for removal.
  for (auto& t : to_sweep) t->evict_expired(now - config_.eviction_ttl);
  if (!tokens.empty()) tree->insert(tokens, now);
}

void CacheAwarePolicy::on_worker_removed(std::string_view worker_id) {
  std::lock_guard lock(mu_);
  auto it = trees_.find(worker_id);
  if (it != trees_.end()) trees_.erase(it);
}

size_t CacheAwarePolicy::tree_size(std::string_view worker_id) const {
  auto tree = find_tree(worker_id);
  return tree ? tree->size() : 0;
}

void CacheAwarePolicy::evict_expired() {
  TimePoint now = clock_();
  std::vector<std::shared_ptr<ApproxTree>> trees;
  {
    std::lock_guard lock(mu_);
    last_sweep_ = now;
    for (auto& [id, t] : trees_) trees.push_back(t);
  }
  for (auto& t : trees) t->evict_expired(now - config_.eviction_ttl);
}

}  // namespace tandem::gateway::routing
