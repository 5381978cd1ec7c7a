// GenerateCall: one Generate RPC, from the converted request to the last GenerateComplete.
//
// PD: a terminal event with a non-OK status (a failed KV transfer) ends the RPC with that status
// and message instead of a GenerateComplete; the engine guarantees nothing was streamed before.
//
// Life of a call: the constructor (a gRPC thread) submits to the engine with a sink that owns a
// shared CallState. The engine thread calls the sink for each step; the sink turns events into
// GenerateResponse messages and pushes them into the WritePump, which writes them one at a time on
// gRPC's threads. When every sample index has delivered its terminal event the pump finishes the
// RPC with OK. If the client goes away (cancel, deadline, broken stream) OnCancel aborts the
// request in the engine so its KV slots are freed; events that still arrive find the pump finished
// and are dropped. The reactor deletes itself in OnDone; only the pump and the CallState (shared
// with the sink) may outlive it.
//
// Thread model: gRPC calls the reactor methods; the sink runs on the engine thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "sglang_scheduler.grpc.pb.h"
#include "worker/service/engine.h"
#include "worker/service/write_pump.h"

namespace tandem::service {

class GenerateCall final : public grpc::ServerWriteReactor<::sglang::grpc::scheduler::GenerateResponse> {
 public:
  using Response = ::sglang::grpc::scheduler::GenerateResponse;

  // Converts and submits `request`; on any error the RPC finishes at once with the matching status.
  // role: the worker's ("mixed", "prefill", "decode"); prefill/decode take only PD requests.
  GenerateCall(grpc::CallbackServerContext* context, const ::sglang::grpc::scheduler::GenerateRequest& request,
               EngineApi& engine, std::string_view role = "mixed");

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override { delete this; }

 private:
  EngineApi& engine_;
  std::string id_;
  std::shared_ptr<WritePump<Response>> pump_;
};

// Engine status code → gRPC status code (same numbering).
grpc::Status to_grpc_status(const Status& status);

}  // namespace tandem::service
