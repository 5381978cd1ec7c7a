// WritePump: the write side of one server-streaming RPC, shared between the gRPC reactor and
// producers on other threads (the engine thread, KV event publishers).
//
// gRPC's callback API allows one outstanding write per stream and forbids any call after Finish;
// the reactor object itself is deleted in OnDone, which gRPC runs only after Finish. Producers
// therefore never hold the reactor: they hold a shared_ptr<WritePump>, and the pump touches the
// reactor only while `finished_` is false. Exactly one party — whoever observes "no write in
// flight" under the mutex — starts the next write or calls Finish, always after unlocking (gRPC
// may run OnWriteDone inline from StartWrite on a non-gRPC thread).
//
// Thread model: every method is thread-safe and non-blocking (safe to call from the engine thread).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

namespace tandem::service {

template <typename Msg>
class WritePump {
 public:
  // capacity: most messages queued behind the one in flight; push() fails beyond it (0: unbounded).
  WritePump(grpc::ServerWriteReactor<Msg>* reactor, size_t capacity = 0)
      : reactor_(reactor), capacity_(capacity) {}
  WritePump(const WritePump&) = delete;
  WritePump& operator=(const WritePump&) = delete;

  // Queues a message. False when the stream is finished or cancelled (message dropped), or when
  // the queue is at capacity (message dropped; the caller decides what a slow reader costs it).
  bool push(Msg msg) {
    std::unique_lock<std::mutex> lk(mu_);
    if (finished_ || cancelled_ || close_) return false;
    if (capacity_ > 0 && queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(msg));
    kick(lk);
    return true;
  }

  // Finishes the RPC with `status` once every queued message was written. First close wins.
  // `before_finish` runs right before Finish, on the thread that calls it, while the reactor and
  // its context are still alive (e.g. to add trailing metadata); not at all if the client cancels.
  void close(grpc::Status status, std::function<void()> before_finish = {}) {
    std::unique_lock<std::mutex> lk(mu_);
    if (finished_ || close_) return;
    close_ = std::move(status);
    before_finish_ = std::move(before_finish);
    kick(lk);
  }

  // Finishes with `status` now, dropping queued messages.
  void abandon(grpc::Status status) {
    std::unique_lock<std::mutex> lk(mu_);
    if (finished_) return;
    queue_.clear();
    close_ = std::move(status);
    kick(lk);
  }

  // The reactor forwards OnWriteDone / OnCancel here.
  void on_write_done(bool ok) {
    std::unique_lock<std::mutex> lk(mu_);
    in_flight_ = false;
    if (!ok) cancelled_ = true;  // the stream broke (client gone); nothing more can be written
    kick(lk);
  }
  void on_cancel() {
    std::unique_lock<std::mutex> lk(mu_);
    cancelled_ = true;
    kick(lk);
  }

  bool cancelled() const {
    std::lock_guard<std::mutex> lk(mu_);
    return cancelled_;
  }
  bool finished() const {
    std::lock_guard<std::mutex> lk(mu_);
    return finished_;
  }

 private:
  // Called with the lock held; releases it before calling into gRPC.
  void kick(std::unique_lock<std::mutex>& lk) {
    if (finished_ || in_flight_) return;
    if (cancelled_) {
      finished_ = true;
      queue_.clear();
      lk.unlock();
      reactor_->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the stream"));
      return;
    }
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      in_flight_ = true;
      lk.unlock();
      reactor_->StartWrite(&current_);
      return;
    }
    if (close_) {
      finished_ = true;
      grpc::Status st = std::move(*close_);
      std::function<void()> before = std::move(before_finish_);
      lk.unlock();
      if (before) before();
      reactor_->Finish(st);
    }
  }

  grpc::ServerWriteReactor<Msg>* const reactor_;  // valid while !finished_ (OnDone follows Finish)
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<Msg> queue_;             // guarded by mu_
  Msg current_;                       // owned by the write in flight; touched only when !in_flight_
  bool in_flight_ = false;            // guarded by mu_
  bool cancelled_ = false;            // guarded by mu_
  bool finished_ = false;             // guarded by mu_: Finish was called (or is being called)
  std::optional<grpc::Status> close_;  // guarded by mu_
  std::function<void()> before_finish_;  // guarded by mu_
};

}  // namespace tandem::service
