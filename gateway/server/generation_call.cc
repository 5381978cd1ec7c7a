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
  if (stream_) stream_->cancel();
}

}  // namespace tandem::gateway::server
