// TransportThread: what both ZeroMQ transport sides share — the thread that owns the sockets and
// polls them together with an eventfd (so commands posted by other threads wake it at once), the
// command queue, the listener, drop accounting with a rate-limited log line, and transfer stats.
//
// Thread model: post(), set_listener(), stats() and stop() are thread-safe. Sockets are touched
// only by the transport thread (derived classes may create/bind them before start()). Derived
// classes keep their room tables under mu_, which the engine-facing methods lock too.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "worker/pd/kv_transfer.h"

namespace tandem::pd::zmq {

using Clock = std::chrono::steady_clock;

class TransportThread {
 public:
  TransportThread(std::string name, TransferOptions options);
  virtual ~TransportThread();
  TransportThread(const TransportThread&) = delete;
  TransportThread& operator=(const TransportThread&) = delete;

  void set_listener(std::function<void()> listener);
  TransferStats stats_snapshot() const;

 protected:
  // Starts the thread; derived constructors call it last. stop() joins it; derived destructors
  // call it first (the loop calls their virtual methods).
  void start();
  void stop();
  // Runs fn on the transport thread (in order).
  void post(std::function<void()> fn);

  // Transport thread only.
  virtual std::vector<::zmq::socket_t*> sockets() = 0;
  virtual void on_readable(::zmq::socket_t& socket) = 0;
  virtual void tick(Clock::time_point now) = 0;
  // Counts a dropped message and logs it (at most one line per second, with the count skipped).
  void dropped(const std::string& what);
  // Calls the listener (any thread except while holding mu_).
  void notify();
  // A room ended; first_chunk: when its first KV chunk moved (nullopt: none did).
  void record_room_locked(bool ok, int64_t bytes, std::optional<Clock::time_point> first_chunk,
                          Clock::time_point end);
  double dead_after_s() const { return options_.heartbeat_interval_s * options_.heartbeat_misses; }

  const std::string name_;
  const TransferOptions options_;
  ::zmq::context_t ctx_;
  mutable std::mutex mu_;
  TransferStats stats_;  // guarded by mu_ (open_rooms filled by derived stats())

 private:
  void loop();

  int wake_fd_ = -1;
  std::mutex cmd_mu_;
  std::deque<std::function<void()>> commands_;  // guarded by cmd_mu_
  bool stopping_ = false;                       // guarded by cmd_mu_
  std::mutex listener_mu_;                      // held while the listener runs
  std::function<void()> listener_;              // guarded by listener_mu_
  std::mutex drop_mu_;
  Clock::time_point last_drop_log_{};
  int64_t drops_since_log_ = 0;
  std::thread thread_;
};

}  // namespace tandem::pd::zmq
