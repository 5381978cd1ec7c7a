#include "scheduler/radix_cache.h"

#include <algorithm>
#include <limits>
#include <queue>
#include <unordered_set>
#include <utility>

#include "common/check.h"

namespace tandem::scheduler {

bool PageKeyLess::operator()(std::span<const int32_t> a, std::span<const int32_t> b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

namespace {

// Length of the common prefix of a and b, rounded down to whole pages.
int32_t common_pages(std::span<const int32_t> a, std::span<const int32_t> b, int32_t page_size) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return static_cast<int32_t>(i / page_size) * page_size;
}

}  // namespace

RadixCache::RadixCache(int32_t page_size, SlotReleaser release)
    : page_size_(page_size), release_(std::move(release)) {
  CHECK(page_size_ >= 1, "radix cache page_size must be >= 1, got {}", page_size_);
  CHECK(release_ != nullptr, "radix cache needs a slot releaser");
  static const std::string kEmpty;
  empty_root_.extra_key = &kEmpty;
}

RadixCache::~RadixCache() = default;

TreeNode* RadixCache::root_for(std::string_view extra_key, bool create) {
  auto it = roots_.find(extra_key);
  if (it != roots_.end()) return it->second.get();
  if (!create) return &empty_root_;
  auto [pos, inserted] = roots_.emplace(std::string(extra_key), std::make_unique<TreeNode>());
  pos->second->extra_key = &pos->first;
  return pos->second.get();
}

std::string_view RadixCache::namespace_of(const TreeNode* node) const {
  while (node->parent != nullptr) node = node->parent;
  return *node->extra_key;
}

void RadixCache::emit(CacheEvent::Kind kind, const TreeNode* node) {
  if (!sink_) return;
  std::vector<const TreeNode*> path;
  for (const TreeNode* n = node; !n->is_root(); n = n->parent) path.push_back(n);
  std::vector<int32_t> tokens;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    tokens.insert(tokens.end(), (*it)->key.begin(), (*it)->key.end());
  }
  sink_(CacheEvent{kind, namespace_of(node), tokens, static_cast<int32_t>(node->key.size())});
}

MatchResult RadixCache::match_prefix(std::span<const int32_t> tokens, std::string_view extra_key,
                                     bool record_stats) {
  tokens = tokens.first(aligned(tokens.size()));
  MatchResult result;
  TreeNode* node = root_for(extra_key, /*create=*/false);
  const uint64_t now = ++clock_;
  node->last_access = now;
  size_t pos = 0;
  while (pos < tokens.size()) {
    auto it = node->children.find(tokens.subspan(pos, page_size_));
    if (it == node->children.end()) break;
    TreeNode* child = it->second.get();
    // len >= page_size_: the child key's first page equals the looked-up page.
    const int32_t len = common_pages(child->key, tokens.subspan(pos), page_size_);
    const bool partial = len < static_cast<int32_t>(child->key.size());
    if (partial) child = split(child, len);
    child->last_access = now;
    result.slots.insert(result.slots.end(), child->slots.begin(), child->slots.end());
    pos += len;
    node = child;
    if (partial) break;
  }
  result.last_node = node;
  result.matched = static_cast<int32_t>(result.slots.size());
  if (!record_stats) return result;
  stats_.lookups += 1;
  stats_.tokens_queried += static_cast<int64_t>(tokens.size());
  stats_.tokens_matched += result.matched;
  return result;
}

int32_t RadixCache::insert(std::span<const int32_t> tokens, std::span<const int32_t> slots,
                           std::string_view extra_key) {
  CHECK(tokens.size() == slots.size(), "radix insert: {} tokens but {} slots; pass one slot per token",
        tokens.size(), slots.size());
  const size_t n = aligned(tokens.size());
  tokens = tokens.first(n);
  slots = slots.first(n);
  TreeNode* node = root_for(extra_key, /*create=*/true);
  const uint64_t now = ++clock_;
  node->last_access = now;
  size_t pos = 0;
  while (pos < n) {
    auto it = node->children.find(tokens.subspan(pos, page_size_));
    if (it == node->children.end()) break;
    TreeNode* child = it->second.get();
    const int32_t len = common_pages(child->key, tokens.subspan(pos), page_size_);
    if (len < static_cast<int32_t>(child->key.size())) child = split(child, len);
    child->last_access = now;
    pos += len;
    node = child;
  }
  if (pos < n) {
    auto leaf = std::make_unique<TreeNode>();
    leaf->parent = node;
    leaf->key.assign(tokens.begin() + pos, tokens.end());
    leaf->slots.assign(slots.begin() + pos, slots.end());
    leaf->last_access = now;
    leaf->id = next_id_++;
    TreeNode* raw = leaf.get();
    node->children.emplace(std::vector<int32_t>(leaf->key.begin(), leaf->key.begin() + page_size_),
                           std::move(leaf));
    evictable_tokens_ += static_cast<int32_t>(n - pos);
    ++node_count_;
    emit(CacheEvent::Kind::kStored, raw);
  }
  return static_cast<int32_t>(pos);
}

TreeNode* RadixCache::split(TreeNode* child, int32_t len) {
  CHECK(len > 0 && len < static_cast<int32_t>(child->key.size()) && len % page_size_ == 0,
        "radix split at {} of a {}-token node (page {})", len, child->key.size(), page_size_);
  TreeNode* parent = child->parent;
  auto upper = std::make_unique<TreeNode>();
  upper->parent = parent;
  upper->key.assign(child->key.begin(), child->key.begin() + len);
  upper->slots.assign(child->slots.begin(), child->slots.begin() + len);
  upper->lock_ref = child->lock_ref;  // every lock through child also passes through upper
  upper->last_access = child->last_access;
  upper->id = next_id_++;
  // Detach child from parent (its map key is the first page, shared with upper).
  auto it = parent->children.find(std::span<const int32_t>(child->key).first(page_size_));
  CHECK(it != parent->children.end() && it->second.get() == child, "radix split: child not linked");
  std::unique_ptr<TreeNode> owned = std::move(it->second);
  child->key.erase(child->key.begin(), child->key.begin() + len);
  child->slots.erase(child->slots.begin(), child->slots.begin() + len);
  child->parent = upper.get();
  TreeNode* raw = upper.get();
  upper->children.emplace(std::vector<int32_t>(child->key.begin(), child->key.begin() + page_size_),
                          std::move(owned));
  it->second = std::move(upper);  // same first page, so the parent's map key stays valid
  ++node_count_;
  return raw;
}

void RadixCache::inc_lock(TreeNode* node) {
  CHECK(node != nullptr, "radix inc_lock on a null node");
  for (; !node->is_root(); node = node->parent) {
    if (node->lock_ref == 0) {
      const auto n = static_cast<int32_t>(node->key.size());
      evictable_tokens_ -= n;
      locked_tokens_ += n;
    }
    ++node->lock_ref;
  }
}

void RadixCache::dec_lock(TreeNode* node) {
  CHECK(node != nullptr, "radix dec_lock on a null node");
  for (; !node->is_root(); node = node->parent) {
    CHECK(node->lock_ref > 0, "radix dec_lock on node {} that holds no lock", node->id);
    if (--node->lock_ref == 0) {
      const auto n = static_cast<int32_t>(node->key.size());
      evictable_tokens_ += n;
      locked_tokens_ -= n;
    }
  }
}

int32_t RadixCache::remove_leaf(TreeNode* leaf) {
  CHECK(!leaf->is_root() && leaf->children.empty() && leaf->lock_ref == 0,
        "radix remove_leaf on node {}: root={} children={} lock_ref={}", leaf->id, leaf->is_root(),
        leaf->children.size(), leaf->lock_ref);
  emit(CacheEvent::Kind::kRemoved, leaf);
  release_(leaf->slots);
  const auto n = static_cast<int32_t>(leaf->key.size());
  evictable_tokens_ -= n;
  --node_count_;
  TreeNode* parent = leaf->parent;
  auto it = parent->children.find(std::span<const int32_t>(leaf->key).first(page_size_));
  CHECK(it != parent->children.end() && it->second.get() == leaf, "radix remove: leaf not linked");
  parent->children.erase(it);  // destroys leaf
  return n;
}

int32_t RadixCache::evict(int32_t num_tokens) {
  using Entry = std::pair<uint64_t, TreeNode*>;  // (last_access, node), oldest first
  auto later = [](const Entry& a, const Entry& b) {
    return a.first != b.first ? a.first > b.first : a.second->id > b.second->id;
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(later)> heap(later);
  std::vector<TreeNode*> stack;
  for (auto& [name, root] : roots_) stack.push_back(root.get());
  while (!stack.empty()) {
    TreeNode* node = stack.back();
    stack.pop_back();
    if (!node->is_root() && node->children.empty() && node->lock_ref == 0) {
      heap.emplace(node->last_access, node);
    }
    for (auto& [page, child] : node->children) stack.push_back(child.get());
  }
  int32_t released = 0;
  while (released < num_tokens && !heap.empty()) {
    TreeNode* leaf = heap.top().second;
    heap.pop();
    TreeNode* parent = leaf->parent;
    released += remove_leaf(leaf);
    if (!parent->is_root() && parent->children.empty() && parent->lock_ref == 0) {
      heap.emplace(parent->last_access, parent);
    }
  }
  return released;
}

void RadixCache::flush() {
  evict(std::numeric_limits<int32_t>::max());
  if (cached_tokens() == 0 && sink_) {
    sink_(CacheEvent{CacheEvent::Kind::kCleared, {}, {}, 0});
  }
}

void RadixCache::check_invariants() const {
  int32_t evictable = 0, locked = 0, nodes = 0;
  std::unordered_set<int32_t> seen;
  std::vector<const TreeNode*> stack;
  for (const auto& [name, root] : roots_) {
    CHECK(root->key.empty() && root->slots.empty() && root->extra_key == &name,
          "radix root of namespace '{}' holds {} tokens", name, root->key.size());
    stack.push_back(root.get());
  }
  while (!stack.empty()) {
    const TreeNode* node = stack.back();
    stack.pop_back();
    int32_t child_locks = 0;
    for (const auto& [page, child] : node->children) {
      CHECK(child->parent == node, "radix node {} has a wrong parent link", child->id);
      CHECK(child->key.size() >= static_cast<size_t>(page_size_) &&
                std::equal(page.begin(), page.end(), child->key.begin()) &&
                page.size() == static_cast<size_t>(page_size_),
            "radix node {} is filed under a key that is not its first page", child->id);
      child_locks += child->lock_ref;
      stack.push_back(child.get());
    }
    if (node->is_root()) continue;
    ++nodes;
    CHECK(node->key.size() == node->slots.size() && !node->key.empty() &&
              node->key.size() % page_size_ == 0,
          "radix node {}: {} tokens, {} slots, page {}", node->id, node->key.size(),
          node->slots.size(), page_size_);
    CHECK(node->lock_ref >= child_locks && node->lock_ref >= 0,
          "radix node {}: lock_ref {} below its children's {}", node->id, node->lock_ref,
          child_locks);
    (node->lock_ref > 0 ? locked : evictable) += static_cast<int32_t>(node->key.size());
    for (int32_t s : node->slots) {
      CHECK(seen.insert(s).second, "radix slot {} is held twice (second in node {})", s, node->id);
    }
  }
  CHECK(empty_root_.children.empty() && empty_root_.lock_ref == 0, "radix empty root was modified");
  CHECK(evictable == evictable_tokens_ && locked == locked_tokens_ && nodes == node_count_,
        "radix counters: evictable {} vs {}, locked {} vs {}, nodes {} vs {}", evictable,
        evictable_tokens_, locked, locked_tokens_, nodes, node_count_);
}

}  // namespace tandem::scheduler
