#include "worker/pd/zmq/zmq_prefill.h"

#include <zmq_addon.hpp>

#include <spdlog/spdlog.h>

namespace tandem::pd::zmq {

namespace {

// Routing ids of our decode peers are printable; anything else (a stray client's binary id) is
// hex-escaped in log lines so they stay valid UTF-8.
std::string printable_id(const std::string& raw) {
  std::string out;
  for (unsigned char c : raw) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

pb::Envelope failed_msg(int32_t room, const std::string& reason) {
  pb::Envelope e;
  e.mutable_failed()->set_room(room);
  e.mutable_failed()->set_reason(reason);
  return e;
}

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

bool live(RoomState s) { return s != RoomState::kSuccess && s != RoomState::kFailed; }

}  // namespace

ZmqPrefillTransport::ZmqPrefillTransport(KvLayout layout, TransferOptions options)
    : TransportThread("pd prefill transport", options),
      layout_(layout),
      router_(ctx_, ::zmq::socket_type::router) {}

StatusOr<std::unique_ptr<ZmqPrefillTransport>> ZmqPrefillTransport::create(const std::string& bind,
                                                                            KvLayout layout,
                                                                            TransferOptions options) {
  std::unique_ptr<ZmqPrefillTransport> t(new ZmqPrefillTransport(layout, options));
  try {
    t->router_.set(::zmq::sockopt::linger, 0);
    t->router_.set(::zmq::sockopt::router_mandatory, 1);  // a vanished decode is an error, not silence
    t->router_.set(::zmq::sockopt::sndhwm, 0);
    t->router_.set(::zmq::sockopt::rcvhwm, 0);
    // "tcp://host:0" means any free port to us; ZeroMQ spells that "*".
    std::string addr = bind;
    if (addr.rfind("tcp://", 0) == 0 && addr.size() > 2 && addr.substr(addr.size() - 2) == ":0") {
      addr = addr.substr(0, addr.size() - 1) + "*";
    }
    t->router_.bind(addr);
    t->endpoint_ = t->router_.get(::zmq::sockopt::last_endpoint);
  } catch (const ::zmq::error_t& e) {
    return make_status(StatusCode::kUnavailable,
                       "cannot bind the PD bootstrap endpoint {}: {}; pick another --bootstrap-port "
                       "(0 = any free port)",
                       bind, e.what());
  }
  if (t->endpoint_.rfind("tcp://", 0) == 0) {
    t->port_ = std::stoi(t->endpoint_.substr(t->endpoint_.rfind(':') + 1));
  }
  t->start();
  return t;
}

ZmqPrefillTransport::~ZmqPrefillTransport() { stop(); }

TransferStats ZmqPrefillTransport::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  TransferStats s = stats_;
  for (const auto& [id, r] : rooms_) s.open_rooms += r.opened ? 1 : 0;
  return s;
}

Status ZmqPrefillTransport::open_room(int32_t room, const std::string& request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = rooms_.try_emplace(room);
  Room& r = it->second;
  if (!fresh && r.opened) {
    return make_status(StatusCode::kAlreadyExists,
                       "bootstrap_room {} is already in use by another request on this prefill "
                       "worker (request '{}' asked for it); the gateway must mint unique rooms",
                       room, request_id);
  }
  r.opened = true;
  if (fresh) {
    r.since = Clock::now();
    return Status::Ok();
  }
  // The Reserve came first: accept now.
  if (r.state == RoomState::kBootstrapping && r.reserved) {
    r.state = RoomState::kWaitingForInput;
    pb::Envelope e;
    e.mutable_accepted()->set_room(room);
    post([this, peer = r.peer, e, room] { send_control(peer, e, room); });
  }
  return Status::Ok();
}

RoomUpdate ZmqPrefillTransport::poll(int32_t room) {
  std::lock_guard<std::mutex> lock(mu_);
  RoomUpdate u;
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.opened) {
    u.reason = fmt::format("room {} is not open on this prefill worker", room);
    return u;
  }
  u.state = it->second.state;
  u.reason = it->second.reason;
  u.prompt_len = it->second.prompt_len;
  return u;
}

void ZmqPrefillTransport::send_chunk(int32_t room, std::shared_ptr<const KvStaging> rows) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  Room& r = it->second;
  if (r.state != RoomState::kWaitingForInput && r.state != RoomState::kTransferring) return;
  r.state = RoomState::kTransferring;
  if (!r.first_chunk) r.first_chunk = Clock::now();
  r.bytes += static_cast<int64_t>(rows->size());
  stats_.bytes += static_cast<int64_t>(rows->size());
  post([this, peer = r.peer, room, rows = std::move(rows)]() mutable {
    send_to(peer, encode_chunk(room, std::move(rows)), room);
  });
}

void ZmqPrefillTransport::send_done(int32_t room, FirstToken first) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  Room& r = it->second;
  if (r.state != RoomState::kWaitingForInput && r.state != RoomState::kTransferring) return;
  r.state = RoomState::kTransferring;
  r.done_sent = true;
  r.since = Clock::now();
  pb::Envelope e;
  pb::Done* d = e.mutable_done();
  d->set_room(room);
  d->set_first_token(first.token);
  d->set_has_logprob(first.has_logprob);
  d->set_logprob(first.logprob);
  for (const auto& [tok, lp] : first.top_logprobs) {
    pb::TopLogprob* t = d->add_top_logprobs();
    t->set_token(tok);
    t->set_logprob(lp);
  }
  d->set_cached_tokens(first.cached_tokens);
  d->set_prompt_len(r.prompt_len);
  post([this, peer = r.peer, e = std::move(e), room] { send_control(peer, e, room); });
}

void ZmqPrefillTransport::end_room(int32_t room, const pb::Envelope& env, bool failed) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  Room& r = it->second;
  if (live(r.state) && r.reserved) post([this, peer = r.peer, env, room] { send_control(peer, env, room); });
  if (live(r.state) && failed) record_room_locked(false, r.bytes, r.first_chunk, Clock::now());
  rooms_.erase(it);
}

void ZmqPrefillTransport::abort(int32_t room, const std::string& reason) {
  pb::Envelope e;
  e.mutable_abort()->set_room(room);
  e.mutable_abort()->set_reason(reason);
  end_room(room, e, /*failed=*/false);
}

void ZmqPrefillTransport::fail(int32_t room, const std::string& reason) {
  end_room(room, failed_msg(room, reason), /*failed=*/true);
}

void ZmqPrefillTransport::close_room(int32_t room) {
  std::lock_guard<std::mutex> lock(mu_);
  rooms_.erase(room);
}

void ZmqPrefillTransport::fail_locked(int32_t room, Room& r, std::string reason) {
  if (!live(r.state)) return;
  spdlog::warn("pd prefill: room {} failed: {}", room, reason);
  r.state = RoomState::kFailed;
  r.reason = std::move(reason);
  record_room_locked(false, r.bytes, r.first_chunk, Clock::now());
}

// --- transport thread ---

void ZmqPrefillTransport::send_to(const std::string& peer, Frames frames, int32_t room) {
  if (peer.empty()) return;
  std::vector<::zmq::message_t> msg;
  msg.reserve(frames.size() + 1);
  msg.emplace_back(peer.data(), peer.size());
  for (auto& f : frames) msg.push_back(std::move(f));
  std::string error;
  try {
    if (!::zmq::send_multipart(router_, msg, ::zmq::send_flags::dontwait)) error = "send queue full";
  } catch (const ::zmq::error_t& e) {
    error = e.what();
  }
  if (error.empty()) return;
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(room);
    if (it != rooms_.end() && it->second.opened && live(it->second.state)) {
      fail_locked(room, it->second,
                  fmt::format("the decode worker of room {} is unreachable ({})", room, error));
      changed = true;
    } else if (it != rooms_.end() && !it->second.opened) {
      rooms_.erase(it);
    }
  }
  if (changed) notify();
}

void ZmqPrefillTransport::on_readable(::zmq::socket_t& socket) {
  while (true) {
    Frames frames;
    std::optional<size_t> n;
    try {
      n = ::zmq::recv_multipart(socket, std::back_inserter(frames), ::zmq::recv_flags::dontwait);
    } catch (const ::zmq::error_t& e) {
      dropped(fmt::format("receive failed: {}", e.what()));
      return;
    }
    if (!n) return;
    const Clock::time_point now = Clock::now();
    std::string peer = frames.front().to_string();
    frames.erase(frames.begin());
    StatusOr<Decoded> msg = decode(std::move(frames));
    if (!msg.ok()) {
      dropped(fmt::format("from decode peer '{}': {}", printable_id(peer), msg.status().message()));
      continue;
    }
    peers_[peer] = now;
    handle(peer, std::move(*msg), now);
  }
}

void ZmqPrefillTransport::on_reserve(const std::string& peer, const pb::Reserve& m, Clock::time_point now) {
  const int32_t room = m.room();
  StatusOr<KvLayout> theirs = from_proto(m.layout());
  Status ok = theirs.ok() ? check_compatible(layout_, *theirs) : theirs.status();
  if (ok.ok() && (m.prompt_len() <= 0 || m.slot_count() < m.prompt_len())) {
    ok = invalid_argument("reservation of room {} has prompt_len {} and {} slots", room, m.prompt_len(),
                          m.slot_count());
  }
  bool changed = false;
  std::string drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(room);
    if (it != rooms_.end() && it->second.reserved) {
      drop = it->second.peer == peer
                 ? fmt::format("duplicate reserve for room {} from '{}'", room, printable_id(peer))
                 : fmt::format("reserve for room {} from '{}' but '{}' reserved it", room, printable_id(peer),
                               it->second.peer);
    } else if (!ok.ok()) {
      if (it != rooms_.end()) {
        it->second.reserved = true;
        it->second.peer = peer;
        fail_locked(room, it->second, ok.message());
        changed = true;
      }
    } else {
      Room& r = rooms_[room];
      r.reserved = true;
      r.peer = peer;
      r.prompt_len = m.prompt_len();
      if (!r.opened) {
        r.since = now;  // waits for the engine's request (bootstrap timeout)
      } else if (r.state == RoomState::kBootstrapping) {
        r.state = RoomState::kWaitingForInput;
        pb::Envelope e;
        e.mutable_accepted()->set_room(room);
        post([this, peer, e, room] { send_control(peer, e, room); });
        changed = true;
      }
    }
  }
  if (!drop.empty()) {
    dropped(drop);
    return;
  }
  if (!ok.ok()) send_control(peer, failed_msg(room, ok.message()), room);
  if (changed) notify();
}

void ZmqPrefillTransport::handle(const std::string& peer, Decoded msg, Clock::time_point now) {
  const pb::Envelope& e = msg.env;
  switch (e.msg_case()) {
    case pb::Envelope::kHeartbeat: {
      pb::Envelope hb;
      hb.mutable_heartbeat()->set_identity(endpoint_);
      send_control(peer, hb, -1);
      return;
    }
    case pb::Envelope::kReserve:
      on_reserve(peer, e.reserve(), now);
      return;
    case pb::Envelope::kAck:
    case pb::Envelope::kAbort:
    case pb::Envelope::kFailed:
      break;
    default:
      dropped(fmt::format("unexpected {} message from decode peer '{}'", message_name(e), printable_id(peer)));
      return;
  }
  const int32_t room = e.has_ack() ? e.ack().room() : e.has_abort() ? e.abort().room() : e.failed().room();
  bool changed = false;
  std::string drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(room);
    if (it == rooms_.end() || !it->second.reserved || it->second.peer != peer) {
      drop = fmt::format("{} for unknown room {} from '{}'", message_name(e), room, printable_id(peer));
    } else if (e.has_ack()) {
      Room& r = it->second;
      if (!r.done_sent || r.state != RoomState::kTransferring) {
        drop = fmt::format("ack for room {} before its done", room);
      } else {
        r.state = RoomState::kSuccess;
        record_room_locked(true, r.bytes, r.first_chunk, now);
        changed = true;
      }
    } else {
      const bool abort = e.has_abort();
      const std::string why = abort ? e.abort().reason() : e.failed().reason();
      if (!it->second.opened) {
        rooms_.erase(it);
      } else {
        fail_locked(room, it->second,
                    fmt::format("the decode worker {} room {}: {}", abort ? "aborted" : "failed", room, why));
        changed = true;
      }
    }
  }
  if (!drop.empty()) dropped(drop);
  if (changed) notify();
}

void ZmqPrefillTransport::tick(Clock::time_point now) {
  bool changed = false;
  std::vector<std::pair<std::string, pb::Envelope>> to_send;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = rooms_.begin(); it != rooms_.end();) {
      const int32_t room = it->first;
      Room& r = it->second;
      if (!live(r.state)) {
        ++it;
        continue;
      }
      std::string why;
      if (r.reserved) {
        auto p = peers_.find(r.peer);
        const double silent = p == peers_.end() ? 0.0 : secs(now - p->second);
        if (silent > dead_after_s()) {
          why = fmt::format("the decode worker '{}' of room {} is silent for {:.1f} s ({} heartbeats "
                            "missed); is it alive?",
                            r.peer, room, silent, options_.heartbeat_misses);
        }
      }
      if (why.empty() && r.opened && r.state == RoomState::kBootstrapping &&
          secs(now - r.since) > options_.bootstrap_timeout_s) {
        why = fmt::format("bootstrap timeout: no decode worker reserved room {} within {:.1f} s; "
                          "check that the gateway sent the request to a decode worker too",
                          room, options_.bootstrap_timeout_s);
      }
      if (why.empty() && !r.opened && secs(now - r.since) > options_.bootstrap_timeout_s) {
        to_send.emplace_back(r.peer, failed_msg(room, fmt::format(
            "bootstrap timeout: the prefill worker got no request for room {} within {:.1f} s",
            room, options_.bootstrap_timeout_s)));
        it = rooms_.erase(it);
        continue;
      }
      if (why.empty() && r.done_sent && secs(now - r.since) > options_.transfer_timeout_s) {
        why = fmt::format("transfer timeout: the decode worker did not acknowledge room {} within "
                          "{:.1f} s",
                          room, options_.transfer_timeout_s);
      }
      if (!why.empty()) {
        if (!r.opened) {
          it = rooms_.erase(it);
          continue;
        }
        if (r.reserved) to_send.emplace_back(r.peer, failed_msg(room, why));
        fail_locked(room, r, std::move(why));
        changed = true;
      }
      ++it;
    }
  }
  for (auto& [peer, env] : to_send) send_control(peer, env, env.failed().room());
  if (changed) notify();
}

}  // namespace tandem::pd::zmq
