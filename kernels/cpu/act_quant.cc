#include "kernels/cpu/act_quant.h"

namespace tandem::kernels::cpu {

namespace {
int64_t align64(int64_t n) { return (n + 63) & ~int64_t{63}; }
}  // namespace

int64_t ActQ8::bytes_needed(int64_t m, int64_t k) {
  const int64_t nb = k / kActBlock;
  return align64(m * k) + 3 * align64(m * nb * 4) + align64(m * nb * 8);
}

ActQ8 ActQ8::carve(void* buffer, int64_t m, int64_t k) {
  ActQ8 a;
  a.m = m;
  a.k = k;
  a.nb = k / kActBlock;
  auto* p = static_cast<uint8_t*>(buffer);
  a.qs = reinterpret_cast<int8_t*>(p);
  p += align64(m * k);
  a.d = reinterpret_cast<float*>(p);
  p += align64(m * a.nb * 4);
  a.ds = reinterpret_cast<float*>(p);
  p += align64(m * a.nb * 4);
  a.corr = reinterpret_cast<int32_t*>(p);
  p += align64(m * a.nb * 4);
  a.corr16 = reinterpret_cast<int32_t*>(p);
  return a;
}

}  // namespace tandem::kernels::cpu
