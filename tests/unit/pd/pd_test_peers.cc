#include "tests/unit/pd/pd_test_peers.h"

#include <chrono>

#include <zmq_addon.hpp>

namespace tandem::pd::testing {

RawPeer::RawPeer(::zmq::socket_type type)
    : socket_(ctx_, type), router_(type == ::zmq::socket_type::router) {
  socket_.set(::zmq::sockopt::linger, 0);
}

std::unique_ptr<RawPeer> RawPeer::router(const std::string& bind) {
  std::unique_ptr<RawPeer> p(new RawPeer(::zmq::socket_type::router));
  p->socket_.bind(bind);
  p->endpoint_ = p->socket_.get(::zmq::sockopt::last_endpoint);
  p->thread_ = std::thread([raw = p.get()] { raw->loop(); });
  return p;
}

std::unique_ptr<RawPeer> RawPeer::dealer(const std::string& connect, const std::string& identity) {
  std::unique_ptr<RawPeer> p(new RawPeer(::zmq::socket_type::dealer));
  p->socket_.set(::zmq::sockopt::routing_id, identity);
  p->socket_.connect(connect);
  p->endpoint_ = connect;
  p->thread_ = std::thread([raw = p.get()] { raw->loop(); });
  return p;
}

RawPeer::~RawPeer() {
  stop_ = true;
  thread_.join();
}

void RawPeer::send(std::vector<std::string> frames) {
  std::lock_guard<std::mutex> lock(mu_);
  outbox_.push_back(std::move(frames));
}

void RawPeer::send_env(const std::string& id, const ::tandem::pd::wire::Envelope& env) {
  std::vector<std::string> f;
  if (router_) f.push_back(id);
  f.push_back(env.SerializeAsString());
  send(std::move(f));
}

std::optional<Received> RawPeer::wait_for(std::function<bool(const ::tandem::pd::wire::Envelope&)> pred,
                                          double timeout_s) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
      if (pred(it->env)) {
        Received r = std::move(*it);
        inbox_.erase(it);
        return r;
      }
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

void RawPeer::loop() {
  auto last_heartbeat = std::chrono::steady_clock::now();
  while (!stop_) {
    if (!router_ && send_heartbeats && std::chrono::steady_clock::now() - last_heartbeat > std::chrono::milliseconds(50)) {
      last_heartbeat = std::chrono::steady_clock::now();
      ::tandem::pd::wire::Envelope hb;
      hb.mutable_heartbeat()->set_identity("raw");
      send_env("", hb);
    }
    std::deque<std::vector<std::string>> out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      out.swap(outbox_);
    }
    for (auto& frames : out) {
      std::vector<::zmq::const_buffer> bufs;
      for (const std::string& f : frames) bufs.emplace_back(f.data(), f.size());
      try {
        ::zmq::send_multipart(socket_, bufs, ::zmq::send_flags::dontwait);
      } catch (const ::zmq::error_t&) {
      }
    }
    ::zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    ::zmq::poll(&item, 1, std::chrono::milliseconds(5));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    while (true) {
      std::vector<::zmq::message_t> frames;
      if (!::zmq::recv_multipart(socket_, std::back_inserter(frames), ::zmq::recv_flags::dontwait)) break;
      Received r;
      size_t at = 0;
      if (router_) r.id = frames[at++].to_string();
      if (at >= frames.size() || !r.env.ParseFromArray(frames[at].data(), static_cast<int>(frames[at].size()))) {
        continue;
      }
      r.payload_frames = frames.size() - at - 1;
      if (r.env.has_heartbeat()) {
        heartbeats_++;
        if (answer_heartbeats && router_) {
          ::tandem::pd::wire::Envelope hb;
          hb.mutable_heartbeat()->set_identity("raw");
          std::string bytes = hb.SerializeAsString();
          std::vector<::zmq::const_buffer> bufs{::zmq::buffer(r.id), ::zmq::buffer(bytes)};
          ::zmq::send_multipart(socket_, bufs, ::zmq::send_flags::dontwait);
        }
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      inbox_.push_back(std::move(r));
      cv_.notify_all();
    }
  }
}

}  // namespace tandem::pd::testing
