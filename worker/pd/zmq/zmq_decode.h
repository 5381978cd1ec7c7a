// The decode side over ZeroMQ: one DEALER per prefill endpoint (created on the first Reserve to
// it), all with this process's routing id. Sends Reserve / Ack / Abort and a heartbeat per peer
// every interval; receives Accepted, KV chunks (kept as received frames until the engine polls)
// and Done.
//
// Thread model: DecodeTransport's (every method thread-safe); sockets live on the transport thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worker/pd/kv_transfer.h"
#include "worker/pd/zmq/frames.h"
#include "worker/pd/zmq/transport_thread.h"

namespace tandem::pd::zmq {

class ZmqDecodeTransport final : public DecodeTransport, private TransportThread {
 public:
  ZmqDecodeTransport(KvLayout layout, TransferOptions options);
  ~ZmqDecodeTransport() override;

  Status reserve(int32_t room, ReserveRequest request) override;
  RoomUpdate poll(int32_t room) override;
  void ack(int32_t room) override;
  void abort(int32_t room, const std::string& reason) override;
  void close_room(int32_t room) override;
  void set_listener(std::function<void()> listener) override {
    TransportThread::set_listener(std::move(listener));
  }
  TransferStats stats() const override;
  const std::string& identity() const { return identity_; }

 private:
  struct Room {
    RoomState state = RoomState::kBootstrapping;
    std::string reason;
    std::string endpoint;
    int32_t prompt_len = 0;
    Clock::time_point since;  // last progress (timeouts)
    std::vector<KvRows> chunks;
    std::optional<FirstToken> done;
    std::optional<Clock::time_point> first_chunk;
    int64_t bytes = 0;
  };
  struct Peer {
    std::unique_ptr<::zmq::socket_t> socket;
    Clock::time_point last_heard;
    Clock::time_point last_heartbeat;
  };

  // TransportThread.
  std::vector<::zmq::socket_t*> sockets() override;
  void on_readable(::zmq::socket_t& socket) override;
  void tick(Clock::time_point now) override;

  // Transport thread.
  Peer* peer(const std::string& endpoint, std::string* error);
  void send_to(const std::string& endpoint, const pb::Envelope& env);
  void handle(const std::string& endpoint, Decoded msg, Clock::time_point now);
  void fail_locked(int32_t room, Room& r, std::string reason);

  const KvLayout layout_;
  const std::string identity_;
  std::map<int32_t, Room> rooms_;         // guarded by mu_
  std::map<std::string, Peer> peers_;     // transport thread only, by endpoint
};

}  // namespace tandem::pd::zmq
