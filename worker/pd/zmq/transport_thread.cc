#include "worker/pd/zmq/transport_thread.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/check.h"

namespace tandem::pd::zmq {

TransportThread::TransportThread(std::string name, TransferOptions options)
    : name_(std::move(name)), options_(options), ctx_(1) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  CHECK(wake_fd_ >= 0, "{}: eventfd failed", name_);
}

TransportThread::~TransportThread() {
  stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void TransportThread::start() { thread_ = std::thread([this] { loop(); }); }

void TransportThread::stop() {
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void TransportThread::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(cmd_mu_);
    commands_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void TransportThread::set_listener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(listener);
}

void TransportThread::notify() {
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (listener_) listener_();
}

TransferStats TransportThread::stats_snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void TransportThread::dropped(const std::string& what) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.dropped_messages += 1;
  }
  std::lock_guard<std::mutex> lock(drop_mu_);
  const Clock::time_point now = Clock::now();
  if (now - last_drop_log_ < std::chrono::seconds(1)) {
    drops_since_log_ += 1;
    return;
  }
  spdlog::warn("{}: dropped a message: {}{}", name_, what,
               drops_since_log_ > 0 ? fmt::format(" ({} more dropped since the last line)", drops_since_log_)
                                    : std::string());
  last_drop_log_ = now;
  drops_since_log_ = 0;
}

void TransportThread::record_room_locked(bool ok, int64_t bytes,
                                         std::optional<Clock::time_point> first_chunk,
                                         Clock::time_point end) {
  (ok ? stats_.rooms_succeeded : stats_.rooms_failed) += 1;
  if (!ok || !first_chunk) return;
  // Exponential average over recent rooms (weight 1/8 for the newest).
  const double ms = std::chrono::duration<double, std::milli>(end - *first_chunk).count();
  const double gbs = ms > 0 ? static_cast<double>(bytes) / (ms * 1e-3) / 1e9 : 0.0;
  constexpr double kWeight = 0.125;
  const bool first = stats_.kv_transfer_latency_ms == 0.0 && stats_.kv_transfer_speed_gb_s == 0.0;
  stats_.kv_transfer_latency_ms = first ? ms : (1 - kWeight) * stats_.kv_transfer_latency_ms + kWeight * ms;
  if (gbs > 0) {
    stats_.kv_transfer_speed_gb_s =
        first ? gbs : (1 - kWeight) * stats_.kv_transfer_speed_gb_s + kWeight * gbs;
  }
}

void TransportThread::loop() {
  // Poll often enough for timeouts and heartbeats to be on time (a tenth of the interval, 5-50 ms).
  const auto tick_ms = std::clamp<long>(static_cast<long>(options_.heartbeat_interval_s * 100), 5, 50);
  while (true) {
    std::deque<std::function<void()>> cmds;
    {
      std::lock_guard<std::mutex> lock(cmd_mu_);
      if (stopping_) break;
      cmds.swap(commands_);
    }
    for (auto& c : cmds) c();

    std::vector<::zmq::socket_t*> socks = sockets();
    std::vector<::zmq::pollitem_t> items;
    items.reserve(socks.size() + 1);
    for (::zmq::socket_t* s : socks) items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});
    try {
      ::zmq::poll(items.data(), items.size(), std::chrono::milliseconds(tick_ms));
    } catch (const ::zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::error("{}: zmq poll failed: {}", name_, e.what());
    }
    if (items.back().revents & ZMQ_POLLIN) {
      uint64_t v;
      (void)!read(wake_fd_, &v, sizeof v);
    }
    for (size_t i = 0; i < socks.size(); ++i) {
      if (items[i].revents & ZMQ_POLLIN) on_readable(*socks[i]);
    }
    tick(Clock::now());
  }
}

}  // namespace tandem::pd::zmq
