// KV rows of a disaggregated transfer when this worker is tensor parallel. The wire always carries
// full rows (every KV head), so a prefill at TP=2 can feed a decode at TP=1 and the reverse: rank 0
// (which runs the transport) asks every rank for its KV heads' part of the rows and lays the parts
// side by side by KV head (gather), or hands every rank the full rows and each keeps its heads'
// part (scatter). Replicated KV heads are taken from the first rank that holds them.
//
// Thread model: TpKvRowIo is used by rank 0's engine thread; follow_kv_command by the follower loop
// of ranks > 0. Both sides must run the same commands in the same order (the TpLeader guarantees
// it: every command goes through it).
#pragma once

#include <memory>

#include "worker/model/model_config.h"
#include "worker/model/tp_shard.h"
#include "worker/pd/kv_rows.h"
#include "worker/runtime/tp_step.h"

namespace tandem::pd {

std::unique_ptr<KvRowIo> tp_kv_row_io(runtime::KvCache& kv, const model::ModelConfig& config,
                                      const model::TpShard& shard, runtime::TpLeader& leader,
                                      runtime::ControlChannel& channel);

// A follower's part of a kKvGather / kKvScatter command (for run_tp_follower's handler).
Status follow_kv_command(const runtime::TpStep& step, runtime::KvCache& kv, const model::ModelConfig& config,
                         const model::TpShard& shard, runtime::ControlChannel& channel);

}  // namespace tandem::pd
