// SubscribeKvEvents: a ClientReadReactor per subscription, alive (self_) until gRPC's OnDone; the
// caller's handle shares ownership, so cancel() is safe at any time.
#include "common.pb.h"
#include "gateway/client/client_impl.h"

namespace tandem::gateway::client {

namespace {

namespace cpb = ::smg::grpc::common;

class KvEventReader final : public KvEventStream,
                            public ::grpc::ClientReadReactor<cpb::KvEventBatch>,
                            public std::enable_shared_from_this<KvEventReader> {
 public:
  KvEventReader(WorkerClient::OnKvBatch on_batch, WorkerClient::OnDone on_done)
      : on_batch_(std::move(on_batch)), on_done_(std::move(on_done)) {}

  void start(spb::SglangScheduler::Stub* stub, uint64_t start_sequence) {
    self_ = shared_from_this();
    request_.set_start_sequence_number(start_sequence);
    stub->async()->SubscribeKvEvents(&ctx_, &request_, this);
    StartRead(&batch_);
    StartCall();
  }

  void cancel() override { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    on_batch_(std::move(batch_));
    batch_.Clear();
    StartRead(&batch_);
  }

  void OnDone(const ::grpc::Status& st) override {
    on_done_(from_grpc(st));
    std::shared_ptr<KvEventReader> keep = std::move(self_);
  }

 private:
  WorkerClient::OnKvBatch on_batch_;
  WorkerClient::OnDone on_done_;
  ::grpc::ClientContext ctx_;
  cpb::SubscribeKvEventsRequest request_;
  cpb::KvEventBatch batch_;
  std::shared_ptr<KvEventReader> self_;
};

}  // namespace

std::shared_ptr<KvEventStream> WorkerClient::subscribe_kv_events(uint64_t start_sequence,
                                                                 OnKvBatch on_batch, OnDone on_done) {
  auto reader = std::make_shared<KvEventReader>(std::move(on_batch), std::move(on_done));
  reader->start(impl_->stub.get(), start_sequence);
  return reader;
}

}  // namespace tandem::gateway::client
