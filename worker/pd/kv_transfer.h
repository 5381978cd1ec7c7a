// KV transfer between a prefill and a decode worker: the interface the engines use. The backend
// (zmq/ today) runs its own thread(s) and sockets; the engine thread drives rooms through these
// calls and polls each room's state. Transport threads never touch the scheduler or the KV arrays:
// the prefill engine hands over staging buffers it gathered (kv_rows.h), the decode engine takes
// received rows out and scatters them itself.
//
// A room is one request's transfer, named by the gateway's bootstrap_room. States:
//   kBootstrapping   waiting for the other side (prefill: the decode's Reserve; decode: Accepted)
//   kWaitingForInput both sides know the room; no KV has moved yet
//   kTransferring    KV chunks are moving
//   kSuccess         prefill: the decode side acknowledged; decode: Done arrived (first token)
//   kFailed          with a reason (peer failed/aborted, timeout, heartbeat loss, bad layout)
//
// Thread model: every method is thread-safe (the engine thread calls them; tests call them from
// their own threads). The listener is called on a transport thread whenever a room changes state
// or receives data; it must not block and must not call back into the transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "worker/pd/kv_layout.h"

namespace tandem::pd {

enum class RoomState { kBootstrapping, kWaitingForInput, kTransferring, kSuccess, kFailed };
std::string_view room_state_name(RoomState state);

// Timeouts and liveness (seconds). A peer that sends nothing for heartbeat_misses intervals is dead:
// every room it serves fails.
struct TransferOptions {
  double bootstrap_timeout_s = 30.0;  // prefill: open room without a Reserve; decode: no Accepted
  double transfer_timeout_s = 30.0;   // decode: no chunk/Done for this long; prefill: Done unacked
  double heartbeat_interval_s = 1.0;
  int32_t heartbeat_misses = 3;
};

// The first token, sampled by the prefill side, with its logprobs when the request asked for them.
struct FirstToken {
  int32_t token = -1;
  bool has_logprob = false;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top_logprobs;  // (token, logprob), most likely first
  int32_t cached_tokens = 0;  // prompt tokens the prefill side reused from its radix cache
};

// Rows gathered on the prefill side for tokens [first_token_index, + num_tokens), layers
// [layer_begin, layer_end). The rows are layer-major: per layer num_tokens K rows, then V rows.
// They live in `bytes`, or, when `external` is set, in external_size bytes of memory owned by
// `external_owner` (a device cache's pinned staging, handed to the socket without another copy;
// releasing the owner returns it to its pool).
struct KvStaging {
  int32_t first_token_index = 0;
  int32_t num_tokens = 0;
  int32_t layer_begin = 0;
  int32_t layer_end = 0;
  size_t row_bytes = 0;
  std::vector<uint8_t> bytes;
  uint8_t* external = nullptr;
  size_t external_size = 0;
  std::shared_ptr<void> external_owner;

  uint8_t* data() { return external ? external : bytes.data(); }
  const uint8_t* data() const { return external ? external : bytes.data(); }
  size_t size() const { return external ? external_size : bytes.size(); }
  size_t block_bytes() const { return static_cast<size_t>(num_tokens) * row_bytes; }
  uint8_t* k(int32_t layer) { return data() + 2 * (layer - layer_begin) * block_bytes(); }
  uint8_t* v(int32_t layer) { return k(layer) + block_bytes(); }
  const uint8_t* k(int32_t layer) const { return data() + 2 * (layer - layer_begin) * block_bytes(); }
  const uint8_t* v(int32_t layer) const { return k(layer) + block_bytes(); }
};

// One chunk received on the decode side; its K/V spans point into `owner` (the received frames,
// not copied).
struct KvRows {
  int32_t first_token_index = 0;
  int32_t num_tokens = 0;
  int32_t layer_begin = 0;
  int32_t layer_end = 0;
  std::vector<std::span<const uint8_t>> k, v;  // one per layer of the range
  std::shared_ptr<void> owner;
};

// What the engine learns about a room when it polls it.
struct RoomUpdate {
  RoomState state = RoomState::kFailed;
  std::string reason;            // kFailed: why (starts with what failed, ends with what to do)
  int32_t prompt_len = 0;        // prefill: the decode's reserved length (known from kWaitingForInput)
  std::vector<KvRows> chunks;    // decode: chunks received since the last poll
  std::optional<FirstToken> done;  // decode, kSuccess: the first token
};

struct TransferStats {
  int64_t bytes = 0;             // KV payload bytes sent (prefill) or received (decode)
  int64_t rooms_succeeded = 0;
  int64_t rooms_failed = 0;
  int64_t dropped_messages = 0;  // malformed / unknown-room / unexpected messages
  int32_t open_rooms = 0;
  // Over recent rooms: first KV chunk -> Done (decode) or -> Ack (prefill), and bytes over it.
  double kv_transfer_latency_ms = 0.0;
  double kv_transfer_speed_gb_s = 0.0;
};

class PrefillTransport {
 public:
  virtual ~PrefillTransport() = default;
  // Where decode workers connect ("tcp://127.0.0.1:8998", "ipc:///tmp/x").
  virtual std::string endpoint() const = 0;
  virtual int32_t port() const = 0;  // the bound tcp port (0 for ipc)

  // The engine holds the request for `room`: kBootstrapping until the decode's Reserve arrives (it
  // may have already), then kWaitingForInput (Accepted is sent). kAlreadyExists when open already.
  virtual Status open_room(int32_t room, const std::string& request_id) = 0;
  virtual RoomUpdate poll(int32_t room) = 0;  // kFailed "unknown room" when not open
  // Sends a chunk (the transport keeps `rows` alive until the socket is done with it).
  virtual void send_chunk(int32_t room, std::shared_ptr<const KvStaging> rows) = 0;
  // After the last chunk: the first token. The room reaches kSuccess when the Ack arrives.
  virtual void send_done(int32_t room, FirstToken first) = 0;
  // Ends the room here and tells the peer: Abort (cancelled) or Failed (error on this side).
  virtual void abort(int32_t room, const std::string& reason) = 0;
  virtual void fail(int32_t room, const std::string& reason) = 0;
  virtual void close_room(int32_t room) = 0;  // forget a kSuccess / kFailed room
  virtual void set_listener(std::function<void()> listener) = 0;
  virtual TransferStats stats() const = 0;
};

struct ReserveRequest {
  std::string request_id;
  std::string prefill_endpoint;  // "tcp://host:port" (the bootstrap endpoint) or "ipc://..."
  int32_t prompt_len = 0;
};

class DecodeTransport {
 public:
  virtual ~DecodeTransport() = default;
  // Sends Reserve for `room` (slots are reserved already). kAlreadyExists when open already.
  virtual Status reserve(int32_t room, ReserveRequest request) = 0;
  virtual RoomUpdate poll(int32_t room) = 0;
  // The first token was placed: sends Ack and forgets the room.
  virtual void ack(int32_t room) = 0;
  virtual void abort(int32_t room, const std::string& reason) = 0;  // sends Abort, forgets
  virtual void close_room(int32_t room) = 0;
  virtual void set_listener(std::function<void()> listener) = 0;
  virtual TransferStats stats() const = 0;
};

// Backends by name ("zmq"). `bind` for the prefill side: "tcp://HOST:PORT" (PORT 0 = ephemeral)
// or "ipc://PATH". kInvalidArgument for an unknown backend, kUnavailable when binding fails.
StatusOr<std::unique_ptr<PrefillTransport>> make_prefill_transport(std::string_view backend,
                                                                   const std::string& bind,
                                                                   KvLayout layout,
                                                                   TransferOptions options);
StatusOr<std::unique_ptr<DecodeTransport>> make_decode_transport(std::string_view backend,
                                                                 KvLayout layout,
                                                                 TransferOptions options);

// "tcp://host:port" for a bootstrap host/port pair (IPv6 literals bracketed).
std::string bootstrap_endpoint(const std::string& host, int32_t port);

}  // namespace tandem::pd
