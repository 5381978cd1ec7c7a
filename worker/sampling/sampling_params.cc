#include "worker/sampling/sampling_params.h"

#include <cmath>

namespace tandem::sampling {
namespace {

// Comparisons are written so that NaN fails them (every NaN is out of range).
Status check_range(const char* field, float value, float lo, float hi, bool lo_open,
                   const char* hint) {
  const bool above_lo = lo_open ? value > lo : value >= lo;
  if (above_lo && value <= hi) return Status::Ok();
  return invalid_argument("sampling param '{}' must be in {}{}, {}]{}; got {}", field,
                          lo_open ? "(" : "[", lo, hi, hint, value);
}

}  // namespace

Status SamplingParams::validate(int32_t vocab_size) const {
  if (vocab_size <= 0) {
    return invalid_argument("sampling: vocab_size must be > 0, got {} (is the model loaded?)",
                            vocab_size);
  }
  if (!(temperature >= 0.0f) || !std::isfinite(temperature)) {
    return invalid_argument(
        "sampling param 'temperature' must be a finite number >= 0 (0 means greedy); got {}",
        temperature);
  }
  RETURN_IF_ERROR(check_range("top_p", top_p, 0.0f, 1.0f, /*lo_open=*/true, " (1 disables)"));
  if (top_k < -1) {
    return invalid_argument(
        "sampling param 'top_k' must be -1 or 0 (disabled) or a positive count; got {}", top_k);
  }
  RETURN_IF_ERROR(check_range("min_p", min_p, 0.0f, 1.0f, false, " (0 disables)"));
  RETURN_IF_ERROR(check_range("repetition_penalty", repetition_penalty, 0.0f, 2.0f, true,
                              " (1 disables)"));
  RETURN_IF_ERROR(
      check_range("frequency_penalty", frequency_penalty, -2.0f, 2.0f, false, " (0 disables)"));
  RETURN_IF_ERROR(
      check_range("presence_penalty", presence_penalty, -2.0f, 2.0f, false, " (0 disables)"));
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || token >= vocab_size) {
      return invalid_argument(
          "sampling param 'logit_bias' has token id {} outside the vocabulary [0, {})", token,
          vocab_size);
    }
    if (!std::isfinite(bias)) {
      return invalid_argument(
          "sampling param 'logit_bias' for token {} must be a finite number; got {}", token, bias);
    }
  }
  if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs) {
    return invalid_argument("sampling param 'top_logprobs' must be in [0, {}]; got {}",
                            kMaxTopLogprobs, top_logprobs);
  }
  if (max_new_tokens < 0) {
    return invalid_argument("sampling param 'max_new_tokens' must be >= 0; got {}", max_new_tokens);
  }
  if (min_new_tokens < 0 || min_new_tokens > max_new_tokens) {
    return invalid_argument(
        "sampling param 'min_new_tokens' must be in [0, max_new_tokens = {}]; got {}",
        max_new_tokens, min_new_tokens);
  }
  for (int32_t token : stop_token_ids) {
    if (token < 0 || token >= vocab_size) {
      return invalid_argument(
          "sampling param 'stop_token_ids' has token id {} outside the vocabulary [0, {})", token,
          vocab_size);
    }
  }
  return Status::Ok();
}

}  // namespace tandem::sampling
