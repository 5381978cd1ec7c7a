// GenerationCall: one Generate RPC to a worker, awaited from the HTTP handler's coroutine. gRPC
// delivers messages on its own threads; they are queued in a CallEvents queue and the coroutine
// (on its connection's strand) awaits them with next(), so no io thread ever blocks on gRPC.
// Several calls may share one queue (a completions request with several prompts runs one call
// per prompt at once); each event carries the tag its call was started with.
//
// Prefill/decode pairs (a Pick with a prefill side): the same request, with the pair's
// disaggregated_params {prefill bootstrap host, port, room}, goes to the decode worker and then
// the prefill worker. The queue gets the decode stream (the client's stream: its first chunk
// carries the first token). The prefill stream only matters when it fails: before the decode side
// delivered anything, the failure ends the call (UNAVAILABLE, retryable; prefill_failed() is true)
// and the decode call is cancelled so its KV reservation is freed; after that it is ignored (the
// decode side holds the KV already and reports its own transfer failures). A decode stream that
// ends with UNAVAILABLE "kv transfer failed: ..." before any message also counts as the prefill
// side's failure (for the breakers: the decode worker saw its peer go silent or fail). cancel()
// and the destructor cancel both streams.
//
// Threads: CallEvents::next() and GenerationCall::cancel() on the handler's strand; push() and the
// gRPC callbacks on gRPC threads.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/status.h"
#include "gateway/server/worker_pool.h"
#include "sglang_scheduler.pb.h"

namespace tandem::gateway::client {
class WorkerClient;
class GenerateStream;
}  // namespace tandem::gateway::client

namespace tandem::gateway::server {

// A response message, or the call's final status (always a call's last event).
using CallEvent = std::variant<sglang::grpc::scheduler::GenerateResponse, Status>;

struct TaggedEvent {
  int tag = 0;
  CallEvent event;
};

class CallEvents {
 public:
  explicit CallEvents(boost::asio::any_io_executor strand);
  // The next event of any call on this queue, in arrival order.
  boost::asio::awaitable<TaggedEvent> next();
  void push(TaggedEvent ev);  // any thread

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;  // gRPC callbacks hold it weakly
  friend class GenerationCall;
};

class GenerationCall {
 public:
  GenerationCall(CallEvents& events, int tag);
  ~GenerationCall();

  void start(client::WorkerClient& worker, const sglang::grpc::scheduler::GenerateRequest& request,
             std::chrono::milliseconds deadline);
  // One worker, or both workers of a PD pair (see above).
  void start(const WorkerPool::Pick& pick, const sglang::grpc::scheduler::GenerateRequest& request,
             std::chrono::milliseconds deadline);
  // The call ended because its prefill worker failed (PD only). Read after its final status.
  bool prefill_failed() const;
  // Cancels the RPC (the worker aborts the request and frees its KV); the queue then gets
  // CANCELLED as this call's final status. Idempotent.
  void cancel();
  int tag() const { return tag_; }

 private:
  struct PdState;
  std::weak_ptr<CallEvents::Shared> events_;
  int tag_;
  std::shared_ptr<PdState> pd_;
  std::shared_ptr<client::GenerateStream> stream_;
  std::shared_ptr<client::GenerateStream> prefill_stream_;
};

}  // namespace tandem::gateway::server
