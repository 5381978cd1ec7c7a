// WorkerService: SGLang's SglangScheduler gRPC service over an EngineApi. Generate streams are
// GenerateCall reactors; the management RPCs answer from the engine's thread-safe queries and the
// WorkerInfo given at construction. Built on gRPC's callback API so a stream holds no thread.
//
// Thread model: gRPC calls every method on its callback threads; all are thread-safe. FlushCache
// blocks its callback thread while the engine flushes (and up to timeout_s waiting for idle).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "sglang_scheduler.grpc.pb.h"
#include "worker/service/engine.h"
#include "worker/service/kv_event_source.h"
#include "worker/service/tokenizer_bundle.h"
#include "worker/service/worker_info.h"

namespace tandem::service {

class WorkerService final : public ::sglang::grpc::scheduler::SglangScheduler::CallbackService {
 public:
  static constexpr size_t kTokenizerChunkBytes = 1 << 20;
  static constexpr size_t kDefaultKvQueueCapacity = 1024;

  // kv_events may be null (SubscribeKvEvents then streams nothing until cancelled).
  WorkerService(EngineApi& engine, WorkerInfo info, KvEventSource* kv_events = nullptr,
                size_t kv_queue_capacity = kDefaultKvQueueCapacity);

  // HealthCheck reports unhealthy from now on (graceful shutdown: routers stop sending).
  void begin_shutdown() { shutting_down_ = true; }

  grpc::ServerWriteReactor<::sglang::grpc::scheduler::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const ::sglang::grpc::scheduler::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* HealthCheck(grpc::CallbackServerContext* context,
                                        const ::sglang::grpc::scheduler::HealthCheckRequest* request,
                                        ::sglang::grpc::scheduler::HealthCheckResponse* response) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* context,
                                  const ::sglang::grpc::scheduler::AbortRequest* request,
                                  ::sglang::grpc::scheduler::AbortResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const ::sglang::grpc::scheduler::GetModelInfoRequest* request,
                                         ::sglang::grpc::scheduler::GetModelInfoResponse* response) override;
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const ::sglang::grpc::scheduler::GetServerInfoRequest* request,
                                          ::sglang::grpc::scheduler::GetServerInfoResponse* response) override;
  grpc::ServerUnaryReactor* GetLoads(grpc::CallbackServerContext* context,
                                     const ::sglang::grpc::scheduler::GetLoadsRequest* request,
                                     ::sglang::grpc::scheduler::GetLoadsResponse* response) override;
  grpc::ServerUnaryReactor* FlushCache(grpc::CallbackServerContext* context,
                                       const ::smg::grpc::common::FlushCacheRequest* request,
                                       ::smg::grpc::common::FlushCacheResponse* response) override;
  grpc::ServerWriteReactor<::smg::grpc::common::GetTokenizerChunk>* GetTokenizer(
      grpc::CallbackServerContext* context, const ::smg::grpc::common::GetTokenizerRequest* request) override;
  grpc::ServerWriteReactor<::smg::grpc::common::KvEventBatch>* SubscribeKvEvents(
      grpc::CallbackServerContext* context, const ::smg::grpc::common::SubscribeKvEventsRequest* request) override;

 private:
  // Built on first use and kept: the files do not change while the worker runs.
  StatusOr<std::shared_ptr<const TokenizerBundle>> tokenizer_bundle();

  EngineApi& engine_;
  const WorkerInfo info_;
  KvEventSource* const kv_events_;
  const size_t kv_queue_capacity_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<double> last_receive_timestamp_{0.0};
  std::mutex bundle_mu_;
  std::shared_ptr<const TokenizerBundle> bundle_;  // guarded by bundle_mu_
};

}  // namespace tandem::service
