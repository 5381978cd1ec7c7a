// WorkerClient's private state, shared by its .cc files. Not for use outside gateway/client.
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "gateway/client/worker_client.h"
#include "sglang_scheduler.grpc.pb.h"

namespace tandem::gateway::client {

struct WorkerClient::Impl {
  std::shared_ptr<::grpc::Channel> channel;
  std::unique_ptr<spb::SglangScheduler::Stub> stub;
};

Status from_grpc(const ::grpc::Status& st);

}  // namespace tandem::gateway::client
