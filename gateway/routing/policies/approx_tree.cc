#include "gateway/routing/policies/approx_tree.h"

#include <algorithm>
#include <queue>

#include "common/check.h"

namespace tandem::gateway::routing {

ApproxTree::ApproxTree(size_t max_tokens) : max_tokens_(max_tokens) {
  CHECK(max_tokens_ > 0, "ApproxTree needs max_tokens > 0");
}
ApproxTree::~ApproxTree() = default;

void ApproxTree::insert(std::span<const int32_t> tokens, TimePoint now) {
  std::lock_guard lock(mu_);
  Node* node = &root_;
  node->last_access = now;
  size_t i = 0;
  while (i < tokens.size()) {
    auto it = node->children.find(tokens[i]);
    if (it == node->children.end()) {
      auto leaf = std::make_unique<Node>();
      leaf->parent = node;
      leaf->key.assign(tokens.begin() + static_cast<ptrdiff_t>(i), tokens.end());
      leaf->last_access = now;
      size_ += leaf->key.size();
      node->children.emplace(tokens[i], std::move(leaf));
      break;
    }
    Node* child = it->second.get();
    auto rest = tokens.subspan(i);
    size_t common = 0;
    size_t limit = std::min(child->key.size(), rest.size());
    while (common < limit && child->key[common] == rest[common]) ++common;
    if (common < child->key.size()) {
      // Split the edge: a new middle node takes the shared part, the old child keeps the rest.
      auto mid = std::make_unique<Node>();
      mid->parent = node;
      mid->key.assign(child->key.begin(), child->key.begin() + static_cast<ptrdiff_t>(common));
      mid->last_access = child->last_access;
      std::unique_ptr<Node> old = std::move(it->second);
      old->key.erase(old->key.begin(), old->key.begin() + static_cast<ptrdiff_t>(common));
      old->parent = mid.get();
      int32_t old_first = old->key.front();
      mid->children.emplace(old_first, std::move(old));
      it->second = std::move(mid);
      child = it->second.get();
    }
    child->last_access = now;
    node = child;
    i += common;
  }
  if (size_ > max_tokens_) evict_lru_locked(max_tokens_);
}

size_t ApproxTree::match(std::span<const int32_t> tokens) const {
  std::lock_guard lock(mu_);
  const Node* node = &root_;
  size_t i = 0;
  while (i < tokens.size()) {
    auto it = node->children.find(tokens[i]);
    if (it == node->children.end()) break;
    const Node* child = it->second.get();
    size_t common = 0;
    size_t limit = std::min(child->key.size(), tokens.size() - i);
    while (common < limit && child->key[common] == tokens[i + common]) ++common;
    i += common;
    if (common < child->key.size()) break;
    node = child;
  }
  return i;
}

size_t ApproxTree::evict_expired(TimePoint cutoff) {
  std::lock_guard lock(mu_);
  return evict_expired_locked(&root_, cutoff);
}

size_t ApproxTree::evict_expired_locked(Node* node, TimePoint cutoff) {
  size_t removed = 0;
  for (auto it = node->children.begin(); it != node->children.end();) {
    Node* child = it->second.get();
    removed += evict_expired_locked(child, cutoff);
    if (child->children.empty() && child->last_access < cutoff) {
      removed += child->key.size();
      size_ -= child->key.size();
      it = node->children.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

void ApproxTree::evict_lru_locked(size_t target) {
  using Item = std::pair<TimePoint, Node*>;
  auto later = [](const Item& a, const Item& b) { return a.first > b.first; };
  std::priority_queue<Item, std::vector<Item>, decltype(later)> leaves(later);
  std::vector<Node*> stack{&root_};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& [first, child] : n->children) {
      if (child->children.empty()) {
        leaves.emplace(child->last_access, child.get());
      } else {
        stack.push_back(child.get());
      }
    }
  }
  while (size_ > target && !leaves.empty()) {
    Node* leaf = leaves.top().second;
    leaves.pop();
    Node* parent = leaf->parent;
    size_ -= leaf->key.size();
    parent->children.erase(leaf->key.front());  // destroys leaf
    if (parent != &root_ && parent->children.empty()) {
      leaves.emplace(parent->last_access, parent);
    }
  }
}

size_t ApproxTree::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

}  // namespace tandem::gateway::routing
