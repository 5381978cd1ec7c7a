// Framing of the KV transfer protocol (proto/pd_transfer.proto): a message is
// [Envelope frame][payload frames]; only KvChunk has payload frames (K then V per layer). Encoding
// of staged rows is zero-copy (the frames point into the staging buffer, which they keep alive).
// Decoding checks frame counts and that the envelope parses; sizes against a layout are checked
// by check_chunk. Pure functions; any thread.
#pragma once

#include <memory>
#include <vector>

#include <zmq.hpp>

#include "common/status.h"
#include "pd_transfer.pb.h"
#include "worker/pd/kv_transfer.h"

namespace tandem::pd::zmq {

namespace pb = ::tandem::pd::wire;  // generated messages (package tandem.pd.wire)

using Frames = std::vector<::zmq::message_t>;

// Which Envelope case a message is ("reserve", "kv_chunk", ...; "empty" when unset).
const char* message_name(const pb::Envelope& env);

// [envelope] for a control message.
Frames encode(const pb::Envelope& env);
// [envelope(KvChunk)][K, V per layer], frames referencing `rows` without copying.
Frames encode_chunk(int32_t room, std::shared_ptr<const KvStaging> rows);

struct Decoded {
  pb::Envelope env;
  Frames payload;
};
// Parses [envelope][payload...] (the routing id already removed). kInvalidArgument for no frames,
// an undecodable or empty envelope, or a payload frame count that does not match the type.
StatusOr<Decoded> decode(Frames frames);

// Checks a decoded KvChunk against the receiver's layout and reserved length and wraps it as
// KvRows (spans into the frames, which the result owns). kInvalidArgument on any mismatch.
StatusOr<KvRows> check_chunk(Decoded decoded, const KvLayout& layout, int32_t prompt_len);

pb::KvLayout to_proto(const KvLayout& layout);
StatusOr<KvLayout> from_proto(const pb::KvLayout& layout);

}  // namespace tandem::pd::zmq
