// The prefill side over ZeroMQ: a ROUTER bound on the bootstrap endpoint. Decode workers connect a
// DEALER each, send Reserve per room and heartbeats; this side answers heartbeats, sends Accepted
// once both the Reserve and the engine's request are there, then the KV chunks and Done.
//
// Thread model: PrefillTransport's (every method thread-safe); the socket lives on the transport
// thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "worker/pd/kv_transfer.h"
#include "worker/pd/zmq/frames.h"
#include "worker/pd/zmq/transport_thread.h"

namespace tandem::pd::zmq {

class ZmqPrefillTransport final : public PrefillTransport, private TransportThread {
 public:
  // kUnavailable when the endpoint cannot be bound (port in use, bad path).
  static StatusOr<std::unique_ptr<ZmqPrefillTransport>> create(const std::string& bind, KvLayout layout,
                                                               TransferOptions options);
  ~ZmqPrefillTransport() override;

  std::string endpoint() const override { return endpoint_; }
  int32_t port() const override { return port_; }
  Status open_room(int32_t room, const std::string& request_id) override;
  RoomUpdate poll(int32_t room) override;
  void send_chunk(int32_t room, std::shared_ptr<const KvStaging> rows) override;
  void send_done(int32_t room, FirstToken first) override;
  void abort(int32_t room, const std::string& reason) override;
  void fail(int32_t room, const std::string& reason) override;
  void close_room(int32_t room) override;
  void set_listener(std::function<void()> listener) override {
    TransportThread::set_listener(std::move(listener));
  }
  TransferStats stats() const override;

 private:
  struct Room {
    RoomState state = RoomState::kBootstrapping;
    std::string reason;
    bool opened = false;    // the engine holds the request
    bool reserved = false;  // the decode's Reserve arrived
    std::string peer;       // the decode DEALER's routing id
    int32_t prompt_len = 0;
    Clock::time_point since;  // start of the current wait (bootstrap / ack)
    bool done_sent = false;
    std::optional<Clock::time_point> first_chunk;
    int64_t bytes = 0;
  };

  ZmqPrefillTransport(KvLayout layout, TransferOptions options);

  // TransportThread.
  std::vector<::zmq::socket_t*> sockets() override { return {&router_}; }
  void on_readable(::zmq::socket_t& socket) override;
  void tick(Clock::time_point now) override;

  void handle(const std::string& peer, Decoded msg, Clock::time_point now);
  void on_reserve(const std::string& peer, const pb::Reserve& r, Clock::time_point now);
  // Sends on the transport thread; an unreachable peer fails `room`.
  void send_to(const std::string& peer, Frames frames, int32_t room);
  void send_control(const std::string& peer, const pb::Envelope& env, int32_t room) {
    send_to(peer, encode(env), room);
  }
  void fail_locked(int32_t room, Room& r, std::string reason);
  // Ends the room here and sends `env` (Abort or Failed) to its peer when it has one.
  void end_room(int32_t room, const pb::Envelope& env, bool failed);

  const KvLayout layout_;
  ::zmq::socket_t router_;
  std::string endpoint_;
  int32_t port_ = 0;
  std::map<int32_t, Room> rooms_;                   // guarded by mu_
  std::map<std::string, Clock::time_point> peers_;  // transport thread: last message per peer
};

}  // namespace tandem::pd::zmq
