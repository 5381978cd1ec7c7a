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

  // Sampling where the logits are (kernels/sample_rows.h), so a device sends back token ids, not
  // [rows, vocab] floats: forward_for_sampling runs the plan like forward() but leaves the logits
  // in the backend's memory; sample() then samples the rows described (logit_row = the row's index
  // among the plan's logit rows); logit_row() copies one raw row to the host for a request the
  // device path cannot serve (a row passed to sample() is edited: do not ask for it afterwards).
  // On a host backend the same calls run Backend::sample_rows' host version (tests use this).
  void forward_for_sampling(const scheduler::StepPlan& plan);
  std::span<const kernels::SampledToken> sample(std::span<const kernels::SampleRow> rows,
                                                std::span<const kernels::LogitEdit> edits);
  std::span<float> logit_row(int32_t row);
  // Whether the engine should sample with forward_for_sampling + sample rather than forward() and
  // the host samplers: on a device backend, unless TANDEM_DEVICE_SAMPLING says otherwise (0: never,
  // 1: on host backends too).
  bool samples_where_logits_are() const { return sample_on_backend_; }
  // Seconds the last sample() blocked waiting for the device's results (the step's device time not
  // hidden behind host work); 0 on a host backend.
  double last_device_wait_s() const { return last_wait_s_; }
  void set_sample_on_backend(bool on) { sample_on_backend_ = on; }

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
  void build_batch(const scheduler::StepPlan& plan);
  float* step_logits_ = nullptr;  // the last forward_for_sampling's logits (backend memory)
  int32_t step_rows_ = 0;
  bool sample_on_backend_ = false;
  kernels::BackendBuffer sample_io_;  // rows | edits | results, in backend memory
  std::vector<kernels::SampledToken> sampled_;
  std::vector<float> host_row_;
  double last_wait_s_ = 0.0;
  std::function<void(const model::ForwardBatch&)> before_forward_;
};

}  // namespace tandem::runtime
