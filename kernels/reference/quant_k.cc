// The 256-element "K" GGML blocks: Q4_K and Q6_K.
//
// Q4_K (144 bytes): f16 d, f16 dmin, scales[12], qs[128]. Eight sub-blocks of 32 with 6-bit
// scale sc and min m: x = d * sc * q - dmin * m. Sub-blocks 2j and 2j+1 share qs[32j, 32j+32):
// low nibbles are sub-block 2j, high nibbles sub-block 2j+1. The 12 scale bytes pack (sc, m) for
// sub-block j < 4 in the low 6 bits of bytes j and j+4; for j >= 4, the low 4 bits of each sit in
// byte j+4 (sc low nibble, m high nibble) and the top 2 bits in the spare top bits of bytes j-4
// (sc) and j (m).
//
// Q6_K (210 bytes): ql[128], qh[64], int8 scales[16], f16 d. Sixteen sub-blocks of 16:
// x = d * scales[s] * (q - 32), q = 4 low bits from ql | 2 high bits from qh. Within each half
// of 128 elements (ql += 64, qh += 32, scales += 8 per half), element l + 32 * t (l < 32,
// t = 0..3) takes its low bits from ql[l + 32 * (t & 1)] (low nibble for t < 2, high nibble
// otherwise) and its high bits from bits 2t..2t+1 of qh[l]; its scale is scales[l / 16 + 2t].
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/check.h"
#include "kernels/reference/quant.h"

namespace tandem::kernels::ref {

namespace {

constexpr int kSuper = 256;

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

void q4k_scale_min(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void q4k_pack_scales(const int* sc, const int* m, uint8_t* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0x0F) | ((m[j + 4] & 0x0F) << 4));
  }
}

}  // namespace

void dequantize_q4_k(const void* src, int64_t n, float* dst) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kSuper; ++i, b += 144) {
    const float d = fp16_to_fp32(load_u16(b));
    const float dmin = fp16_to_fp32(load_u16(b + 2));
    const uint8_t* scales = b + 4;
    const uint8_t* qs = b + 16;
    float* y = dst + i * kSuper;
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      q4k_scale_min(j, scales, &sc, &m);
      const float ds = d * static_cast<float>(sc);
      const float dm = dmin * static_cast<float>(m);
      const uint8_t* q = qs + 32 * (j / 2);
      const int shift = (j & 1) ? 4 : 0;
      for (int l = 0; l < 32; ++l) y[32 * j + l] = ds * static_cast<float>((q[l] >> shift) & 0x0F) - dm;
    }
  }
}

void dequantize_q6_k(const void* src, int64_t n, float* dst) {
  const auto* b = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kSuper; ++i, b += 210) {
    const float d = fp16_to_fp32(load_u16(b + 208));
    const auto* scales = reinterpret_cast<const int8_t*>(b + 192);
    float* y = dst + i * kSuper;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b + 64 * half;
      const uint8_t* qh = b + 128 + 32 * half;
      const int8_t* sc = scales + 8 * half;
      for (int l = 0; l < 32; ++l) {
        for (int t = 0; t < 4; ++t) {
          const uint8_t low = ql[l + 32 * (t & 1)];
          const int lo4 = t < 2 ? (low & 0x0F) : (low >> 4);
          const int hi2 = (qh[l] >> (2 * t)) & 3;
          const int q = (lo4 | hi2 << 4) - 32;
          y[128 * half + l + 32 * t] = d * static_cast<float>(sc[l / 16 + 2 * t]) * static_cast<float>(q);
        }
      }
    }
  }
}

void quantize_q4_k(const float* src, int64_t n, void* dst) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / kSuper; ++i, b += 144) {
    const float* x = src + i * kSuper;
    // Per sub-block: x ~ scale * q - min with min >= 0 (so the range always includes 0).
    float scale[8], mins[8];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
      float lo = 0.0f, hi = 0.0f;
      for (int l = 0; l < 32; ++l) {
        lo = std::min(lo, x[32 * j + l]);
        hi = std::max(hi, x[32 * j + l]);
      }
      scale[j] = (hi - lo) / 15.0f;
      mins[j] = -lo;
      max_scale = std::max(max_scale, scale[j]);
      max_min = std::max(max_min, mins[j]);
    }
    const float d = max_scale / 63.0f;
    const float dmin = max_min / 63.0f;
    store_u16(b, fp32_to_fp16(d));
    store_u16(b + 2, fp32_to_fp16(dmin));
    // Quantize scales against the f16-rounded super-block factors the decoder will use.
    const float dq = fp16_to_fp32(load_u16(b));
    const float dminq = fp16_to_fp32(load_u16(b + 2));
    int sc[8], m[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = dq > 0.0f ? static_cast<int>(std::clamp(std::lround(scale[j] / dq), 0L, 63L)) : 0;
      m[j] = dminq > 0.0f ? static_cast<int>(std::clamp(std::lround(mins[j] / dminq), 0L, 63L)) : 0;
    }
    q4k_pack_scales(sc, m, b + 4);
    uint8_t* qs = b + 16;
    std::memset(qs, 0, 128);
    for (int j = 0; j < 8; ++j) {
      const float ds = dq * static_cast<float>(sc[j]);
      const float dm = dminq * static_cast<float>(m[j]);
      const float ids = ds != 0.0f ? 1.0f / ds : 0.0f;
      const int shift = (j & 1) ? 4 : 0;
      for (int l = 0; l < 32; ++l) {
        const long q = std::clamp(std::lround((x[32 * j + l] + dm) * ids), 0L, 15L);
        qs[32 * (j / 2) + l] |= static_cast<uint8_t>(q << shift);
      }
    }
  }
}

void quantize_q6_k(const float* src, int64_t n, void* dst) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / kSuper; ++i, b += 210) {
    const float* x = src + i * kSuper;
    float scale[16];
    float max_scale = 0.0f;
    for (int s = 0; s < 16; ++s) {
      float amax = 0.0f;
      for (int l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(x[16 * s + l]));
      scale[s] = amax / 31.0f;
      max_scale = std::max(max_scale, scale[s]);
    }
    const float d = max_scale / 127.0f;
    store_u16(b + 208, fp32_to_fp16(d));
    const float dq = fp16_to_fp32(load_u16(b + 208));
    auto* scales = reinterpret_cast<int8_t*>(b + 192);
    int q[kSuper];
    for (int s = 0; s < 16; ++s) {
      const long sc = dq > 0.0f ? std::clamp(std::lround(scale[s] / dq), 0L, 127L) : 0;
      scales[s] = static_cast<int8_t>(sc);
      const float step = dq * static_cast<float>(sc);
      const float inv = step != 0.0f ? 1.0f / step : 0.0f;
      for (int l = 0; l < 16; ++l) {
        q[16 * s + l] = static_cast<int>(std::clamp(std::lround(x[16 * s + l] * inv), -32L, 31L)) + 32;
      }
    }
    std::memset(b, 0, 192);
    for (int half = 0; half < 2; ++half) {
      uint8_t* ql = b + 64 * half;
      uint8_t* qh = b + 128 + 32 * half;
      for (int l = 0; l < 32; ++l) {
        for (int t = 0; t < 4; ++t) {
          const int v = q[128 * half + l + 32 * t];
          ql[l + 32 * (t & 1)] |= static_cast<uint8_t>((v & 0x0F) << (t < 2 ? 0 : 4));
          qh[l] |= static_cast<uint8_t>((v >> 4) << (2 * t));
        }
      }
    }
  }
}

}  // namespace tandem::kernels::ref
