#include "worker/service/kv_event_source.h"

#include <algorithm>
#include <chrono>

namespace tandem::service {

uint64_t KvEventSource::subscribe(Sink sink, Overflow overflow) {
  std::lock_guard<std::mutex> lk(mu_);
  const uint64_t id = next_id_++;
  subscribers_.push_back({id, std::move(sink), std::move(overflow)});
  return id;
}

void KvEventSource::unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  std::erase_if(subscribers_, [id](const Subscriber& s) { return s.id == id; });
}

uint64_t KvEventSource::publish(std::vector<KvCacheEventData> events) {
  KvEventBatchData batch;
  batch.events = std::move(events);
  batch.timestamp =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<Subscriber> dropped;
  {
    // Sinks only enqueue, so delivering under the lock keeps batches in sequence order per
    // subscriber without a second queue here.
    std::lock_guard<std::mutex> lk(mu_);
    batch.sequence_number = ++sequence_;
    auto keep_end = std::stable_partition(subscribers_.begin(), subscribers_.end(),
                                          [&](const Subscriber& s) { return s.sink(batch); });
    dropped.assign(std::make_move_iterator(keep_end), std::make_move_iterator(subscribers_.end()));
    subscribers_.erase(keep_end, subscribers_.end());
  }
  for (Subscriber& s : dropped) {
    if (s.overflow) s.overflow(batch.sequence_number);
  }
  return batch.sequence_number;
}

size_t KvEventSource::subscriber_count() const {
  std::lock_guard<std::mutex> lk(mu_);
  return subscribers_.size();
}

uint64_t KvEventSource::last_sequence_number() const {
  std::lock_guard<std::mutex> lk(mu_);
  return sequence_;
}

}  // namespace tandem::service
