#include "gateway/routing/pd_pairing.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "common/check.h"

namespace tandem::gateway::routing {

std::string bootstrap_host(std::string_view url) {
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  if (!url.empty() && url.front() == '[') {
    size_t close = url.find(']');
    return std::string(close == std::string_view::npos ? url.substr(1) : url.substr(1, close - 1));
  }
  // One colon: host:port. More (a bare IPv6 address): no port to strip.
  size_t colon = url.rfind(':');
  if (colon == std::string_view::npos || url.find(':') != colon) return std::string(url);
  return std::string(url.substr(0, colon));
}

uint16_t resolve_bootstrap_port(std::optional<uint16_t> configured, std::optional<uint16_t> reported) {
  if (configured) return *configured;
  if (reported) return *reported;
  return kDefaultBootstrapPort;
}

std::optional<uint16_t> parse_port(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (!(v >= 1 && v <= 65535) || std::floor(v) != v) return std::nullopt;
  return static_cast<uint16_t>(v);
}

std::vector<WorkerSnapshot> prefer_untried(std::span<const WorkerSnapshot> candidates,
                                           const std::set<std::string>& exclude) {
  std::vector<WorkerSnapshot> fresh;
  for (const WorkerSnapshot& w : candidates) {
    if (!exclude.count(w.id())) fresh.push_back(w);
  }
  if (fresh.empty()) fresh.assign(candidates.begin(), candidates.end());
  return fresh;
}

PdPairPicker::PdPairPicker(std::unique_ptr<RoutingPolicy> prefill, std::unique_ptr<RoutingPolicy> decode)
    : prefill_(std::move(prefill)), decode_(std::move(decode)) {
  CHECK(prefill_ != nullptr && decode_ != nullptr, "PdPairPicker needs both policies");
}

std::optional<PdPair> PdPairPicker::select(std::span<const WorkerSnapshot> prefill_candidates,
                                           std::span<const WorkerSnapshot> decode_candidates,
                                           const RouteRequest& request) {
  if (prefill_candidates.empty() || decode_candidates.empty()) return std::nullopt;
  std::optional<size_t> p = prefill_->select(prefill_candidates, request);
  std::optional<size_t> d = decode_->select(decode_candidates, request);
  if (!p || !d || *p >= prefill_candidates.size() || *d >= decode_candidates.size()) {
    return std::nullopt;
  }
  return PdPair{*p, *d};
}

void PdPairPicker::on_request_routed(std::string_view prefill_id, std::string_view decode_id,
                                     std::span<const int32_t> tokens) {
  prefill_->on_request_routed(prefill_id, tokens);
  decode_->on_request_routed(decode_id, tokens);
}

void PdPairPicker::on_worker_removed(std::string_view worker_id) {
  prefill_->on_worker_removed(worker_id);
  decode_->on_worker_removed(worker_id);
}

RoomLease::RoomLease(RoomLease&& other) noexcept
    : state_(std::move(other.state_)), room_(other.room_) {
  other.room_ = -1;
}

RoomLease& RoomLease::operator=(RoomLease&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    room_ = other.room_;
    other.room_ = -1;
  }
  return *this;
}

void RoomLease::reset() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mu);
    state_->live.erase(room_);
  }
  state_.reset();
  room_ = -1;
}

BootstrapRooms::BootstrapRooms(std::optional<uint64_t> seed) : state_(std::make_shared<RoomLease::State>()) {
  state_->rng.seed(seed ? *seed : std::random_device{}());
}

RoomLease BootstrapRooms::acquire() {
  std::lock_guard lock(state_->mu);
  std::uniform_int_distribution<int32_t> dist(0, std::numeric_limits<int32_t>::max());
  // At most a few thousand rooms are live among 2^31, so a redraw is rare and the loop short.
  int32_t room = dist(state_->rng);
  while (!state_->live.insert(room).second) room = dist(state_->rng);
  return RoomLease(state_, room);
}

size_t BootstrapRooms::live() const {
  std::lock_guard lock(state_->mu);
  return state_->live.size();
}

}  // namespace tandem::gateway::routing
