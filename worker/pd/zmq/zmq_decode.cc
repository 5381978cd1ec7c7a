#include "worker/pd/zmq/zmq_decode.h"

#include <algorithm>
#include <unistd.h>

#include <random>

#include <zmq_addon.hpp>

#include <spdlog/spdlog.h>

namespace tandem::pd::zmq {

namespace {

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
bool live(RoomState s) { return s != RoomState::kSuccess && s != RoomState::kFailed; }

std::string make_identity() {
  std::random_device rd;
  return fmt::format("decode-{}-{:08x}", getpid(), rd());
}

int32_t room_of(const pb::Envelope& e) {
  switch (e.msg_case()) {
    case pb::Envelope::kAccepted: return e.accepted().room();
    case pb::Envelope::kKvChunk: return e.kv_chunk().room();
    case pb::Envelope::kDone: return e.done().room();
    case pb::Envelope::kFailed: return e.failed().room();
    case pb::Envelope::kAbort: return e.abort().room();
    default: return -1;
  }
}

}  // namespace

ZmqDecodeTransport::ZmqDecodeTransport(KvLayout layout, TransferOptions options)
    : TransportThread("pd decode transport", options), layout_(layout), identity_(make_identity()) {
  start();
}

ZmqDecodeTransport::~ZmqDecodeTransport() { stop(); }

TransferStats ZmqDecodeTransport::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  TransferStats s = stats_;
  s.open_rooms = static_cast<int32_t>(rooms_.size());
  return s;
}

Status ZmqDecodeTransport::reserve(int32_t room, ReserveRequest req) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, fresh] = rooms_.try_emplace(room);
    if (!fresh) {
      return make_status(StatusCode::kAlreadyExists,
                         "bootstrap_room {} is already in use on this decode worker (request '{}'); "
                         "the gateway must mint unique rooms",
                         room, req.request_id);
    }
    it->second.endpoint = req.prefill_endpoint;
    it->second.prompt_len = req.prompt_len;
    it->second.since = Clock::now();
  }
  pb::Envelope e;
  pb::Reserve* r = e.mutable_reserve();
  r->set_room(room);
  r->set_request_id(req.request_id);
  r->set_decode_identity(identity_);
  *r->mutable_layout() = to_proto(layout_);
  r->set_prompt_len(req.prompt_len);
  r->set_slot_count(req.prompt_len);
  post([this, endpoint = req.prefill_endpoint, e = std::move(e)] { send_to(endpoint, e); });
  return Status::Ok();
}

RoomUpdate ZmqDecodeTransport::poll(int32_t room) {
  std::lock_guard<std::mutex> lock(mu_);
  RoomUpdate u;
  auto it = rooms_.find(room);
  if (it == rooms_.end()) {
    u.reason = fmt::format("room {} is not open on this decode worker", room);
    return u;
  }
  Room& r = it->second;
  u.state = r.state;
  u.reason = r.reason;
  u.prompt_len = r.prompt_len;
  u.chunks.swap(r.chunks);
  if (r.state == RoomState::kSuccess) u.done = r.done;
  return u;
}

void ZmqDecodeTransport::ack(int32_t room) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  pb::Envelope e;
  e.mutable_ack()->set_room(room);
  post([this, endpoint = it->second.endpoint, e] { send_to(endpoint, e); });
  rooms_.erase(it);
}

void ZmqDecodeTransport::abort(int32_t room, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  if (it->second.state != RoomState::kFailed) {
    pb::Envelope e;
    e.mutable_abort()->set_room(room);
    e.mutable_abort()->set_reason(reason);
    post([this, endpoint = it->second.endpoint, e] { send_to(endpoint, e); });
  }
  rooms_.erase(it);
}

void ZmqDecodeTransport::close_room(int32_t room) {
  std::lock_guard<std::mutex> lock(mu_);
  rooms_.erase(room);
}

void ZmqDecodeTransport::fail_locked(int32_t room, Room& r, std::string reason) {
  if (!live(r.state)) return;
  spdlog::warn("pd decode: room {} failed: {}", room, reason);
  r.state = RoomState::kFailed;
  r.reason = std::move(reason);
  r.chunks.clear();
  record_room_locked(false, r.bytes, r.first_chunk, Clock::now());
}

// --- transport thread ---

std::vector<::zmq::socket_t*> ZmqDecodeTransport::sockets() {
  std::vector<::zmq::socket_t*> out;
  for (auto& [ep, p] : peers_) out.push_back(p.socket.get());
  return out;
}

ZmqDecodeTransport::Peer* ZmqDecodeTransport::peer(const std::string& endpoint, std::string* error) {
  auto it = peers_.find(endpoint);
  const Clock::time_point now = Clock::now();
  if (it != peers_.end()) {
    // A peer silent for long (no rooms, so no heartbeats answered) gets a fresh window.
    if (secs(now - it->second.last_heard) > dead_after_s()) it->second.last_heard = now;
    return &it->second;
  }
  Peer p;
  try {
    p.socket = std::make_unique<::zmq::socket_t>(ctx_, ::zmq::socket_type::dealer);
    p.socket->set(::zmq::sockopt::routing_id, identity_);
    p.socket->set(::zmq::sockopt::linger, 0);
    p.socket->set(::zmq::sockopt::sndhwm, 0);
    p.socket->set(::zmq::sockopt::rcvhwm, 0);
    p.socket->connect(endpoint);
  } catch (const ::zmq::error_t& e) {
    *error = fmt::format("cannot connect to the prefill worker at '{}': {}", endpoint, e.what());
    return nullptr;
  }
  p.last_heard = now;
  p.last_heartbeat = Clock::time_point{};
  return &peers_.emplace(endpoint, std::move(p)).first->second;
}

void ZmqDecodeTransport::send_to(const std::string& endpoint, const pb::Envelope& env) {
  std::string error;
  Peer* p = peer(endpoint, &error);
  if (p != nullptr) {
    try {
      Frames f = encode(env);
      if (!::zmq::send_multipart(*p->socket, f, ::zmq::send_flags::dontwait)) error = "send queue full";
    } catch (const ::zmq::error_t& e) {
      error = e.what();
    }
  }
  if (error.empty()) return;
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [room, r] : rooms_) {
      if (r.endpoint == endpoint && live(r.state)) {
        fail_locked(room, r, error);
        changed = true;
      }
    }
  }
  if (changed) notify();
}

void ZmqDecodeTransport::on_readable(::zmq::socket_t& socket) {
  std::string endpoint;
  for (auto& [ep, p] : peers_) {
    if (p.socket.get() == &socket) endpoint = ep;
  }
  while (true) {
    Frames frames;
    std::optional<size_t> n;
    try {
      n = ::zmq::recv_multipart(socket, std::back_inserter(frames), ::zmq::recv_flags::dontwait);
    } catch (const ::zmq::error_t& e) {
      dropped(fmt::format("receive from {} failed: {}", endpoint, e.what()));
      return;
    }
    if (!n) return;
    StatusOr<Decoded> msg = decode(std::move(frames));
    if (!msg.ok()) {
      dropped(fmt::format("from prefill {}: {}", endpoint, msg.status().message()));
      continue;
    }
    const Clock::time_point now = Clock::now();
    peers_[endpoint].last_heard = now;
    handle(endpoint, std::move(*msg), now);
  }
}

void ZmqDecodeTransport::handle(const std::string& endpoint, Decoded msg, Clock::time_point now) {
  const pb::Envelope& e = msg.env;
  if (e.has_heartbeat()) return;
  const int32_t room = room_of(e);
  if (room < 0 && !e.has_failed()) {
    dropped(fmt::format("unexpected {} message from prefill {}", message_name(e), endpoint));
    return;
  }
  std::string drop;
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(room);
    if (it == rooms_.end() || it->second.endpoint != endpoint || !live(it->second.state)) {
      drop = fmt::format("{} for unknown room {} from prefill {}", message_name(e), room, endpoint);
    } else {
      Room& r = it->second;
      switch (e.msg_case()) {
        case pb::Envelope::kAccepted:
          if (r.state != RoomState::kBootstrapping) {
            drop = fmt::format("second accepted for room {}", room);
            break;
          }
          r.state = RoomState::kWaitingForInput;
          r.since = now;
          changed = true;
          break;
        case pb::Envelope::kKvChunk: {
          if (r.state != RoomState::kWaitingForInput && r.state != RoomState::kTransferring) {
            drop = fmt::format("kv_chunk for room {} before it was accepted", room);
            break;
          }
          StatusOr<KvRows> rows = check_chunk(std::move(msg), layout_, r.prompt_len);
          if (!rows.ok()) {
            drop = rows.status().message();
            break;
          }
          const int64_t bytes = 2ll * rows->num_tokens * (rows->layer_end - rows->layer_begin) *
                                static_cast<int64_t>(layout_.row_bytes());
          r.bytes += bytes;
          stats_.bytes += bytes;
          if (!r.first_chunk) r.first_chunk = now;
          r.chunks.push_back(std::move(*rows));
          r.state = RoomState::kTransferring;
          r.since = now;
          changed = true;
          break;
        }
        case pb::Envelope::kDone: {
          if (r.state != RoomState::kWaitingForInput && r.state != RoomState::kTransferring) {
            drop = fmt::format("done for room {} before it was accepted", room);
            break;
          }
          const pb::Done& d = e.done();
          FirstToken f;
          f.token = d.first_token();
          f.has_logprob = d.has_logprob();
          f.logprob = d.logprob();
          for (const pb::TopLogprob& t : d.top_logprobs()) f.top_logprobs.emplace_back(t.token(), t.logprob());
          f.cached_tokens = d.cached_tokens();
          r.done = std::move(f);
          r.state = RoomState::kSuccess;
          record_room_locked(true, r.bytes, r.first_chunk, now);
          changed = true;
          break;
        }
        case pb::Envelope::kFailed:
          fail_locked(room, r, fmt::format("the prefill worker failed room {}: {}", room, e.failed().reason()));
          changed = true;
          break;
        case pb::Envelope::kAbort:
          fail_locked(room, r, fmt::format("the prefill worker aborted room {}: {}", room, e.abort().reason()));
          changed = true;
          break;
        default:
          drop = fmt::format("unexpected {} message from prefill {}", message_name(e), endpoint);
      }
    }
  }
  if (!drop.empty()) dropped(drop);
  if (changed) notify();
}

void ZmqDecodeTransport::tick(Clock::time_point now) {
  // Timeouts and liveness of live rooms, then heartbeats to every peer that serves a room.
  std::map<std::string, bool> busy;
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [room, r] : rooms_) {
      // Rooms done but not yet acknowledged keep the heartbeats going: the prefill side waits for
      // the Ack and must not take a busy decode engine for a dead one.
      busy[r.endpoint] = true;
      if (!live(r.state)) continue;
      std::string why;
      auto p = peers_.find(r.endpoint);
      // Silence counts from the later of the peer's last message and this room's last progress
      // (its Reserve, at first): a peer idle before the room existed had nothing to answer, and
      // judging a new room by that old silence would fail it at once.
      const double silent = p == peers_.end() ? 0.0 : secs(now - std::max(p->second.last_heard, r.since));
      if (silent > dead_after_s()) {
        why = fmt::format("the prefill worker at {} is silent for {:.1f} s ({} heartbeats missed); "
                          "it is probably down",
                          r.endpoint, silent, options_.heartbeat_misses);
      } else if (r.state == RoomState::kBootstrapping && secs(now - r.since) > options_.bootstrap_timeout_s) {
        why = fmt::format("bootstrap timeout: the prefill worker at {} did not accept room {} within "
                          "{:.1f} s; check that the gateway sent it the same request",
                          r.endpoint, room, options_.bootstrap_timeout_s);
      } else if (r.state != RoomState::kBootstrapping && secs(now - r.since) > options_.transfer_timeout_s) {
        why = fmt::format("transfer timeout: no KV from the prefill worker at {} for room {} in {:.1f} s",
                          r.endpoint, room, options_.transfer_timeout_s);
      }
      if (!why.empty()) {
        fail_locked(room, r, std::move(why));
        changed = true;
      }
    }
  }
  const auto interval = std::chrono::duration<double>(options_.heartbeat_interval_s);
  for (auto& [endpoint, p] : peers_) {
    if (!busy.count(endpoint) || now - p.last_heartbeat < interval) continue;
    p.last_heartbeat = now;
    pb::Envelope hb;
    hb.mutable_heartbeat()->set_identity(identity_);
    try {
      Frames f = encode(hb);
      (void)::zmq::send_multipart(*p.socket, f, ::zmq::send_flags::dontwait);
    } catch (const ::zmq::error_t&) {
      // Liveness is judged by what we hear back; a failed heartbeat send changes nothing here.
    }
  }
  if (changed) notify();
}

}  // namespace tandem::pd::zmq
