#include "gateway/server/generation_call.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/client/worker_client.h"

namespace tandem::gateway::server {

namespace asio = boost::asio;

struct CallEvents::Shared {
  explicit Shared(asio::any_io_executor ex) : strand(ex), timer(ex) {
    timer.expires_at(asio::steady_timer::time_point::max());
  }
  asio::any_io_executor strand;
  asio::steady_timer timer;  // touched only on the strand; a "wake up" is a cancel()
  std::mutex mu;
  std::deque<TaggedEvent> events;  // guarded by mu

  static void push(const std::shared_ptr<Shared>& self, TaggedEvent ev) {
    {
      std::lock_guard<std::mutex> lock(self->mu);
      self->events.push_back(std::move(ev));
    }
    asio::post(self->strand, [self] { self->timer.cancel(); });
  }
};

CallEvents::CallEvents(asio::any_io_executor strand) : shared_(std::make_shared<Shared>(std::move(strand))) {}

void CallEvents::push(TaggedEvent ev) { Shared::push(shared_, std::move(ev)); }

asio::awaitable<TaggedEvent> CallEvents::next() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (!shared_->events.empty()) {
        TaggedEvent ev = std::move(shared_->events.front());
        shared_->events.pop_front();
        co_return ev;
      }
    }
    // Checked and started waiting in one strand handler: a push's cancel() runs after this.
    shared_->timer.expires_at(asio::steady_timer::time_point::max());
    co_await shared_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// What one PD call knows about its two streams; read and written from gRPC threads and the strand.
struct GenerationCall::PdState {
  std::mutex mu;
  std::shared_ptr<client::GenerateStream> decode_stream;  // guarded by mu
  bool decode_started = false;  // the decode stream delivered a message
  bool prefill_failed = false;
  bool cancelled = false;  // cancel() ran: stream failures after it are ours
};

GenerationCall::GenerationCall(CallEvents& events, int tag)
    : events_(events.shared_), tag_(tag), pd_(std::make_shared<PdState>()) {}

GenerationCall::~GenerationCall() { cancel(); }

void GenerationCall::start(client::WorkerClient& worker, const sglang::grpc::scheduler::GenerateRequest& request,
                           std::chrono::milliseconds deadline) {
  auto on_message = [weak = events_, tag = tag_](sglang::grpc::scheduler::GenerateResponse&& msg) {
    if (auto s = weak.lock()) CallEvents::Shared::push(s, TaggedEvent{tag, std::move(msg)});
  };
  auto on_done = [weak = events_, tag = tag_](Status st) {
    if (auto s = weak.lock()) CallEvents::Shared::push(s, TaggedEvent{tag, std::move(st)});
  };
  stream_ = worker.generate(request, std::move(on_message), std::move(on_done), deadline);
}

void GenerationCall::start(const WorkerPool::Pick& pick, const sglang::grpc::scheduler::GenerateRequest& request,
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

  std::weak_ptr<PdState> weak_pd = pd_;
  auto on_decode_message = [weak = events_, weak_pd, tag = tag_](sglang::grpc::scheduler::GenerateResponse&& msg) {
    if (auto pd = weak_pd.lock()) {
      std::lock_guard<std::mutex> lock(pd->mu);
      pd->decode_started = true;
    }
    if (auto s = weak.lock()) CallEvents::Shared::push(s, TaggedEvent{tag, std::move(msg)});
  };
  auto on_decode_done = [weak = events_, weak_pd, tag = tag_](Status st) {
    // The decode worker reports a broken transfer as UNAVAILABLE "kv transfer failed: ..." (its
    // prefill peer went silent, failed or timed out): the prefill side is charged for it.
    if (auto pd = weak_pd.lock();
        pd && st.code() == StatusCode::kUnavailable && st.message().rfind("kv transfer failed", 0) == 0) {
      std::lock_guard<std::mutex> lock(pd->mu);
      if (!pd->decode_started) pd->prefill_failed = true;
    }
    if (auto s = weak.lock()) CallEvents::Shared::push(s, TaggedEvent{tag, std::move(st)});
  };
  // Decode first: it reserves KV slots and registers with the prefill worker's bootstrap server.
  stream_ = pick.client->generate(pd_request, std::move(on_decode_message), std::move(on_decode_done), deadline);
  {
    std::lock_guard<std::mutex> lock(pd_->mu);
    pd_->decode_stream = stream_;
  }
  auto on_prefill_message = [](sglang::grpc::scheduler::GenerateResponse&&) {
    // One Complete carrying the first token once decode acknowledged the KV; decode streams it.
  };
  auto on_prefill_done = [weak = events_, weak_pd, tag = tag_, id = pick.prefill->id](Status st) {
    auto pd = weak_pd.lock();
    if (!pd || st.ok()) return;
    std::shared_ptr<client::GenerateStream> decode;
    {
      std::lock_guard<std::mutex> lock(pd->mu);
      if (pd->cancelled || pd->decode_started) return;  // ours, or too late to matter
      pd->prefill_failed = true;
      decode = pd->decode_stream;
    }
    if (auto s = weak.lock()) {
      CallEvents::Shared::push(
          s, TaggedEvent{tag, make_status(StatusCode::kUnavailable,
                                          "prefill worker {} failed before the first token: {}", id, st.to_string())});
    }
    if (decode) decode->cancel();  // the decode worker frees its reservation
  };
  prefill_stream_ =
      pick.prefill->client->generate(pd_request, std::move(on_prefill_message), std::move(on_prefill_done), deadline);
}

bool GenerationCall::prefill_failed() const {
  std::lock_guard<std::mutex> lock(pd_->mu);
  return pd_->prefill_failed;
}

void GenerationCall::cancel() {
  {
    std::lock_guard<std::mutex> lock(pd_->mu);
    pd_->cancelled = true;
  }
  if (stream_) stream_->cancel();
  if (prefill_stream_) prefill_stream_->cancel();
}

}  // namespace tandem::gateway::server
