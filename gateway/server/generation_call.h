// GenerationCall: one Generate RPC to a worker, awaited from the HTTP handler's coroutine. gRPC
// delivers messages on its own threads; they are queued here and the coroutine (on its
// connection's strand) awaits them with next(), so no io thread ever blocks on gRPC.
//
// Threads: next() and cancel() on the handler's strand; the gRPC callbacks on gRPC threads.
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
#include "sglang_scheduler.pb.h"

namespace tandem::gateway::client {
class WorkerClient;
class GenerateStream;
}  // namespace tandem::gateway::client

namespace tandem::gateway::server {

// A response message, or the call's final status (always last).
using CallEvent = std::variant<sglang::grpc::scheduler::GenerateResponse, Status>;

class GenerationCall {
 public:
  explicit GenerationCall(boost::asio::any_io_executor strand);
  ~GenerationCall();

  void start(client::WorkerClient& worker, const sglang::grpc::scheduler::GenerateRequest& request,
             std::chrono::milliseconds deadline);
  // The next message, or the final status once the call is over.
  boost::asio::awaitable<CallEvent> next();
  // Cancels the RPC (the worker aborts the request and frees its KV); next() then yields
  // CANCELLED. Idempotent.
  void cancel();

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<client::GenerateStream> stream_;
};

}  // namespace tandem::gateway::server
