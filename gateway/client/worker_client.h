// WorkerClient: the gateway's asynchronous client for one worker's SglangScheduler service.
//
// Nothing here blocks an I/O thread. generate() delivers each GenerateResponse to a callback on a
// gRPC thread, then the final status; the gateway's callback posts the message onto its own
// executor (an Asio strand) and returns at once. Unary calls return std::future, or take a
// callback. No gRPC headers here (pimpl); proto messages are forward-declared, so callers that
// touch them include "sglang_scheduler.pb.h" (from tandem_proto).
//
// Thread model: every method is thread-safe. Callbacks run on gRPC threads and must not block.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/client/tokenizer_archive.h"

namespace grpc {
class Channel;
}
namespace sglang::grpc::scheduler {
class GenerateRequest;
class GenerateResponse;
class HealthCheckResponse;
class GetLoadsResponse;
class GetModelInfoResponse;
class GetServerInfoResponse;
class AbortResponse;
}  // namespace sglang::grpc::scheduler
namespace smg::grpc::common {
class FlushCacheResponse;
class KvEventBatch;
}

namespace tandem::gateway::client {

namespace spb = ::sglang::grpc::scheduler;

// One Generate call in flight. Dropping the handle does not cancel; cancel() does (the worker
// then aborts the request and frees its KV slots).
class GenerateStream {
 public:
  virtual ~GenerateStream() = default;
  virtual void cancel() = 0;
};

// One SubscribeKvEvents stream. cancel() ends it (on_done then gets CANCELLED).
class KvEventStream {
 public:
  virtual ~KvEventStream() = default;
  virtual void cancel() = 0;
};

// The tokenizer files a worker serves (GetTokenizer), checked against the streamed SHA-256.
struct TokenizerFiles {
  std::vector<ArchiveFile> files;
  std::string sha256;
};

class WorkerClient {
 public:
  using Millis = std::chrono::milliseconds;
  using OnMessage = std::function<void(spb::GenerateResponse&&)>;
  using OnDone = std::function<void(Status)>;  // OK, or the gRPC status mapped to a Status

  static constexpr Millis kDefaultUnaryTimeout{10'000};

  explicit WorkerClient(std::shared_ptr<::grpc::Channel> channel);
  // An insecure channel to "host:port" or "grpc://host:port".
  static std::unique_ptr<WorkerClient> connect(const std::string& url);
  ~WorkerClient();
  WorkerClient(const WorkerClient&) = delete;
  WorkerClient& operator=(const WorkerClient&) = delete;

  // Starts the call. on_message runs for each response in order, then on_done exactly once (also
  // after cancel(): CANCELLED). deadline 0: none.
  std::shared_ptr<GenerateStream> generate(const spb::GenerateRequest& request, OnMessage on_message,
                                           OnDone on_done, Millis deadline = Millis(0));

  // SubscribeKvEvents from `start_sequence` (0: from now on): on_batch per batch on a gRPC thread,
  // then on_done exactly once. No deadline: the stream lives until cancelled or the worker goes.
  using OnKvBatch = std::function<void(::smg::grpc::common::KvEventBatch&&)>;
  std::shared_ptr<KvEventStream> subscribe_kv_events(uint64_t start_sequence, OnKvBatch on_batch,
                                                     OnDone on_done);

  std::future<StatusOr<spb::HealthCheckResponse>> health_check(Millis timeout = kDefaultUnaryTimeout);
  // include: sections as in SGLang ("core", "memory", "queues", "all").
  std::future<StatusOr<spb::GetLoadsResponse>> get_loads(std::vector<std::string> include = {},
                                                         Millis timeout = kDefaultUnaryTimeout);
  std::future<StatusOr<spb::GetModelInfoResponse>> get_model_info(Millis timeout = kDefaultUnaryTimeout);
  std::future<StatusOr<spb::GetServerInfoResponse>> get_server_info(Millis timeout = kDefaultUnaryTimeout);
  std::future<StatusOr<::smg::grpc::common::FlushCacheResponse>> flush_cache(float wait_idle_s = 0.0f,
                                                                            Millis timeout = kDefaultUnaryTimeout);
  std::future<StatusOr<spb::AbortResponse>> abort(const std::string& request_id, const std::string& reason = "",
                                                  Millis timeout = kDefaultUnaryTimeout);
  // Streams, reassembles, checks the SHA-256 and unzips the tokenizer bundle.
  std::future<StatusOr<TokenizerFiles>> get_tokenizer(Millis timeout = Millis(60'000));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::gateway::client
