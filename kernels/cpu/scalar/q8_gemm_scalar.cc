#include "kernels/cpu/scalar/q8_gemm_scalar.h"

#include <cmath>

#include "kernels/cpu/row_prep.h"

namespace tandem::kernels::cpu::scalar {

int act_offset(DType type) {
  switch (type) {
    case DType::kQ4_0: return 8;
    case DType::kQ6_K: return 32;
    default: return 0;  // Q8_0 is used signed; Q4_1 / Q4_K use the ds min term
  }
}

void quantize_acts(const float* x, int64_t r0, int64_t r1, int offset, const ActQ8& a) {
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t b = 0; b < a.nb; ++b) {
      const float* v = x + r * a.k + b * kActBlock;
      float amax = 0.0f;
      for (int i = 0; i < kActBlock; ++i) {
        const float av = std::fabs(v[i]);
        amax = av > amax ? av : amax;
      }
      const float d = amax / 127.0f;
      const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
      int8_t* q = a.qs + r * a.k + b * kActBlock;
      int32_t sum[2] = {0, 0};
      for (int i = 0; i < kActBlock; ++i) {
        q[i] = static_cast<int8_t>(std::nearbyint(v[i] * id));
        sum[i / 16] += q[i];
      }
      const int64_t ib = r * a.nb + b;
      a.d[ib] = d;
      a.ds[ib] = d * static_cast<float>(sum[0] + sum[1]);
      a.corr[ib] = -offset * (sum[0] + sum[1]);
      a.corr16[2 * ib] = -offset * sum[0];
      a.corr16[2 * ib + 1] = -offset * sum[1];
    }
  }
}

int64_t gemm_q_scratch_bytes(const QGemmArgs& a) { return a.k + 2 * (a.k / 32) * 4 + 128; }

void gemm_q(const QGemmArgs& a, int64_t n0, int64_t n1, int64_t r0, int64_t r1, uint8_t* scratch) {
  const int64_t nb = a.k / 32;
  auto* q = reinterpret_cast<int8_t*>(scratch);
  float* s0 = reinterpret_cast<float*>(scratch + ((a.k + 63) & ~63));
  float* s1 = s0 + nb;
  const ActQ8& x = *a.acts;
  const PackMode mode = pack_mode(a.type);
  for (int64_t j = n0; j < n1; ++j) {
    prep_row_scalar(a.type, a.w + j * a.row_bytes, a.k, q, s0, s1);
    for (int64_t r = r0; r < r1; ++r) {
      float total = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const int8_t* xq = x.qs + r * x.k + b * 32;
        const int8_t* wq = q + b * 32;
        int32_t lo = 0, hi = 0;
        for (int i = 0; i < 16; ++i) lo += wq[i] * xq[i];
        for (int i = 16; i < 32; ++i) hi += wq[i] * xq[i];
        const int64_t ib = r * nb + b;
        const float dx = x.d[ib];
        switch (mode) {
          case PackMode::kMin: total += static_cast<float>(lo + hi) * s0[b] * dx + s1[b] * x.ds[ib]; break;
          case PackMode::kOffset: total += static_cast<float>(lo + hi + x.corr[ib]) * s0[b] * dx; break;
          case PackMode::kHalves:
            total += (static_cast<float>(lo + x.corr16[2 * ib]) * s0[b] +
                      static_cast<float>(hi + x.corr16[2 * ib + 1]) * s1[b]) * dx;
            break;
        }
      }
      a.y[r * a.n + j] = total + (a.bias ? a.bias[j] : 0.0f);
    }
  }
}

}  // namespace tandem::kernels::cpu::scalar
