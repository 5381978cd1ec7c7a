#include "gateway/server/generation_call.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/client/worker_client.h"

namespace tandem::gateway::server {

namespace asio = boost::asio;

struct GenerationCall::Shared {
  explicit Shared(asio::any_io_executor ex) : strand(ex), timer(ex) {
    timer.expires_at(asio::steady_timer::time_point::max());
  }
  asio::any_io_executor strand;
  asio::steady_timer timer;  // touched only on the strand; a "wake up" is a cancel()
  std::mutex mu;
  std::deque<CallEvent> events;  // guarded by mu
  // PD: the decode side's stream and what happened so far (all guarded by mu).
  std::shared_ptr<client::GenerateStream> decode_stream;
  bool decode_started = false;  // the decode stream delivered a message
  bool prefill_failed = false;
  bool cancelled = false;       // cancel() ran: stream failures after it are ours

  void push(CallEvent ev, const std::shared_ptr<Shared>& self) {
    {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(std::move(ev));
    }
    asio::post(strand, [self] { self->timer.cancel(); });
  }
};

GenerationCall::GenerationCall(asio::any_io_executor strand)
    : shared_(std::make_shared<Shared>(std::move(strand))) {}

GenerationCall::~GenerationCall() { cancel(); }

void GenerationCall::start(client::WorkerClient& worker,
                           const sglang::grpc::scheduler::GenerateRequest& request,
                           std::chrono::milliseconds deadline) {
  std::weak_ptr<Shared> weak = shared_;
  auto on_message = [weak](sglang::grpc::scheduler::GenerateResponse&& msg) {
    if (auto s = weak.lock()) s->push(std::move(msg), s);
  };
  auto on_done = [weak](Status st) {
    if (auto s = weak.lock()) s->push(std::move(st), s);
  };
  stream_ = worker.generate(request, std::move(on_message), std::move(on_done), deadline);
}

void GenerationCall::start(const WorkerPool::Pick& pick,
                           const sglang::grpc::scheduler::GenerateRequest& request,
                           std::chrono::milliseconds deadline) {
  if (!pick.prefill) {
    start(*pick.client, request, deadline);
    return;
  }
  sglang::grpc::scheduler::GenerateRequest pd_request = request;
  auto* dp = pd_request.mutable_disaggregated_params();
  dp->set_bootstrap_host(pick.prefill->bootstrap_host);
  dp->set_bootstrap_port(pick.prefill->bootstrap_port);
  dp->set_bootstrap_room(pick.room.room());

  std::weak_ptr<Shared> weak = shared_;
  auto on_decode_message = [weak](sglang::grpc::scheduler::GenerateResponse&& msg) {
    auto s = weak.lock();
    if (!s) return;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      s->decode_started = true;
    }
    s->push(std::move(msg), s);
  };
  auto on_decode_done = [weak](Status st) {
    auto s = weak.lock();
    if (!s) return;
    // The decode worker reports a broken transfer as UNAVAILABLE "kv transfer failed: ..." (its
    // prefill peer went silent, failed or timed out): the prefill side is charged for it.
    if (st.code() == StatusCode::kUnavailable && st.message().rfind("kv transfer failed", 0) == 0) {
      std::lock_guard<std::mutex> lock(s->mu);
      if (!s->decode_started) s->prefill_failed = true;
    }
    s->push(std::move(st), s);
  };
  // Decode first: it reserves KV slots and registers with the prefill worker's bootstrap server.
  stream_ = pick.client->generate(pd_request, std::move(on_decode_message), std::move(on_decode_done),
                                  deadline);
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->decode_stream = stream_;
  }
  auto on_prefill_message = [](sglang::grpc::scheduler::GenerateResponse&&) {
    // One Complete carrying the first token once decode acknowledged the KV; decode streams it.
  };
  auto on_prefill_done = [weak, id = pick.prefill->id](Status st) {
    auto s = weak.lock();
    if (!s || st.ok()) return;
    std::shared_ptr<client::GenerateStream> decode;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      if (s->cancelled || s->decode_started) return;  // ours, or too late to matter
      s->prefill_failed = true;
      decode = s->decode_stream;
    }
    s->push(make_status(StatusCode::kUnavailable, "prefill worker {} failed before the first token: {}",
                        id, st.to_string()),
            s);
    if (decode) decode->cancel();  // the decode worker frees its reservation
  };
  prefill_stream_ = pick.prefill->client->generate(pd_request, std::move(on_prefill_message),
                                                   std::move(on_prefill_done), deadline);
}

bool GenerationCall::prefill_failed() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->prefill_failed;
}

asio::awaitable<CallEvent> GenerationCall::next() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (!shared_->events.empty()) {
        CallEvent ev = std::move(shared_->events.front());
        shared_->events.pop_front();
        co_return ev;
      }
    }
    // Checked and started waiting in one strand handler: a push's cancel() runs after this.
    shared_->timer.expires_at(asio::steady_timer::time_point::max());
    co_await shared_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void GenerationCall::cancel() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->cancelled = true;
  }
  if (stream_) stream_->cancel();
  if (prefill_stream_) prefill_stream_->cancel();
}

}  // namespace tandem::gateway::server
