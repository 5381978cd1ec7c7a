// ModelRunner: runs one scheduler StepPlan through the model — builds the ragged ForwardBatch (one
// sequence per PlannedSequence, in plan order) and returns one logit row per sequence that needs
// logits. The only place the engine touches the model, so a device backend can make forward()
// asynchronous (launch, then wait while the CPU plans the next step) without changing its callers.
// Engine thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "scheduler/batch_plan.h"
#include "worker/model/forward_batch.h"
#include "worker/model/llama_model.h"
#include "worker/runtime/kv_cache.h"

namespace tandem::runtime {

class ModelRunner {
 public:
  ModelRunner(model::LlamaModel& model, KvCache& kv);

  // Runs the plan. Returns [plan.num_logit_rows(), vocab] row-major logits, valid until the next
  // call; the caller may edit them in place (samplers do).
  std::span<float> forward(const scheduler::StepPlan& plan);

  // Called with each batch just before the model runs it (a tensor-parallel rank 0 broadcasts it
  // to the other ranks here: TpLeader::forward).
  void set_before_forward(std::function<void(const model::ForwardBatch&)> fn) { before_forward_ = std::move(fn); }

  int32_t vocab_size() const { return vocab_; }
  const model::LlamaModel& model() const { return model_; }

 private:
  model::LlamaModel& model_;
  KvCache& kv_;
  int32_t vocab_;
  model::ForwardBatch batch_;
  std::vector<float> logits_;
  std::function<void(const model::ForwardBatch&)> before_forward_;
};

}  // namespace tandem::runtime
