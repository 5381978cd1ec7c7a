// Generate: a ClientReadReactor per call. It keeps itself alive (self_) until gRPC's OnDone, and the
// caller's handle shares ownership, so cancel() is safe before, during and after the call.
#include <mutex>

#include "gateway/client/client_impl.h"

namespace tandem::gateway::client {

namespace {

class GenerateReader final : public GenerateStream,
                             public ::grpc::ClientReadReactor<spb::GenerateResponse>,
                             public std::enable_shared_from_this<GenerateReader> {
 public:
  GenerateReader(WorkerClient::OnMessage on_message, WorkerClient::OnDone on_done)
      : on_message_(std::move(on_message)), on_done_(std::move(on_done)) {}

  void start(spb::SglangScheduler::Stub* stub, const spb::GenerateRequest& request, WorkerClient::Millis deadline) {
    self_ = shared_from_this();
    request_ = request;
    if (deadline.count() > 0) ctx_.set_deadline(std::chrono::system_clock::now() + deadline);
    stub->async()->Generate(&ctx_, &request_, this);
    StartRead(&response_);
    StartCall();
  }

  void cancel() override { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // no more messages; OnDone follows
    on_message_(std::move(response_));
    response_.Clear();
    StartRead(&response_);
  }

  void OnDone(const ::grpc::Status& st) override {
    on_done_(from_grpc(st));
    // Last use of this object by gRPC; the caller's handle may still hold it.
    std::shared_ptr<GenerateReader> keep = std::move(self_);
  }

 private:
  WorkerClient::OnMessage on_message_;
  WorkerClient::OnDone on_done_;
  ::grpc::ClientContext ctx_;
  spb::GenerateRequest request_;
  spb::GenerateResponse response_;
  std::shared_ptr<GenerateReader> self_;  // set while gRPC may call back
};

}  // namespace

std::shared_ptr<GenerateStream> WorkerClient::generate(const spb::GenerateRequest& request, OnMessage on_message,
                                                       OnDone on_done, Millis deadline) {
  auto reader = std::make_shared<GenerateReader>(std::move(on_message), std::move(on_done));
  reader->start(impl_->stub.get(), request, deadline);
  return reader;
}

}  // namespace tandem::gateway::client
