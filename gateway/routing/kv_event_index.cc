#include "gateway/routing/kv_event_index.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace tandem::gateway::routing {

std::vector<int64_t> kv_block_hashes(std::span<const int32_t> tokens, int32_t block_size,
                                     std::string_view extra_key) {
  std::vector<int64_t> out;
  if (block_size < 1) return out;
  const size_t b = static_cast<size_t>(block_size);
  uint64_t h = XXH3_64bits(extra_key.data(), extra_key.size());
  for (size_t start = 0; start + b <= tokens.size(); start += b) {
    h = XXH3_64bits_withSeed(tokens.data() + start, b * sizeof(int32_t), h);
    out.push_back(static_cast<int64_t>(h));
  }
  return out;
}

void KvEventIndex::stored(std::string_view worker_id, std::span<const int64_t> hashes,
                          int32_t block_size) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) it = workers_.emplace(std::string(worker_id), Worker{}).first;
  if (block_size > 0) it->second.block_size = block_size;
  it->second.blocks.insert(hashes.begin(), hashes.end());
}

void KvEventIndex::removed(std::string_view worker_id, std::span<const int64_t> hashes) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  for (int64_t h : hashes) it->second.blocks.erase(h);
}

void KvEventIndex::cleared(std::string_view worker_id) {
  std::lock_guard lock(mu_);
  if (auto it = workers_.find(worker_id); it != workers_.end()) it->second.blocks.clear();
}

void KvEventIndex::note_batch(std::string_view worker_id, uint64_t sequence_number) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) it = workers_.emplace(std::string(worker_id), Worker{}).first;
  ++it->second.batches;
  it->second.last_sequence = sequence_number;
}

void KvEventIndex::reset(std::string_view worker_id) {
  std::lock_guard lock(mu_);
  if (auto it = workers_.find(worker_id); it != workers_.end()) workers_.erase(it);
}

size_t KvEventIndex::matched_tokens(std::string_view worker_id, std::span<const int32_t> tokens) const {
  int32_t block_size = 0;
  {
    std::lock_guard lock(mu_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end() || it->second.block_size <= 0 || it->second.blocks.empty()) return 0;
    block_size = it->second.block_size;
  }
  // Hash outside the lock: a long prompt costs microseconds per block.
  const std::vector<int64_t> hashes = kv_block_hashes(tokens, block_size);
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return 0;
  size_t n = 0;
  while (n < hashes.size() && it->second.blocks.count(hashes[n])) ++n;
  return n * static_cast<size_t>(block_size);
}

KvEventIndex::Stats KvEventIndex::stats(std::string_view worker_id) const {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return {};
  return {it->second.blocks.size(), it->second.batches, it->second.last_sequence};
}

}  // namespace tandem::gateway::routing
