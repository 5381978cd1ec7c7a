#include "kernels/cpu/avx512/q8_gemm_avx512.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/avx512/q8_pack_avx512.h"
#include "kernels/cpu/row_prep.h"

namespace tandem::kernels::cpu::avx512 {

namespace {

constexpr int64_t kKcBlocks = 64;  // K chunk packed at once: 64 x 640 B = 40 KiB (L1/L2 resident)
constexpr int kMaxRows = 8;        // activation rows per microkernel pass
constexpr int kMaxFusedRows = 2;   // up to this many rows: pack in registers, once per row pass
constexpr int kPrefetchTiles = 2;  // the fused path prefetches this many tiles ahead

inline __m512i bcast_dword(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Where a microkernel pass gets its packed blocks: from a PackedBlock array packed earlier
// (shared by every pass over the activation rows), or packed on the fly into registers (one
// pass only: few activation rows, Q4_0 / Q4_1 / Q8_0).
struct StoredBlocks {
  const PackedBlock* pk;
  RegBlock get(int64_t b) const {
    RegBlock r;
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) r.w[t] = _mm512_load_si512(pk[b].w[t]);
    r.s0 = _mm512_load_ps(pk[b].s0);
    r.s1 = _mm512_load_ps(pk[b].s1);
    return r;
  }
};

// Software prefetch of a later tile into L2, a few lines per block, so its copy (below) finds
// it there: DRAM then sees one steady sequential stream per thread.
struct TilePrefetch {
  const uint8_t* begin = nullptr;
  int64_t lines = 0;
  int64_t lines_per_block = 0;
  void at_block(int64_t b) const {
    const int64_t l0 = b * lines_per_block;
    const int64_t l1 = l0 + lines_per_block < lines ? l0 + lines_per_block : lines;
    for (int64_t l = l0; l < l1; ++l) _mm_prefetch(reinterpret_cast<const char*>(begin + l * 64), _MM_HINT_T1);
  }
};

template <DType T>
struct LiveBlocks {
  const uint8_t* const* rows;
  int64_t b0;
  TilePrefetch prefetch;
  RegBlock get(int64_t b) const {
    prefetch.at_block(b);
    if constexpr (T == DType::kQ8_0) {
      return pack_block_q8_0(rows, b0 + b);
    } else {
      return pack_block_q4<T == DType::kQ4_1>(rows, b0 + b);
    }
  }
};

// y[r .. r+C, j0 .. j0+16] (+)= blocks [0, nblk) of src . acts rows r.. at act blocks blk0.. .
template <PackMode M, int C, class Src>
void tile_kernel(const Src& src, int64_t nblk, const ActQ8& a, int64_t r, int64_t blk0, float* y, int64_t ldy,
                 __mmask16 mask, bool first, const float* bias) {
  __m512 tot[C], totm[C];
#pragma GCC unroll 16
  for (int c = 0; c < C; ++c) {
    tot[c] = _mm512_setzero_ps();
    totm[c] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nblk; ++b) {
    const RegBlock p = src.get(b);
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      const int64_t ib = (r + c) * a.nb + blk0 + b;
      const int8_t* xq = a.qs + (r + c) * a.k + (blk0 + b) * 32;
      const __m512 dx = _mm512_set1_ps(a.d[ib]);
      if constexpr (M == PackMode::kHalves) {
        __m512i lo = _mm512_set1_epi32(a.corr16[2 * ib]);
        __m512i hi = _mm512_set1_epi32(a.corr16[2 * ib + 1]);
#pragma GCC unroll 4
        for (int t = 0; t < 4; ++t) lo = _mm512_dpbusd_epi32(lo, p.w[t], bcast_dword(xq + 4 * t));
#pragma GCC unroll 4
        for (int t = 4; t < 8; ++t) hi = _mm512_dpbusd_epi32(hi, p.w[t], bcast_dword(xq + 4 * t));
        tot[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lo), _mm512_mul_ps(p.s0, dx), tot[c]);
        totm[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi), _mm512_mul_ps(p.s1, dx), totm[c]);
      } else {
        __m512i acc = M == PackMode::kOffset ? _mm512_set1_epi32(a.corr[ib]) : _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int t = 0; t < 8; ++t) acc = _mm512_dpbusd_epi32(acc, p.w[t], bcast_dword(xq + 4 * t));
        tot[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_mul_ps(p.s0, dx), tot[c]);
        if constexpr (M == PackMode::kMin) totm[c] = _mm512_fmadd_ps(p.s1, _mm512_set1_ps(a.ds[ib]), totm[c]);
      }
    }
  }
#pragma GCC unroll 16
  for (int c = 0; c < C; ++c) {
    float* yr = y + (r + c) * ldy;
    __m512 out = _mm512_add_ps(tot[c], totm[c]);
    if (first) {
      if (bias) out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(mask, bias));
    } else {
      out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(mask, yr));
    }
    _mm512_mask_storeu_ps(yr, mask, out);
  }
}

template <PackMode M, class Src>
void sweep_rows(const Src& src, int64_t nblk, const ActQ8& a, int64_t r0, int64_t r1, int64_t blk0, float* y,
                int64_t ldy, __mmask16 mask, bool first, const float* bias) {
  int64_t r = r0;
  for (; r + kMaxRows <= r1; r += kMaxRows) tile_kernel<M, kMaxRows>(src, nblk, a, r, blk0, y, ldy, mask, first, bias);
  switch (r1 - r) {
    case 7: tile_kernel<M, 7>(src, nblk, a, r, blk0, y, ldy, mask, first, bias); break;
    case 6: tile_kernel<M, 6>(src, nblk, a, r, blk0, y, ldy, mask, first, bias); break;
    case 5: tile_kernel<M, 5>(src, nblk, a, r, blk0, y, ldy, mask, first, bias); break;
    case 4: tile_kernel<M, 4>(src, nblk, a, r, blk0, y, ldy, mask, first, bias); break;
    case 3: tile_kernel<M, 3>(src, nblk, a, r, blk0, y, ldy, mask, first, bias); break;
    case 2: tile_kernel<M, 2>(src, nblk, a, r, blk0, y, ldy, mask, first, bias); break;
    case 1: tile_kernel<M, 1>(src, nblk, a, r, blk0, y, ldy, mask, first, bias); break;
    default: break;
  }
}

// Few activation rows and a 32-element format: pack in registers, no PackedBlock round trip.
template <DType T, PackMode M>
void fused_tile(const uint8_t* const* rows, int64_t nb, const ActQ8& a, int64_t r0, int64_t r1, float* y,
                int64_t ldy, __mmask16 mask, const float* bias, const TilePrefetch& prefetch) {
  const LiveBlocks<T> src{rows, 0, prefetch};
  switch (r1 - r0) {
    case 1: tile_kernel<M, 1>(src, nb, a, r0, 0, y, ldy, mask, true, bias); break;
    case 2: tile_kernel<M, 2>(src, nb, a, r0, 0, y, ldy, mask, true, bias); break;
    default: break;
  }
}

}  // namespace

int act_offset(DType type) {
  switch (type) {
    case DType::kQ8_0: return 128;  // packed as q + 128 (q8_pack_avx512.cc)
    case DType::kQ4_0: return 8;
    case DType::kQ6_K: return 32;
    default: return 0;
  }
}

void quantize_acts(const float* x, int64_t r0, int64_t r1, int offset, const ActQ8& a) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t b = 0; b < a.nb; ++b) {
      const float* v = x + r * a.k + b * kActBlock;
      const __m512 f0 = _mm512_loadu_ps(v), f1 = _mm512_loadu_ps(v + 16);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, f0), _mm512_andnot_ps(sign, f1)));
      const float d = amax / 127.0f;
      const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
      const __m512 vid = _mm512_set1_ps(id);
      const __m512i q0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(f0, vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512i q1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(f1, vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      int8_t* q = a.qs + r * a.k + b * kActBlock;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtepi32_epi8(q1));
      const int32_t lo = _mm512_reduce_add_epi32(q0), hi = _mm512_reduce_add_epi32(q1);
      const int64_t ib = r * a.nb + b;
      a.d[ib] = d;
      a.ds[ib] = d * static_cast<float>(lo + hi);
      a.corr[ib] = -offset * (lo + hi);
      a.corr16[2 * ib] = -offset * lo;
      a.corr16[2 * ib + 1] = -offset * hi;
    }
  }
}

int64_t gemm_q_scratch_bytes(const QGemmArgs& a) {
  return kKcBlocks * static_cast<int64_t>(sizeof(PackedBlock)) + kTileRows * static_cast<int64_t>(a.row_bytes) + 128;
}

void gemm_q(const QGemmArgs& a, int64_t n0, int64_t n1, int64_t r0, int64_t r1, uint8_t* scratch) {
  auto* pk = reinterpret_cast<PackedBlock*>((reinterpret_cast<uintptr_t>(scratch) + 63) & ~uintptr_t{63});
  uint8_t* tile_copy = reinterpret_cast<uint8_t*>(pk + kKcBlocks);
  const int64_t nb = a.k / 32;
  const PackMode mode = pack_mode(a.type);
  const uint8_t* rows[kTileRows];
  for (int64_t j0 = n0; j0 < n1; j0 += kTileRows) {
    const int valid = static_cast<int>(a.n - j0 < kTileRows ? a.n - j0 : kTileRows);
    // Stream the tile's rows (one contiguous range) into L1/L2 first and pack from the copy:
    // reading 16 rows in lockstep straight from DRAM defeats the hardware prefetcher (6-8 GB/s
    // against 22+ for a sequential read on Zen 4, one thread), and a GEMV is all DRAM bandwidth.
    std::memcpy(tile_copy, a.w + j0 * a.row_bytes, static_cast<size_t>(valid) * a.row_bytes);
    for (int j = 0; j < kTileRows; ++j) rows[j] = tile_copy + (j < valid ? j : valid - 1) * a.row_bytes;
    const __mmask16 mask = static_cast<__mmask16>((1u << valid) - 1);
    const float* bias = a.bias ? a.bias + j0 : nullptr;
    float* y = a.y + j0;
    if (r1 - r0 <= kMaxFusedRows) {
      TilePrefetch pf;
      const int64_t pf_row = j0 + kPrefetchTiles * kTileRows;
      if (pf_row < n1) {
        pf.begin = a.w + pf_row * a.row_bytes;
        pf.lines = static_cast<int64_t>((std::min<int64_t>(kTileRows, n1 - pf_row) * a.row_bytes + 63) / 64);
        pf.lines_per_block = (pf.lines + nb - 1) / nb;
      }
      switch (a.type) {
        case DType::kQ4_0: fused_tile<DType::kQ4_0, PackMode::kOffset>(rows, nb, *a.acts, r0, r1, y, a.n, mask, bias, pf); continue;
        case DType::kQ4_1: fused_tile<DType::kQ4_1, PackMode::kMin>(rows, nb, *a.acts, r0, r1, y, a.n, mask, bias, pf); continue;
        case DType::kQ8_0: fused_tile<DType::kQ8_0, PackMode::kOffset>(rows, nb, *a.acts, r0, r1, y, a.n, mask, bias, pf); continue;
        default: break;
      }
    }
    for (int64_t kb = 0; kb < nb; kb += kKcBlocks) {
      const int64_t kb1 = nb - kb < kKcBlocks ? nb : kb + kKcBlocks;
      pack_rows(a.type, rows, kb, kb1, pk);
      const StoredBlocks src{pk};
      const bool first = kb == 0;
      switch (mode) {
        case PackMode::kMin: sweep_rows<PackMode::kMin>(src, kb1 - kb, *a.acts, r0, r1, kb, y, a.n, mask, first, bias); break;
        case PackMode::kOffset: sweep_rows<PackMode::kOffset>(src, kb1 - kb, *a.acts, r0, r1, kb, y, a.n, mask, first, bias); break;
        case PackMode::kHalves: sweep_rows<PackMode::kHalves>(src, kb1 - kb, *a.acts, r0, r1, kb, y, a.n, mask, first, bias); break;
      }
    }
  }
}

}  // namespace tandem::kernels::cpu::avx512
