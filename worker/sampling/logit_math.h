// Full-vocabulary passes over one sequence's float32 logits: max, argmax, and the exp/sum pass that
// softmax, log-softmax and sampling share. These are the only O(vocab) loops of a sampling step,
// so they are written to vectorize (SSE2 intrinsics where available, plain loops elsewhere).
// Pure functions: thread-safe.
//
// NaN logits are treated as -inf (never chosen, weight 0); the model runner should not produce them.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

namespace tandem::sampling {

inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Block size of the partial sums exp_pass records, so that drawing from the full vocabulary walks
// vocab / kExpBlock block sums and then one block instead of every token.
inline constexpr int32_t kExpBlock = 256;

inline constexpr int32_t num_exp_blocks(int32_t n) { return (n + kExpBlock - 1) / kExpBlock; }

// exp(x) for float, relative error ~2e-7 over the range we use (x <= 0). Inputs below -87.3 (where
// float exp underflows), -inf and NaN give exactly 0, so masked tokens get exactly zero weight.
// Branch-free so that loops calling it vectorize.
inline float fast_exp(float x) {
  const float clamped = x >= -87.3f ? (x <= 88.0f ? x : 88.0f) : -87.3f;
  // Round x / ln2 to the nearest integer with the 1.5 * 2^23 trick (exact in this range).
  const float n = (clamped * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // r = x - n ln2 in two steps (Cody-Waite) so r keeps full precision; |r| <= ln2 / 2.
  float r = clamped - n * 0.693145751953125f;
  r = r - n * 1.42860682030941723212e-6f;
  // Taylor polynomial of degree 6; the first omitted term is < 1.2e-7 relative for |r| <= ln2/2.
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return x >= -87.3f ? p * scale : 0.0f;
}

// Largest non-NaN value; -inf when there is none (n == 0 or all -inf/NaN).
float max_logit(const float* x, int32_t n);

// Index of the largest value, the lowest index among equal maxima; -1 when every value is -inf or
// NaN (nothing can be chosen).
int32_t argmax_logit(const float* x, int32_t n);

// w[i] = exp((x[i] - shift) * scale) for i < n, set to 0 where it is below min_weight; returns
// sum(w) (float within each kExpBlock block, double across blocks). When w is null the weights
// are only summed. When block_sums is non-null it receives each block's sum (num_exp_blocks(n)
// entries). shift should be max_logit(x, n) so that no weight exceeds 1.
double exp_pass(const float* x, int32_t n, float shift, float scale, float min_weight, float* w,
                float* block_sums);

// The same weights for x[begin, end) only, written to out[0, end - begin); returns their float sum.
// Called on [b * kExpBlock, min(n, (b + 1) * kExpBlock)) it reproduces block b of exp_pass
// exactly (same operations in the same order).
float exp_range(const float* x, int32_t begin, int32_t end, float shift, float scale,
                float min_weight, float* out);

// log(sum(exp(x))), computed stably; -inf when every value is -inf.
double log_sum_exp(const float* x, int32_t n);

}  // namespace tandem::sampling
