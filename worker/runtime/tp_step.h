// How the ranks of a tensor-parallel worker stay in step. Rank 0 (scheduler, sampling, the gRPC
// service) broadcasts every forward batch on the ControlChannel before running it; ranks > 0 run
// run_tp_follower(): receive → the same forward on their shard → repeat, until rank 0 says stop.
// Each message carries a step number and a hash of the batch; a follower that sees a gap or a
// batch that does not hash to what rank 0 sent stops the job (ACCEPTANCE 27: every rank agrees on
// which requests are in each step — by construction, and checked).
//
// Thread model: TpLeader is used by rank 0's engine thread (and, once that thread has stopped, by
// the thread that calls shutdown()); run_tp_follower occupies the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "worker/model/forward_batch.h"
#include "worker/model/llama_model.h"
#include "worker/runtime/kv_cache.h"
#include "worker/runtime/process_group.h"

namespace tandem::runtime {

// kKvGather / kKvScatter: a disaggregated transfer's KV rows leave or enter every rank's cache
// (worker/pd/tp_kv_rows.*); their payload is theirs to define.
enum class TpCommand : uint32_t { kForward = 1, kShutdown = 2, kKvGather = 3, kKvScatter = 4 };

// Wire form of one control message (host bytes; both ends are the same binary).
std::string encode_tp_step(TpCommand command, uint64_t step, const model::ForwardBatch& batch,
                           const std::string& payload = {});
struct TpStep {
  TpCommand command = TpCommand::kShutdown;
  uint64_t step = 0;
  model::ForwardBatch batch;  // kForward
  std::string payload;        // the other commands
};
StatusOr<TpStep> decode_tp_step(const std::string& bytes);
uint64_t hash_batch(const model::ForwardBatch& batch);

class TpLeader {
 public:
  explicit TpLeader(ControlChannel& channel) : channel_(channel) {}
  // Sends the batch rank 0 is about to run.
  void forward(const model::ForwardBatch& batch);
  // Any other command (kKvGather, kKvScatter) with its payload.
  void send(TpCommand command, const std::string& payload);
  // Tells the followers to return. Idempotent.
  void shutdown();
  uint64_t steps() const { return step_; }

 private:
  ControlChannel& channel_;
  uint64_t step_ = 0;
  bool stopped_ = false;
  std::string buf_;
};

// Follows rank 0 until it shuts down (OK) or a message is malformed / out of order (error: the
// caller should end the job). Commands other than kForward go to `other` (an error when null).
using TpCommandHandler = std::function<Status(const TpStep&)>;
Status run_tp_follower(ControlChannel& channel, model::LlamaModel& model, KvCache& kv,
                       const TpCommandHandler& other = nullptr);

}  // namespace tandem::runtime
