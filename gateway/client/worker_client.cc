// WorkerClient: channel, unary calls and the GetTokenizer collector. Generate lives in
// generate_stream.cc.
#include "gateway/client/worker_client.h"

#include <grpcpp/grpcpp.h>

#include "gateway/client/client_impl.h"
#include "sglang_scheduler.grpc.pb.h"

namespace tandem::gateway::client {

namespace cpb = ::smg::grpc::common;

Status from_grpc(const ::grpc::Status& st) {
  if (st.ok()) return Status::Ok();
  return Status(static_cast<StatusCode>(static_cast<int>(st.error_code())), st.error_message());
}

namespace {

void set_deadline(::grpc::ClientContext& ctx, WorkerClient::Millis timeout) {
  if (timeout.count() > 0) ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

// One unary call: context, request and response live here until the callback ran.
template <typename Req, typename Resp>
struct UnaryCall {
  ::grpc::ClientContext ctx;
  Req req;
  Resp resp;
  std::promise<StatusOr<Resp>> promise;
};

template <typename Req, typename Resp, typename Method>
std::future<StatusOr<Resp>> unary(Req req, WorkerClient::Millis timeout, Method method) {
  auto call = std::make_shared<UnaryCall<Req, Resp>>();
  call->req = std::move(req);
  set_deadline(call->ctx, timeout);
  std::future<StatusOr<Resp>> f = call->promise.get_future();
  method(&call->ctx, &call->req, &call->resp, [call](::grpc::Status st) {
    if (st.ok()) {
      call->promise.set_value(std::move(call->resp));
    } else {
      call->promise.set_value(from_grpc(st));
    }
  });
  return f;
}

// Collects GetTokenizer chunks, then verifies and unzips.
class TokenizerReader final : public ::grpc::ClientReadReactor<cpb::GetTokenizerChunk> {
 public:
  TokenizerReader(spb::SglangScheduler::Stub* stub, WorkerClient::Millis timeout,
                  std::promise<StatusOr<TokenizerFiles>> promise)
      : promise_(std::move(promise)) {
    set_deadline(ctx_, timeout);
    stub->async()->GetTokenizer(&ctx_, &req_, this);
    StartRead(&chunk_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // stream over; OnDone follows
    data_ += chunk_.data();
    if (!chunk_.sha256().empty()) sha_ = chunk_.sha256();
    last_had_sha_ = !chunk_.sha256().empty();
    ++chunks_;
    StartRead(&chunk_);
  }
  void OnDone(const ::grpc::Status& st) override {
    promise_.set_value(finish(st));
    delete this;
  }

 private:
  StatusOr<TokenizerFiles> finish(const ::grpc::Status& st) {
    if (!st.ok()) return from_grpc(st);
    if (chunks_ == 0 || data_.empty()) return data_loss("GetTokenizer returned no data");
    if (!last_had_sha_) return data_loss("GetTokenizer stream ended without the SHA-256 on its last chunk");
    const std::string got = sha256_hex(data_);
    std::string want = sha_;
    for (char& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (got != want) {
      return data_loss("tokenizer bundle fingerprint mismatch: worker sent sha256 {}, received bytes hash to {}",
                       sha_, got);
    }
    ASSIGN_OR_RETURN(std::vector<ArchiveFile> files, read_zip(data_));
    return TokenizerFiles{std::move(files), sha_};
  }

  ::grpc::ClientContext ctx_;
  cpb::GetTokenizerRequest req_;
  cpb::GetTokenizerChunk chunk_;
  std::string data_, sha_;
  bool last_had_sha_ = false;
  size_t chunks_ = 0;
  std::promise<StatusOr<TokenizerFiles>> promise_;
};

}  // namespace

WorkerClient::WorkerClient(std::shared_ptr<::grpc::Channel> channel) : impl_(std::make_unique<Impl>()) {
  impl_->channel = std::move(channel);
  impl_->stub = spb::SglangScheduler::NewStub(impl_->channel);
}

WorkerClient::~WorkerClient() = default;

std::unique_ptr<WorkerClient> WorkerClient::connect(const std::string& url) {
  // Workers are named like SMG names them ("grpc://host:port"); gRPC's own target syntax has no
  // grpc scheme (it would try to resolve "grpc://host:port" as a DNS name).
  std::string target = url;
  if (target.rfind("grpc://", 0) == 0) target.erase(0, 7);
  ::grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return std::make_unique<WorkerClient>(
      ::grpc::CreateCustomChannel(target, ::grpc::InsecureChannelCredentials(), args));
}

std::future<StatusOr<spb::HealthCheckResponse>> WorkerClient::health_check(Millis timeout) {
  auto* stub = impl_->stub.get();
  return unary<spb::HealthCheckRequest, spb::HealthCheckResponse>(
      {}, timeout, [stub](auto* c, auto* q, auto* r, auto cb) { stub->async()->HealthCheck(c, q, r, std::move(cb)); });
}

std::future<StatusOr<spb::GetLoadsResponse>> WorkerClient::get_loads(std::vector<std::string> include, Millis timeout) {
  spb::GetLoadsRequest req;
  for (std::string& s : include) req.add_include(std::move(s));
  auto* stub = impl_->stub.get();
  return unary<spb::GetLoadsRequest, spb::GetLoadsResponse>(
      std::move(req), timeout,
      [stub](auto* c, auto* q, auto* r, auto cb) { stub->async()->GetLoads(c, q, r, std::move(cb)); });
}

std::future<StatusOr<spb::GetModelInfoResponse>> WorkerClient::get_model_info(Millis timeout) {
  auto* stub = impl_->stub.get();
  return unary<spb::GetModelInfoRequest, spb::GetModelInfoResponse>(
      {}, timeout, [stub](auto* c, auto* q, auto* r, auto cb) { stub->async()->GetModelInfo(c, q, r, std::move(cb)); });
}

std::future<StatusOr<spb::GetServerInfoResponse>> WorkerClient::get_server_info(Millis timeout) {
  auto* stub = impl_->stub.get();
  return unary<spb::GetServerInfoRequest, spb::GetServerInfoResponse>(
      {}, timeout,
      [stub](auto* c, auto* q, auto* r, auto cb) { stub->async()->GetServerInfo(c, q, r, std::move(cb)); });
}

std::future<StatusOr<cpb::FlushCacheResponse>> WorkerClient::flush_cache(float wait_idle_s, Millis timeout) {
  cpb::FlushCacheRequest req;
  req.set_timeout_s(wait_idle_s);
  auto* stub = impl_->stub.get();
  return unary<cpb::FlushCacheRequest, cpb::FlushCacheResponse>(
      std::move(req), timeout,
      [stub](auto* c, auto* q, auto* r, auto cb) { stub->async()->FlushCache(c, q, r, std::move(cb)); });
}

std::future<StatusOr<spb::AbortResponse>> WorkerClient::abort(const std::string& request_id, const std::string& reason,
                                                              Millis timeout) {
  spb::AbortRequest req;
  req.set_request_id(request_id);
  req.set_reason(reason);
  auto* stub = impl_->stub.get();
  return unary<spb::AbortRequest, spb::AbortResponse>(
      std::move(req), timeout, [stub](auto* c, auto* q, auto* r, auto cb) { stub->async()->Abort(c, q, r, std::move(cb)); });
}

std::future<StatusOr<TokenizerFiles>> WorkerClient::get_tokenizer(Millis timeout) {
  std::promise<StatusOr<TokenizerFiles>> promise;
  auto f = promise.get_future();
  new TokenizerReader(impl_->stub.get(), timeout, std::move(promise));  // deletes itself in OnDone
  return f;
}

}  // namespace tandem::gateway::client
