// The exp-and-sum kernel behind exp_range (logit_math.h), one implementation per instruction set.
// Internal to worker/sampling; pure functions, thread-safe.
//
// Every variant computes the same bits: the same float operations per element (no FMA), and the
// running sums are kept in 8 lanes (two SSE registers or one AVX register, lane k summing the
// elements at offsets = k mod 8) combined in the same order. So a draw does not depend on which
// CPU the worker runs on.
#pragma once

#include <cstdint>

namespace tandem::sampling::detail {

using ExpRangeFn = float (*)(const float* x, int32_t begin, int32_t end, float shift, float scale,
                             float min_weight, float* out);

// SSE2 where the compiler targets it (every x86-64), plain C++ elsewhere.
float exp_range_baseline(const float* x, int32_t begin, int32_t end, float shift, float scale,
                         float min_weight, float* out);

// AVX2 variant, or nullptr when this CPU (or this build) has no AVX2.
ExpRangeFn exp_range_avx2_if_supported();

}  // namespace tandem::sampling::detail
