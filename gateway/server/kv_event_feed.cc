#include "gateway/server/kv_event_feed.h"

#include <vector>

#include <spdlog/spdlog.h>

#include "common.pb.h"
#include "gateway/client/worker_client.h"

namespace tandem::gateway::server {

namespace cpb = ::smg::grpc::common;

namespace {

void apply_batch(routing::KvEventIndex& index, const std::string& id, const cpb::KvEventBatch& batch) {
  std::vector<int64_t> hashes;
  for (const cpb::KvCacheEvent& ev : batch.events()) {
    hashes.clear();
    if (ev.has_stored()) {
      int32_t block_size = 0;
      for (const cpb::KvBlock& blk : ev.stored().blocks()) {
        hashes.push_back(blk.block_hash());
        if (blk.block_size() > 0) block_size = blk.block_size();
      }
      index.stored(id, hashes, block_size);
    } else if (ev.has_removed()) {
      hashes.assign(ev.removed().block_hashes().begin(), ev.removed().block_hashes().end());
      index.removed(id, hashes);
    } else if (ev.has_cleared()) {
      index.cleared(id);
    }
  }
  index.note_batch(id, batch.sequence_number());
}

}  // namespace

KvEventFeed::KvEventFeed(std::shared_ptr<routing::KvEventIndex> index) : index_(std::move(index)) {}

KvEventFeed::~KvEventFeed() { stop(); }

void KvEventFeed::ensure(const std::string& id, const std::shared_ptr<client::WorkerClient>& client) {
  std::lock_guard lock(*mu_);
  if (stopped_) return;
  auto it = subs_.find(id);
  if (it != subs_.end() && !*it->second.done) return;
  if (it != subs_.end()) spdlog::info("gateway: KV event stream of worker {} ended; subscribing again", id);
  index_->reset(id);
  auto done = std::make_shared<bool>(false);
  std::weak_ptr<routing::KvEventIndex> weak_index = index_;
  auto on_batch = [weak_index, id](cpb::KvEventBatch&& batch) {
    if (auto index = weak_index.lock()) apply_batch(*index, id, batch);
  };
  auto on_done = [mu = mu_, done, id](Status st) {
    std::lock_guard l(*mu);
    *done = true;
    if (!st.ok() && st.code() != StatusCode::kCancelled) {
      spdlog::warn("gateway: KV event stream of worker {} ended: {}", id, st.to_string());
    }
  };
  Sub sub{client->subscribe_kv_events(0, std::move(on_batch), std::move(on_done)), done};
  subs_[id] = std::move(sub);
}

void KvEventFeed::drop(const std::string& id) {
  std::shared_ptr<client::KvEventStream> stream;
  {
    std::lock_guard lock(*mu_);
    auto it = subs_.find(id);
    if (it == subs_.end()) return;
    stream = std::move(it->second.stream);
    subs_.erase(it);
  }
  if (stream) stream->cancel();
  index_->reset(id);
}

void KvEventFeed::stop() {
  std::map<std::string, Sub> subs;
  {
    std::lock_guard lock(*mu_);
    stopped_ = true;
    subs.swap(subs_);
  }
  for (auto& [id, sub] : subs) {
    if (sub.stream) sub.stream->cancel();
  }
}

}  // namespace tandem::gateway::server
