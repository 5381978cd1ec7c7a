// Tiled prefill attention on tensor cores (flash-attention style) for 16-bit KV caches.
// One block of 4 warps per (64-query tile of one sequence, head). The Q tile is rounded to the
// cache's 16-bit type once (pre-scaled by scale·log2 e, so softmax runs on exp2) and kept in WMMA
// fragments; each 64-key tile of K and V is gathered through the paged slot list into shared
// memory; S = Q·Kᵀ and O += P·V are 16×16×16 WMMA products with f32 accumulation. Online softmax
// works row by row in shared memory: warp w owns query rows 16w..16w+15 end to end, so after the
// two block barriers per key tile (K/V loaded, K/V consumed) only warp-level syncs are needed.
// O lives in shared memory as f32 because WMMA accumulators have no defined element-to-row map,
// and the per-row rescale needs one. Key tiles past the tile's last query position are skipped
// (causal), and tiles are scheduled longest first. Decode rows (q_len 1) stay on attention.cu.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
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
  static constexpr int kLdO = D + kPad32;
  static constexpr size_t kKBytes = sizeof(T) * kBc * kLdKv;  // also stages the Q tile
  static constexpr size_t kSBytes = sizeof(float) * kBr * kLdS;
  static constexpr size_t kPBytes = sizeof(T) * kBr * kLdP;
  static constexpr size_t kOBytes = sizeof(float) * kBr * kLdO;
  static constexpr size_t kBytes = 2 * kKBytes + kSBytes + kPBytes + kOBytes;
};

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) flash_kernel(AttentionArgs a) {
  using L = Layout<T, D>;
  extern __shared__ __align__(128) unsigned char smem[];
  T* ks = reinterpret_cast<T*>(smem);
  T* vs = reinterpret_cast<T*>(smem + L::kKBytes);
  float* ss = reinterpret_cast<float*>(smem + 2 * L::kKBytes);
  T* ps = reinterpret_cast<T*>(smem + 2 * L::kKBytes + L::kSBytes);
  float* os = reinterpret_cast<float*>(smem + 2 * L::kKBytes + L::kSBytes + L::kPBytes);

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
  const int kvh = h / (a.n_heads / a.n_kv_heads);
  const int64_t kv_dim = static_cast<int64_t>(a.n_kv_heads) * D;
  const int32_t* slots = a.slots + a.slot_offsets[s];
  const T* kc = static_cast<const T*>(a.k_cache) + static_cast<int64_t>(kvh) * D;
  const T* vc = static_cast<const T*>(a.v_cache) + static_cast<int64_t>(kvh) * D;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const float qscale = a.scale * kLog2e;

  // Q tile -> ks (rounded, pre-scaled; rows past q_len are zero) -> fragments.
  for (int i = tid; i < kBr * D / 4; i += kThreads) {
    const int r = i / (D / 4), c = (i % (D / 4)) * 4;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (r < rows) {
      v = *reinterpret_cast<const float4*>(a.q + (static_cast<int64_t>(q0 + row0 + r) * a.n_heads + h) * D + c);
    }
    T* dst = ks + r * L::kLdKv + c;
    dst[0] = from_float<T>(v.x * qscale);
    dst[1] = from_float<T>(v.y * qscale);
    dst[2] = from_float<T>(v.z * qscale);
    dst[3] = from_float<T>(v.w * qscale);
  }
  for (int i = tid; i < kBr * L::kLdO; i += kThreads) os[i] = 0.0f;
  __syncthreads();
  wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> qf[D / 16];
#pragma unroll
  for (int k = 0; k < D / 16; ++k) wmma::load_matrix_sync(qf[k], ks + warp * 16 * L::kLdKv + k * 16, L::kLdKv);

  // Softmax state of the warp's 16 rows, the same in every lane.
  float m[16], l[16];
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
  }
  constexpr int kChunks = D / 8;  // 16-byte chunks per key row
  for (int j0 = 0; j0 < kv_end; j0 += kBc) {
    __syncthreads();  // the previous tile's K/V (and, the first time, the staged Q) are consumed
    for (int i = tid; i < kBc * kChunks; i += kThreads) {
      const int kk = i / kChunks, c = (i % kChunks) * 8;
      uint4 kv4 = make_uint4(0, 0, 0, 0), vv4 = make_uint4(0, 0, 0, 0);
      if (j0 + kk < kv_end) {  // zero rows past the end: 0 × garbage could be NaN in P·V
        const int64_t base = static_cast<int64_t>(slots[j0 + kk]) * kv_dim + c;
        kv4 = *reinterpret_cast<const uint4*>(kc + base);
        vv4 = *reinterpret_cast<const uint4*>(vc + base);
      }
      *reinterpret_cast<uint4*>(ks + kk * L::kLdKv + c) = kv4;
      *reinterpret_cast<uint4*>(vs + kk * L::kLdKv + c) = vv4;
    }
    __syncthreads();

    // S = Q Kᵀ for the warp's rows.
    float* srow = ss + warp * 16 * L::kLdS;
#pragma unroll
    for (int n = 0; n < kBc / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
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
    T* prow = ps + warp * 16 * L::kLdP;
    float* orow = os + warp * 16 * L::kLdO;
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      const int qpos = pos0 + warp * 16 + r;  // rows past q_len see keys past kv_end: all masked
      const int ja = j0 + lane, jb = j0 + lane + 32;
      const bool row_ok = warp * 16 + r < rows;
      const float sa = row_ok && ja <= qpos ? srow[r * L::kLdS + lane] : -INFINITY;
      const float sb = row_ok && jb <= qpos ? srow[r * L::kLdS + lane + 32] : -INFINITY;
      float mx = fmaxf(sa, sb);
      for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
      const float m_new = fmaxf(m[r], mx);
      float pa = 0.0f, pb = 0.0f, corr = 1.0f;
      if (m_new != -INFINITY) {  // else no key of this tile (or before) is visible to the row
        pa = exp2f(sa - m_new);  // -inf -> 0
        pb = exp2f(sb - m_new);
        corr = exp2f(m[r] - m_new);
      }
      float sum = pa + pb;
      for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      l[r] = l[r] * corr + sum;
      m[r] = m_new;
      prow[r * L::kLdP + lane] = from_float<T>(pa);
      prow[r * L::kLdP + lane + 32] = from_float<T>(pb);
      if (corr != 1.0f) {
        for (int d = lane; d < D; d += 32) orow[r * L::kLdO + d] *= corr;
      }
    }
    __syncwarp();

    // O += P V for the warp's rows.
#pragma unroll
    for (int n = 0; n < D / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, orow + n * 16, L::kLdO, wmma::mem_row_major);
#pragma unroll
      for (int k = 0; k < kBc / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> pf;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> vf;
        wmma::load_matrix_sync(pf, prow + k * 16, L::kLdP);
        wmma::load_matrix_sync(vf, vs + k * 16 * L::kLdKv + n * 16, L::kLdKv);
        wmma::mma_sync(acc, pf, vf, acc);
      }
      wmma::store_matrix_sync(orow + n * 16, acc, L::kLdO, wmma::mem_row_major);
    }
    __syncwarp();
  }

  // Every real row saw at least key 0, so l > 0 there.
  const float* orow = os + warp * 16 * L::kLdO;
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    if (warp * 16 + r >= rows) continue;
    const float inv = 1.0f / l[r];
    float* dst = a.out + (static_cast<int64_t>(q0 + row0 + warp * 16 + r) * a.n_heads + h) * D;
    for (int d = lane; d < D; d += 32) dst[d] = orow[r * L::kLdO + d] * inv;
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
