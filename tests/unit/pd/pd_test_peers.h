// RawPeer: a hand-driven ZeroMQ peer for fault injection in transport tests — a ROUTER standing in
// for a prefill worker or a DEALER standing in for a decode worker. It runs its own thread (the
// socket never leaves it), records every message it receives, answers heartbeats while
// answer_heartbeats is set, and sends whatever frames a test gives it, garbage included.
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "pd_transfer.pb.h"

namespace tandem::pd::testing {

struct Received {
  std::string id;  // the sender's routing id (ROUTER only)
  ::tandem::pd::wire::Envelope env;
  size_t payload_frames = 0;
};

class RawPeer {
 public:
  static std::unique_ptr<RawPeer> router(const std::string& bind);
  static std::unique_ptr<RawPeer> dealer(const std::string& connect, const std::string& identity);
  ~RawPeer();

  std::string endpoint() const { return endpoint_; }
  // Raw frames (a ROUTER's first frame is the destination routing id).
  void send(std::vector<std::string> frames);
  // [id if router][envelope]
  void send_env(const std::string& id, const ::tandem::pd::wire::Envelope& env);
  // The first received message (not a heartbeat) matching pred, waiting up to timeout_s.
  std::optional<Received> wait_for(std::function<bool(const ::tandem::pd::wire::Envelope&)> pred,
                                   double timeout_s = 5.0);
  int heartbeats_seen() const { return heartbeats_.load(); }

  std::atomic<bool> answer_heartbeats{true};
  // DEALER only: send a heartbeat every 50 ms (a live decode peer) while set.
  std::atomic<bool> send_heartbeats{false};

 private:
  RawPeer(::zmq::socket_type type);
  void loop();

  ::zmq::context_t ctx_{1};
  ::zmq::socket_t socket_;
  const bool router_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<int> heartbeats_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<std::string>> outbox_;  // guarded by mu_
  std::deque<Received> inbox_;                   // guarded by mu_
  std::thread thread_;
};

}  // namespace tandem::pd::testing
