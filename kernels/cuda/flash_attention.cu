// Tiled prefill attention on tensor cores (flash-attention style) for 16-bit KV caches.
// One block of 4 warps per (64-query tile of one sequence, head). The Q tile is rounded to the
// cache's 16-bit type once (pre-scaled by scale·log2 e, so softmax runs on exp2) and kept in WMMA
// fragments; each 64-key tile of K and V is gathered through the paged slot list into shared
// memory; S = Q·Kᵀ and O += P·V are 16×16×16 WMMA products with f32 accumulation. Online softmax
// works row by row in shared memory: warp w owns query rows 16w..16w+15 end to end, so after the
// one block barrier per key tile only warp-level syncs are needed. K/V tiles are double-buffered
// with cp.async (the next tile streams in while this one is computed). O stays in WMMA
// accumulators; the per-row rescale finds each element's row from a fragment loaded from a
// matrix of row numbers (WMMA leaves the layout unspecified). Key tiles past the tile's last
// query position are skipped (causal), and tiles are scheduled longest first. Decode rows
// (q_len 1) stay on attention.cu.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <mma.h>

#include <cmath>

#include "kernels/cuda/launch.h"

namespace tandem::kernels::cuda {

namespace {

using namespace nvcuda;

constexpr int kBr = 64;  // query rows per block, 16 per warp
constexpr int kBc = 64;  // keys per tile
constexpr int kWarps = kBr / 16;
constexpr int kThreads = kWarps * 32;
constexpr int kPad16 = 8;  // row padding of 16-bit tiles (elements): fewer bank conflicts, 32 B aligned rows of 16
constexpr int kPad32 = 4;  // row padding of f32 tiles
constexpr float kLog2e = 1.4426950408889634f;

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ __half from_float<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

template <typename T, int D>
struct Layout {
  static constexpr int kLdKv = D + kPad16;
  static constexpr int kLdS = kBc + kPad32;
  static constexpr int kLdP = kBc + kPad16;
  static constexpr int kLdO = D + kPad32;  // output staging, over the K/V buffers after the loop
  static constexpr size_t kKBytes = sizeof(T) * kBc * kLdKv;  // one K or V tile; Q is staged in one
  static constexpr size_t kSBytes = sizeof(float) * kBr * kLdS;
  static constexpr size_t kPBytes = sizeof(T) * kBr * kLdP;
  static constexpr size_t kBytes = 4 * kKBytes + kSBytes + kPBytes;  // K, V double-buffered
  static_assert(sizeof(float) * kBr * kLdO <= 4 * kKBytes, "output staging must fit in the K/V buffers");
};

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) flash_kernel(AttentionArgs a) {
  using L = Layout<T, D>;
  using Acc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
  extern __shared__ __align__(128) unsigned char smem[];
  // Buffer b of K at kb(b), of V at vb(b): K0 V0 K1 V1.
  auto kb = [&](int b) { return reinterpret_cast<T*>(smem + (2 * b) * L::kKBytes); };
  auto vb = [&](int b) { return reinterpret_cast<T*>(smem + (2 * b + 1) * L::kKBytes); };
  float* ss = reinterpret_cast<float*>(smem + 4 * L::kKBytes);
  T* ps = reinterpret_cast<T*>(smem + 4 * L::kKBytes + L::kSBytes);
  // Per-row softmax state (running max in log2 units, running sum) and this tile's rescale; in
  // shared memory rather than registers, which the Q and O fragments fill.
  __shared__ float s_m[kBr], s_l[kBr], s_corr[kBr];

  const int s = blockIdx.z, h = blockIdx.y;
  const int tile = gridDim.x - 1 - blockIdx.x;  // longest (latest) tiles first
  const int q0 = a.q_offsets[s];
  const int q_len = a.q_offsets[s + 1] - q0;
  const int row0 = tile * kBr;
  if (row0 >= q_len) return;
  const int rows = min(kBr, q_len - row0);
  const int ctx = a.ctx_lens[s];
  const int pos0 = ctx - q_len + row0;  // position of the tile's first query row
  const int kv_end = pos0 + rows;       // keys [0, kv_end) are visible to some row of the tile
  const int n_tiles = (kv_end + kBc - 1) / kBc;
  const int kvh = h / (a.n_heads / a.n_kv_heads);
  const int64_t kv_dim = static_cast<int64_t>(a.n_kv_heads) * D;
  const int32_t* slots = a.slots + a.slot_offsets[s];
  const T* kc = static_cast<const T*>(a.k_cache) + static_cast<int64_t>(kvh) * D;
  const T* vc = static_cast<const T*>(a.v_cache) + static_cast<int64_t>(kvh) * D;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const float qscale = a.scale * kLog2e;

  // Gathers key tile t into buffer b with asynchronous 16-byte copies; rows past kv_end are
  // zeroed (0 × garbage could be NaN in P·V).
  constexpr int kChunks = D / 8;  // 16-byte chunks per key row
  auto issue = [&](int t, int b) {
    T* kd = kb(b);
    T* vd = vb(b);
    for (int i = tid; i < kBc * kChunks; i += kThreads) {
      const int kk = i / kChunks, c = (i % kChunks) * 8, j = t * kBc + kk;
      if (j < kv_end) {
        const int64_t base = static_cast<int64_t>(slots[j]) * kv_dim + c;
        __pipeline_memcpy_async(kd + kk * L::kLdKv + c, kc + base, 16);
        __pipeline_memcpy_async(vd + kk * L::kLdKv + c, vc + base, 16);
      } else {
        *reinterpret_cast<uint4*>(kd + kk * L::kLdKv + c) = make_uint4(0, 0, 0, 0);
        *reinterpret_cast<uint4*>(vd + kk * L::kLdKv + c) = make_uint4(0, 0, 0, 0);
      }
    }
    __pipeline_commit();
  };
  issue(0, 0);

  // Q tile -> K buffer 1 (rounded, pre-scaled; rows past q_len are zero) -> fragments.
  T* qs = kb(1);
  for (int i = tid; i < kBr * D / 4; i += kThreads) {
    const int r = i / (D / 4), c = (i % (D / 4)) * 4;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (r < rows) {
      v = *reinterpret_cast<const float4*>(a.q + (static_cast<int64_t>(q0 + row0 + r) * a.n_heads + h) * D + c);
    }
    T* dst = qs + r * L::kLdKv + c;
    dst[0] = from_float<T>(v.x * qscale);
    dst[1] = from_float<T>(v.y * qscale);
    dst[2] = from_float<T>(v.z * qscale);
    dst[3] = from_float<T>(v.w * qscale);
  }
  // Which row of the 16 each accumulator element holds (WMMA leaves the layout unspecified, so
  // read it back from a fragment loaded from a matrix whose entries are their row numbers).
  float* srow = ss + warp * 16 * L::kLdS;
  for (int i = lane; i < 16 * 16; i += 32) srow[(i / 16) * L::kLdS + i % 16] = static_cast<float>(i / 16);
  __syncthreads();
  wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> qf[D / 16];
#pragma unroll
  for (int k = 0; k < D / 16; ++k) wmma::load_matrix_sync(qf[k], qs + warp * 16 * L::kLdKv + k * 16, L::kLdKv);
  Acc rowmap;
  wmma::load_matrix_sync(rowmap, srow, L::kLdS, wmma::mem_row_major);
  Acc o[D / 16];
#pragma unroll
  for (int n = 0; n < D / 16; ++n) wmma::fill_fragment(o[n], 0.0f);

  if (lane < 16) {
    s_m[warp * 16 + lane] = -INFINITY;
    s_l[warp * 16 + lane] = 0.0f;
  }
  __syncwarp();
  T* prow = ps + warp * 16 * L::kLdP;
  for (int t = 0; t < n_tiles; ++t) {
    const int j0 = t * kBc;
    __pipeline_wait_prior(0);
    // Tile t has landed for every thread, and every warp is done with tile t - 1 (and, the first
    // time, with the staged Q), so the other buffer may be refilled while this one is used.
    __syncthreads();
    if (t + 1 < n_tiles) issue(t + 1, (t + 1) & 1);
    const T* ks = kb(t & 1);
    const T* vs = vb(t & 1);

    // S = Q Kᵀ for the warp's rows.
#pragma unroll
    for (int n = 0; n < kBc / 16; ++n) {
      Acc acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int k = 0; k < D / 16; ++k) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> kf;
        wmma::load_matrix_sync(kf, ks + n * 16 * L::kLdKv + k * 16, L::kLdKv);
        wmma::mma_sync(acc, qf[k], kf, acc);
      }
      wmma::store_matrix_sync(srow + n * 16, acc, L::kLdS, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax, one row at a time; lane owns columns lane and lane + 32.
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      const int qpos = pos0 + warp * 16 + r;  // rows past q_len see keys past kv_end: all masked
      const int ja = j0 + lane, jb = j0 + lane + 32;
      const bool row_ok = warp * 16 + r < rows;
      const float sa = row_ok && ja <= qpos ? srow[r * L::kLdS + lane] : -INFINITY;
      const float sb = row_ok && jb <= qpos ? srow[r * L::kLdS + lane + 32] : -INFINITY;
      float mx = fmaxf(sa, sb);
      for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float m_old = s_m[warp * 16 + r];  // read by every lane before the shuffles below
      const float m_new = fmaxf(m_old, mx);
      float pa = 0.0f, pb = 0.0f, corr = 1.0f;
      if (m_new != -INFINITY) {  // else no key of this tile (or before) is visible to the row
        pa = exp2f(sa - m_new);  // -inf -> 0
        pb = exp2f(sb - m_new);
        corr = exp2f(m_old - m_new);
      }
      float sum = pa + pb;
      for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
      prow[r * L::kLdP + lane] = from_float<T>(pa);
      prow[r * L::kLdP + lane + 32] = from_float<T>(pb);
      if (lane == 0) {  // after the shuffles, so every lane has read s_m
        s_l[warp * 16 + r] = s_l[warp * 16 + r] * corr + sum;
        s_m[warp * 16 + r] = m_new;
        s_corr[warp * 16 + r] = corr;
      }
    }
    __syncwarp();

    // O = diag(corr) O + P V for the warp's rows, O in registers.
    float corr_el[Acc::num_elements];
#pragma unroll
    for (int i = 0; i < Acc::num_elements; ++i) corr_el[i] = s_corr[warp * 16 + static_cast<int>(rowmap.x[i])];
#pragma unroll
    for (int n = 0; n < D / 16; ++n) {
#pragma unroll
      for (int i = 0; i < Acc::num_elements; ++i) o[n].x[i] *= corr_el[i];
#pragma unroll
      for (int k = 0; k < kBc / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> pf;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> vf;
        wmma::load_matrix_sync(pf, prow + k * 16, L::kLdP);
        wmma::load_matrix_sync(vf, vs + k * 16 * L::kLdKv + n * 16, L::kLdKv);
        wmma::mma_sync(o[n], pf, vf, o[n]);
      }
    }
    __syncwarp();  // s_corr and P are rewritten by the next tile's softmax
  }

  // Stage O over the K/V buffers (every warp is past its last tile), then write the real rows;
  // every real row saw at least key 0, so l > 0 there.
  __syncthreads();
  float* os = reinterpret_cast<float*>(smem) + warp * 16 * L::kLdO;
#pragma unroll
  for (int n = 0; n < D / 16; ++n) wmma::store_matrix_sync(os + n * 16, o[n], L::kLdO, wmma::mem_row_major);
  __syncwarp();
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    if (warp * 16 + r >= rows) continue;
    const float inv = 1.0f / s_l[warp * 16 + r];
    float* dst = a.out + (static_cast<int64_t>(q0 + row0 + warp * 16 + r) * a.n_heads + h) * D;
    for (int d = lane; d < D; d += 32) dst[d] = os[r * L::kLdO + d] * inv;
  }
}

template <typename T, int D>
bool launch(const AttentionArgs& a, int max_q_len, cudaStream_t st) {
  using L = Layout<T, D>;
  static bool configured = false;  // once per instantiation; racing first calls set the same value
  if (!configured) {
    if (cudaFuncSetAttribute(flash_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(L::kBytes)) != cudaSuccess) {
      return false;
    }
    configured = true;
  }
  const dim3 grid(static_cast<unsigned>((max_q_len + kBr - 1) / kBr), static_cast<unsigned>(a.n_heads),
                  static_cast<unsigned>(a.num_seqs));
  flash_kernel<T, D><<<grid, kThreads, L::kBytes, st>>>(a);
  return true;
}

template <typename T>
bool launch_dim(const AttentionArgs& a, int max_q_len, cudaStream_t st) {
  switch (a.head_dim) {
    case 64: return launch<T, 64>(a, max_q_len, st);
    case 128: return launch<T, 128>(a, max_q_len, st);
    default: return false;
  }
}

}  // namespace

bool flash_attention_supported(CacheType t, int head_dim) {
  return t != CacheType::kF32 && (head_dim == 64 || head_dim == 128);
}

bool flash_attention(CacheType t, const AttentionArgs& a, int max_q_len, cudaStream_t s) {
  if (a.total_q <= 0 || max_q_len <= 0) return true;
  switch (t) {
    case CacheType::kF16: return launch_dim<__half>(a, max_q_len, s);
    case CacheType::kBF16: return launch_dim<__nv_bfloat16>(a, max_q_len, s);
    case CacheType::kF32: return false;
  }
  return false;
}

}  // namespace tandem::kernels::cuda
