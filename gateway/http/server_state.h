// ServerState: what the server and its connections share: config, routes, the shutting-down
// flag, and the registry of live connections and running handlers that graceful shutdown waits
// on. Internal to gateway/http. Owned by shared_ptr so a connection's coroutine frame may
// outlive the HttpServer object by the few instructions it takes to finish.
//
// Threads: thread-safe (mutex-guarded registry, atomic flag); config and router are read-only
// once the server has started.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "gateway/http/router.h"
#include "gateway/http/server_config.h"

namespace tandem::gateway::http {

class Connection;

struct ServerState {
  ServerConfig config;
  Router router;
  std::atomic<bool> shutting_down{false};

  std::mutex mu;
  std::condition_variable cv;  // signalled whenever a count below drops
  std::map<uint64_t, std::weak_ptr<Connection>> connections;  // guarded by mu
  int active_handlers = 0;                                     // guarded by mu
  bool accepting = false;                                      // guarded by mu
  uint64_t next_connection_id = 1;                             // guarded by mu

  uint64_t add_connection(const std::shared_ptr<Connection>& c) {
    std::lock_guard lock(mu);
    uint64_t id = next_connection_id++;
    connections[id] = c;
    return id;
  }
  void remove_connection(uint64_t id) {
    std::lock_guard lock(mu);
    connections.erase(id);
    cv.notify_all();
  }
  void handler_started() {
    std::lock_guard lock(mu);
    ++active_handlers;
  }
  void handler_finished() {
    std::lock_guard lock(mu);
    --active_handlers;
    cv.notify_all();
  }
};

}  // namespace tandem::gateway::http
