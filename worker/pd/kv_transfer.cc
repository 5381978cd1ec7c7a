#include "worker/pd/kv_transfer.h"

#include "worker/pd/zmq/zmq_decode.h"
#include "worker/pd/zmq/zmq_prefill.h"

namespace tandem::pd {

std::string_view room_state_name(RoomState state) {
  switch (state) {
    case RoomState::kBootstrapping: return "bootstrapping";
    case RoomState::kWaitingForInput: return "waiting_for_input";
    case RoomState::kTransferring: return "transferring";
    case RoomState::kSuccess: return "success";
    case RoomState::kFailed: return "failed";
  }
  return "unknown";
}

std::string bootstrap_endpoint(const std::string& host, int32_t port) {
  const bool v6 = host.find(':') != std::string::npos && host.front() != '[';
  return v6 ? fmt::format("tcp://[{}]:{}", host, port) : fmt::format("tcp://{}:{}", host, port);
}

StatusOr<std::unique_ptr<PrefillTransport>> make_prefill_transport(std::string_view backend,
                                                                   const std::string& bind,
                                                                   KvLayout layout,
                                                                   TransferOptions options) {
  if (backend != "zmq") {
    return invalid_argument("unknown KV transfer backend '{}'; available: zmq", backend);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<zmq::ZmqPrefillTransport> t,
                   zmq::ZmqPrefillTransport::create(bind, layout, options));
  return std::unique_ptr<PrefillTransport>(std::move(t));
}

StatusOr<std::unique_ptr<DecodeTransport>> make_decode_transport(std::string_view backend,
                                                                 KvLayout layout,
                                                                 TransferOptions options) {
  if (backend != "zmq") {
    return invalid_argument("unknown KV transfer backend '{}'; available: zmq", backend);
  }
  return std::unique_ptr<DecodeTransport>(std::make_unique<zmq::ZmqDecodeTransport>(layout, options));
}

}  // namespace tandem::pd
