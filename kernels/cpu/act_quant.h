// Activations quantized to int8 for the integer matmuls. Every row of k = 32 * nb floats is cut
// into 32-element blocks; block b of row r becomes
//   d    = amax / 127                       (amax = max |x| over the block)
//   q[i] = round_half_even(x[i] * (127 / amax))   (0 when amax == 0), |q| <= 127
// which every ISA computes bit-identically (kernels/reference's simulate_act_quant is the same
// rule in floats). Side values let each weight format fold its zero point / min in cheaply:
//   ds[b]        = d * sum(q)                 Q4_1 / Q4_K min term
//   corr[b]      = -offset * sum(q)           formats whose packed weights carry a zero point
//   corr16[2b+h] = -offset * sum(q of half h) the same per 16 elements (Q6_K's scale groups)
// `offset` is the packed weights' zero point (ISA-specific: e.g. 128 when AVX-512 stores Q8_0
// weights as unsigned bytes w + 128 for vpdpbusd).
#pragma once

#include <cstdint>

namespace tandem::kernels::cpu {

inline constexpr int kActBlock = 32;

struct ActQ8 {
  int64_t m = 0;   // rows
  int64_t k = 0;   // elements per row
  int64_t nb = 0;  // k / 32
  int8_t* qs = nullptr;       // [m, k]
  float* d = nullptr;         // [m, nb]
  float* ds = nullptr;        // [m, nb]
  int32_t* corr = nullptr;    // [m, nb]
  int32_t* corr16 = nullptr;  // [m, 2 * nb]

  // Bytes needed for m rows of k (each array 64-byte aligned inside one buffer).
  static int64_t bytes_needed(int64_t m, int64_t k);
  // Points the arrays into `buffer` (at least bytes_needed(m, k), 64-byte aligned).
  static ActQ8 carve(void* buffer, int64_t m, int64_t k);
};

}  // namespace tandem::kernels::cpu
