// KvEventFeed: keeps one SubscribeKvEvents stream open per worker and applies its batches to the
// KvEventIndex that cache_aware's kv_events mode routes by.
//
// The health checker calls ensure() for every healthy worker on each round: a worker without a
// live stream gets a new one, and its index entry is reset first (events missed while no stream
// was open would otherwise leave blocks the worker no longer holds). drop() ends a worker's
// stream when it leaves.
//
// Threads: ensure/drop/stop from any thread (one mutex); batches arrive on gRPC threads and go
// straight into the index (which locks itself).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/routing/kv_event_index.h"

namespace tandem::gateway::client {
class WorkerClient;
class KvEventStream;
}  // namespace tandem::gateway::client

namespace tandem::gateway::server {

class KvEventFeed {
 public:
  explicit KvEventFeed(std::shared_ptr<routing::KvEventIndex> index);
  ~KvEventFeed();  // stop()

  void ensure(const std::string& worker_id, const std::shared_ptr<client::WorkerClient>& client);
  void drop(const std::string& worker_id);
  void stop();

 private:
  struct Sub {
    std::shared_ptr<client::KvEventStream> stream;
    std::shared_ptr<bool> done;  // set (under mu_) when the stream ended
  };
  std::shared_ptr<routing::KvEventIndex> index_;
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();  // outlives us in callbacks
  std::map<std::string, Sub> subs_;                                   // guarded by *mu_
  bool stopped_ = false;                                              // guarded by *mu_
};

}  // namespace tandem::gateway::server
