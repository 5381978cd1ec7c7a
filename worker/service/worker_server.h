// The worker's gRPC server: WorkerService on host:port. No gRPC headers here (pimpl), so the CLI and
// tests include this without the generated code.
//
// Thread model: start_worker_server on any thread; port() anytime; shutdown() and wait() from one
// controlling thread (wait() may block in another thread while shutdown() is called).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "worker/service/engine.h"
#include "worker/service/kv_event_source.h"
#include "worker/service/worker_info.h"

namespace tandem::service {

struct WorkerServerOptions {
  KvEventSource* kv_events = nullptr;  // radix-cache events for SubscribeKvEvents (may be null)
  size_t kv_queue_capacity = 1024;     // batches queued per KV subscriber before it is dropped
  int max_message_bytes = 64 << 20;    // largest request / response (long prompts, logprobs)
};

class WorkerServer {
 public:
  virtual ~WorkerServer() = default;
  virtual int port() const = 0;  // the bound port (the ephemeral one when started with 0)
  // Health turns unhealthy, no new calls are accepted, calls still running get `grace` to finish;
  // then they are cancelled (their engine requests aborted). Idempotent.
  virtual void shutdown(std::chrono::milliseconds grace) = 0;
  // Blocks until shutdown() completed.
  virtual void wait() = 0;
};

// port 0 picks a free port. UNAVAILABLE naming host:port when it cannot bind. The engine must
// outlive the server.
StatusOr<std::unique_ptr<WorkerServer>> start_worker_server(const std::string& host, int port, EngineApi& engine,
                                                            WorkerInfo info, WorkerServerOptions options = {});

}  // namespace tandem::service
