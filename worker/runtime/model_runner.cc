#include "worker/runtime/model_runner.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "common/check.h"

namespace tandem::runtime {

ModelRunner::ModelRunner(model::LlamaModel& model, KvCache& kv)
    : model_(model), kv_(kv), vocab_(model.config().vocab_size) {
  // TANDEM_DEVICE_SAMPLING: 0 = always the host samplers, 1 = always Backend::sample_rows (on a host
  // backend too: tests run the engine's device path in CI that way), unset = on device backends.
  const char* env = std::getenv("TANDEM_DEVICE_SAMPLING");
  sample_on_backend_ = env != nullptr && *env ? std::strcmp(env, "0") != 0 : model.backend().is_device();
}

void ModelRunner::build_batch(const scheduler::StepPlan& plan) {
  batch_.clear();
  for (const scheduler::PlannedSequence& s : plan.sequences) {
    CHECK(!s.new_tokens.empty() && s.new_tokens.size() <= s.context_slots.size(),
          "request {}: {} new tokens for a context of {} slots", s.request_id, s.new_tokens.size(),
          s.context_slots.size());
    batch_.add_sequence(s.new_tokens, s.context_slots);
    // add_sequence asks for the last token's logits; chunks before a prompt's last need none.
    if (!s.needs_logits) batch_.logit_rows.pop_back();
  }
}

std::span<float> ModelRunner::forward(const scheduler::StepPlan& plan) {
  build_batch(plan);
  logits_.resize(batch_.logit_rows.size() * static_cast<size_t>(vocab_));
  if (batch_.num_tokens() > 0) {
    if (before_forward_) before_forward_(batch_);
    model_.forward(batch_, kv_, logits_.data());
  }
  return logits_;
}

void ModelRunner::forward_for_sampling(const scheduler::StepPlan& plan) {
  build_batch(plan);
  step_rows_ = static_cast<int32_t>(batch_.logit_rows.size());
  step_logits_ = nullptr;
  if (batch_.num_tokens() == 0) return;
  if (before_forward_) before_forward_(batch_);
  if (model_.backend().is_device()) {
    model_.forward(batch_, kv_, nullptr);
    step_logits_ = model_.device_logits();
  } else {
    logits_.resize(static_cast<size_t>(step_rows_) * vocab_);
    model_.forward(batch_, kv_, logits_.data());
    step_logits_ = logits_.data();
  }
}

std::span<const kernels::SampledToken> ModelRunner::sample(std::span<const kernels::SampleRow> rows,
                                                           std::span<const kernels::LogitEdit> edits) {
  sampled_.resize(rows.size());
  if (rows.empty()) return sampled_;
  for (const kernels::SampleRow& r : rows) {
    CHECK(r.logit_row >= 0 && r.logit_row < step_rows_ && r.edit_begin >= 0 && r.edit_begin <= r.edit_end &&
              static_cast<size_t>(r.edit_end) <= edits.size(),
          "sample row {} with edits [{}, {}) outside the step's {} rows / {} edits", r.logit_row, r.edit_begin,
          r.edit_end, step_rows_, edits.size());
  }
  kernels::Backend& be = model_.backend();
  const size_t row_bytes = rows.size_bytes(), edit_bytes = edits.size_bytes();
  const size_t out_bytes = rows.size() * sizeof(kernels::SampledToken);
  // Three 256-byte-aligned sections of one buffer: one upload for rows and edits, one download.
  auto align = [](size_t b) { return (b + 255) / 256 * 256; };
  const size_t need = align(row_bytes) + align(edit_bytes) + out_bytes;
  if (sample_io_.bytes() < need) sample_io_ = kernels::BackendBuffer(be, need * 2);
  auto* base = static_cast<char*>(sample_io_.get());
  auto* d_rows = reinterpret_cast<kernels::SampleRow*>(base);
  auto* d_edits = reinterpret_cast<kernels::LogitEdit*>(base + align(row_bytes));
  auto* d_out = reinterpret_cast<kernels::SampledToken*>(base + align(row_bytes) + align(edit_bytes));
  be.copy_to_backend(d_rows, rows.data(), row_bytes);
  be.copy_to_backend(d_edits, edits.data(), edit_bytes);
  be.sample_rows(step_logits_, vocab_, d_rows, static_cast<int64_t>(rows.size()), d_edits, d_out);
  const auto t0 = std::chrono::steady_clock::now();
  be.copy_to_host(sampled_.data(), d_out, out_bytes);
  last_wait_s_ = be.is_device() ? std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() : 0.0;
  return sampled_;
}

std::span<float> ModelRunner::logit_row(int32_t row) {
  CHECK(row >= 0 && row < step_rows_, "logit row {} outside the step's {} rows", row, step_rows_);
  const float* src = step_logits_ + static_cast<size_t>(row) * vocab_;
  if (!model_.backend().is_device()) return {const_cast<float*>(src), static_cast<size_t>(vocab_)};
  host_row_.resize(vocab_);
  model_.backend().copy_to_host(host_row_.data(), src, static_cast<size_t>(vocab_) * sizeof(float));
  return host_row_;
}

}  // namespace tandem::runtime
