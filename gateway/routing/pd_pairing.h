// Prefill/decode pairing: which (prefill, decode) pair serves a request, the bootstrap room that
// names it on the KV-transfer side, and the prefill worker's bootstrap endpoint.
//
// The request path in PD mode (gateway/server/worker_pool.cc):
//   pair = picker.select(healthy(kPrefill) minus tried, healthy(kDecode) minus tried, request);
//   picker.on_request_routed(prefill id, decode id, tokens);
//   lease = rooms.acquire();                     // unique among live requests
//   endpoint = {bootstrap_host(prefill url), resolve_bootstrap_port(configured, reported)}
// and the same GenerateRequest, with {host, port, room}, goes to both workers at once.
//
// Thread model: PdPairPicker and BootstrapRooms are thread-safe; RoomLease belongs to one request.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "gateway/routing/policies/routing_policy.h"
#include "gateway/routing/worker.h"

namespace tandem::gateway::routing {

// SGLang's default bootstrap port, used when neither the operator nor the worker names one.
inline constexpr uint16_t kDefaultBootstrapPort = 8998;

// The host part of a worker address: "10.0.0.5:50051" → "10.0.0.5", "[::1]:7000" → "::1",
// "grpc://h:1" → "h". An address without a port is returned as is (minus any scheme).
std::string bootstrap_host(std::string_view worker_url);
// The operator's port wins, then the one the worker reports (GetServerInfo server_args
// "disaggregation_bootstrap_port"), then kDefaultBootstrapPort.
uint16_t resolve_bootstrap_port(std::optional<uint16_t> configured, std::optional<uint16_t> reported);
// The port from a server_args value ("8998" or 8998.0); nullopt when it is not a port number.
std::optional<uint16_t> parse_port(std::string_view text);

// `candidates` without the ids in `exclude`, unless that leaves nothing (then all of them): a
// retry prefers workers not tried yet but still runs when every worker was tried.
std::vector<WorkerSnapshot> prefer_untried(std::span<const WorkerSnapshot> candidates,
                                           const std::set<std::string>& exclude);

struct PdPair {
  size_t prefill = 0;  // index into the prefill candidates
  size_t decode = 0;   // index into the decode candidates
};

// Two policies, one per pool. The prefill policy sees the prompt (cache_aware matches prefixes
// where the prompt is computed); the decode policy balances load (and, cache-aware, the decode
// side's own radix cache, which keeps the prompt after the transfer).
class PdPairPicker {
 public:
  PdPairPicker(std::unique_ptr<RoutingPolicy> prefill, std::unique_ptr<RoutingPolicy> decode);

  // nullopt when either side has no candidate.
  std::optional<PdPair> select(std::span<const WorkerSnapshot> prefill_candidates,
                               std::span<const WorkerSnapshot> decode_candidates,
                               const RouteRequest& request);
  void on_request_routed(std::string_view prefill_id, std::string_view decode_id,
                         std::span<const int32_t> tokens);
  void on_worker_removed(std::string_view worker_id);

  RoutingPolicy& prefill_policy() { return *prefill_; }
  RoutingPolicy& decode_policy() { return *decode_; }

 private:
  const std::unique_ptr<RoutingPolicy> prefill_;
  const std::unique_ptr<RoutingPolicy> decode_;
};

class BootstrapRooms;

// A room held by one live request; released (reusable) when the lease is destroyed or reset.
class RoomLease {
 public:
  RoomLease() = default;
  RoomLease(RoomLease&& other) noexcept;
  RoomLease& operator=(RoomLease&& other) noexcept;
  RoomLease(const RoomLease&) = delete;
  RoomLease& operator=(const RoomLease&) = delete;
  ~RoomLease() { reset(); }

  bool active() const { return state_ != nullptr; }
  int32_t room() const { return room_; }
  void reset();

 private:
  friend class BootstrapRooms;
  struct State;
  RoomLease(std::shared_ptr<State> state, int32_t room) : state_(std::move(state)), room_(room) {}
  std::shared_ptr<State> state_;
  int32_t room_ = -1;
};

// Mints bootstrap rooms: random int32 >= 0, never one a live request holds (the prefill worker
// finds the decode side's reservation by room, so two live requests must not share one).
// Random rather than a counter so rooms from two gateways in front of one prefill pool rarely
// collide. Leases may outlive the BootstrapRooms.
class BootstrapRooms {
 public:
  explicit BootstrapRooms(std::optional<uint64_t> seed = std::nullopt);
  RoomLease acquire();
  size_t live() const;

 private:
  std::shared_ptr<RoomLease::State> state_;
};

struct RoomLease::State {
  mutable std::mutex mu;
  std::mt19937_64 rng;                 // guarded by mu
  std::unordered_set<int32_t> live;    // guarded by mu
};

}  // namespace tandem::gateway::routing
