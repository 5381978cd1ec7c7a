#include "worker/service/worker_server.h"

#include <mutex>

#include <grpcpp/grpcpp.h>

#include "worker/service/worker_service.h"

namespace tandem::service {

namespace {

class GrpcWorkerServer final : public WorkerServer {
 public:
  GrpcWorkerServer(std::unique_ptr<WorkerService> service, std::unique_ptr<grpc::Server> server, int port)
      : service_(std::move(service)), server_(std::move(server)), port_(port) {}
  ~GrpcWorkerServer() override { shutdown(std::chrono::milliseconds(0)); }

  int port() const override { return port_; }

  void shutdown(std::chrono::milliseconds grace) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (shut_down_) return;
    service_->begin_shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    shut_down_ = true;
  }

  void wait() override { server_->Wait(); }

 private:
  std::unique_ptr<WorkerService> service_;  // outlives server_ (destroyed after it)
  std::unique_ptr<grpc::Server> server_;
  const int port_;
  std::mutex mu_;
  bool shut_down_ = false;  // guarded by mu_
};

}  // namespace

StatusOr<std::unique_ptr<WorkerServer>> start_worker_server(const std::string& host, int port, EngineApi& engine,
                                                            WorkerInfo info, WorkerServerOptions options) {
  auto service = std::make_unique<WorkerService>(engine, std::move(info), options.kv_events, options.kv_queue_capacity);
  const bool v6 = host.find(':') != std::string::npos;
  const std::string address = v6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
  int bound = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(service.get());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // gRPC sets SO_REUSEPORT by default on Linux, which would let a second worker bind the same port
  // and silently split traffic with the first. A taken port must be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound == 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("cannot listen on {}: the port is taken or the host is not a local address; pick "
                              "another --port (0 = any free port) or --host",
                              address));
  }
  return std::unique_ptr<WorkerServer>(new GrpcWorkerServer(std::move(service), std::move(server), bound));
}

}  // namespace tandem::service
