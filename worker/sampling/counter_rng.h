// Counter-based random numbers for sampling: SplitMix64 evaluated at an explicit position.
//
// Why counter-based: a request's draw at step n must not depend on which other requests share its
// batch, on how many draws came before on this worker, or on whether the request was retracted and
// re-prefilled (or handed from a prefill worker to a decode worker) in between. Keying each draw by
// (seed, step, draw-within-step) gives that for free; a stateful generator would have to be
// checkpointed and shipped around. SplitMix64's output function is a strong 64-bit mixer (it is
// the finalizer of Java's SplittableRandom and seeds xoshiro), so evaluating it at position
// `key + i * gamma` is exactly the i-th SplitMix64 output of the stream seeded with `key`.
// Pure functions of their arguments: thread-safe.
#pragma once

#include <cstdint>

namespace tandem::sampling {

inline constexpr uint64_t kSplitMixGamma = 0x9E3779B97F4A7C15ull;

inline constexpr uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class CounterRng {
 public:
  // The user's seed is mixed once so that nearby seeds (0, 1, 2, ...) start unrelated streams.
  explicit constexpr CounterRng(uint64_t seed) : key_(splitmix64_mix(seed ^ 0x5DEECE66Dull)) {}

  // 64 random bits at position `counter` of this stream.
  constexpr uint64_t bits(uint64_t counter) const {
    return splitmix64_mix(key_ + (counter + 1) * kSplitMixGamma);
  }

  // Uniform double in [0, 1) with 53 random bits.
  constexpr double uniform(uint64_t counter) const {
    return static_cast<double>(bits(counter) >> 11) * 0x1.0p-53;
  }

 private:
  uint64_t key_;
};

}  // namespace tandem::sampling
