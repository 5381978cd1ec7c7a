// Sampling logit rows where the logits are (a device backend's memory), so only token ids travel
// back to the host. The engine's per-request samplers (worker/sampling) stay the source of the
// semantics; they describe each row's step as a SampleRow plus a list of sparse LogitEdits, the
// backend runs Backend::sample_rows, and the samplers take the results back.
//
// Semantics of one row (the same as worker/sampling's SequenceSampler, except how the draw walks
// the distribution, see below):
//   1. logprob (want_logprob): log_sum_exp of the raw row, before any edit;
//   2. edits in kind order: every kRepeat entry (l = l > 0 ? l / value : l * value), then every
//      kSubtract (l -= value), kAdd (l += value, in list order), kMask (l = -inf); within one kind
//      the tokens are distinct except kAdd (applied one after another) and kMask (idempotent);
//   3. greedy: the highest edited logit, ties to the lowest id (NaN counts as -inf);
//      otherwise weights w = exp((l - max) / temperature) in [0, 1], held as 40-bit fixed point
//      q = floor(w * 2^40) so every sum below is an exact integer (the same token for the same
//      inputs, whatever the reduction order or thread count). Survivors: sort by (w desc, id asc);
//      min-p keeps w >= min_p, top-k the first k, top-p the shortest prefix whose mass reaches
//      top_p * (sum of all q); the survivors are the shortest of the three prefixes (jointly, as
//      SGLang and our CPU sampler judge them). The draw: r = floor(u * S) for S the survivors'
//      mass, and the token is the first survivor, walking ids upward, whose running mass exceeds r.
//      (The CPU sampler walks blocks of the vocabulary or a candidate pool instead, so a seed gives
//      the same distribution on both, not always the same token.)
// Backend memory throughout: rows, edits (their `raw` fields are written), results.
#pragma once

#include <cstdint>

namespace tandem::kernels {

enum class LogitEditKind : int32_t { kRepeat = 0, kSubtract = 1, kAdd = 2, kMask = 3 };

struct LogitEdit {
  int32_t token = 0;  // in [0, vocab)
  LogitEditKind kind = LogitEditKind::kAdd;
  float value = 0.0f;
  float raw = 0.0f;  // written by sample_rows: the logit before any edit of this step
};

struct SampleRow {
  int32_t logit_row = 0;    // row of the logits buffer
  int32_t edit_begin = 0;   // edits [edit_begin, edit_end), sorted by kind
  int32_t edit_end = 0;
  int32_t greedy = 0;       // 1: argmax, the fields below are unused
  int32_t top_k = 0;        // <= 0 or >= vocab: off
  int32_t want_logprob = 0;
  float temperature = 1.0f;
  float top_p = 1.0f;       // >= 1: off
  float min_p = 0.0f;       // <= 0: off
  float pad_ = 0.0f;
  double u = 0.0;           // the draw's uniform in [0, 1)
};

struct SampledToken {
  int32_t token = -1;    // -1: every edited logit is -inf or NaN
  float logprob = 0.0f;  // raw logit of token - raw log_sum_exp (when want_logprob)
};

// The weight scale of the fixed-point draw (2^40).
inline constexpr double kSampleWeightScale = 1099511627776.0;

// The host implementation over host memory (the default Backend::sample_rows, and the reference
// the CUDA kernel is tested against).
void sample_rows_host(float* logits, int64_t vocab, const SampleRow* rows, int64_t n, LogitEdit* edits,
                      SampledToken* out);

}  // namespace tandem::kernels
