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

GenerationCall::GenerationCall(CallEvents& events, int tag) : events_(events.shared_), tag_(tag) {}

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

void GenerationCall::cancel() {
  if (stream_) stream_->cancel();
}

}  // namespace tandem::gateway::server
