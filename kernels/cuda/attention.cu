// Paged attention over a ragged batch (prefill chunks and decode rows alike), causal, GQA.
// First pass, correctness first: one block of 4 warps per (query row, head, KV split); each warp
// takes every 4th key of the split, a lane holds head_dim / 32 of the dimensions, and the dot
// product is a warp reduction; online softmax per warp, warps merged in shared memory. Decode
// splits the keys (split-KV) when rows × heads alone would leave SMs idle, and a second kernel
// merges the splits; each row sizes its split chunks from its own context length. Prefill with
// 16-bit caches goes to flash_attention.cu (tensor cores); this kernel serves decode, f32 caches
// and odd head sizes.
//
// decode_kernel (below) is the fast path for rows of 16-bit caches with head_dim 64 or 128 (all
// decode steps): one block per (row, KV head, split) serves every query head of the KV head's
// group (GQA), so each key row is read once per row rather than once per query head. A key's
// D / 8 lanes each load 16 bytes of K and of V; a warp keeps 8 keys (4 KB) in flight before their
// first use, and the softmax rescale happens once per 8 keys. Slot indices are staged in shared
// memory a tile at a time so the gathers do not wait on a dependent index load.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "kernels/cuda/launch.h"

namespace tandem::kernels::cuda {

namespace {

constexpr int kWarps = 4;

__device__ __forceinline__ float load(const float* p) { return *p; }
__device__ __forceinline__ float load(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ float load(const __nv_bfloat16* p) { return __bfloat162float(*p); }

// V: dimensions per lane (head_dim <= 32 * V).
template <typename T, int V>
__global__ void __launch_bounds__(kWarps * 32) attention_kernel(AttentionArgs a) {
  const int row = blockIdx.x, h = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int D = a.head_dim;
  // The row's sequence: last s with q_offsets[s] <= row.
  int lo = 0, hi = a.num_seqs - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (a.q_offsets[mid] <= row) lo = mid; else hi = mid - 1;
  }
  const int s = lo;
  const int q_len = a.q_offsets[s + 1] - a.q_offsets[s];
  const int pos = a.ctx_lens[s] - q_len + (row - a.q_offsets[s]);
  // The split of this row's own keys (a grid sized for a longer bound leaves later splits empty
  // only when the row has fewer than num_splits * min_chunk keys).
  const int n_keys = pos + 1;
  const int chunk = max(a.min_chunk, (n_keys + a.num_splits - 1) / a.num_splits);
  const int begin = split * chunk;
  const int end = min(n_keys, begin + chunk);
  const int kvh = h / (a.n_heads / a.n_kv_heads);
  const int64_t kv_dim = static_cast<int64_t>(a.n_kv_heads) * D;
  const int32_t* slots = a.slots + a.slot_offsets[s];
  const T* kc = static_cast<const T*>(a.k_cache);
  const T* vc = static_cast<const T*>(a.v_cache);

  float qv[V], acc[V];
  const float* qr = a.q + (static_cast<int64_t>(row) * a.n_heads + h) * D;
#pragma unroll
  for (int i = 0; i < V; ++i) {
    const int d = lane + 32 * i;
    qv[i] = d < D ? qr[d] * a.scale : 0.0f;
    acc[i] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int j = begin + warp; j < end; j += kWarps) {
    const int64_t base = static_cast<int64_t>(slots[j]) * kv_dim + static_cast<int64_t>(kvh) * D;
    float dot = 0.0f;
#pragma unroll
    for (int i = 0; i < V; ++i) {
      const int d = lane + 32 * i;
      if (d < D) dot += qv[i] * load(kc + base + d);
    }
    for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
    const float m_new = fmaxf(m, dot);
    const float corr = expf(m - m_new);  // m == -inf on the first key: 0
    const float p = expf(dot - m_new);
    l = l * corr + p;
#pragma unroll
    for (int i = 0; i < V; ++i) {
      const int d = lane + 32 * i;
      acc[i] = acc[i] * corr + (d < D ? p * load(vc + base + d) : 0.0f);
    }
    m = m_new;
  }

  // Merge the warps.
  __shared__ float sm[kWarps], sl[kWarps], sacc[kWarps][32 * V];
  if (lane == 0) {
    sm[warp] = m;
    sl[warp] = l;
  }
#pragma unroll
  for (int i = 0; i < V; ++i) sacc[warp][lane + 32 * i] = acc[i];
  __syncthreads();
  float M = -INFINITY;
  for (int w = 0; w < kWarps; ++w) M = fmaxf(M, sm[w]);
  float L = 0.0f, wts[kWarps];
  for (int w = 0; w < kWarps; ++w) {
    wts[w] = sl[w] > 0.0f ? expf(sm[w] - M) : 0.0f;
    L += sl[w] * wts[w];
  }
  const int64_t oi = static_cast<int64_t>(row) * a.n_heads + h;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.0f;
    for (int w = 0; w < kWarps; ++w) o += sacc[w][d] * wts[w];
    if (a.num_splits == 1) {
      a.out[oi * D + d] = o / L;
    } else {
      a.part_o[(oi * a.num_splits + split) * D + d] = o;
    }
  }
  if (a.num_splits > 1 && threadIdx.x == 0) {
    a.part_ml[(oi * a.num_splits + split) * 2] = M;
    a.part_ml[(oi * a.num_splits + split) * 2 + 1] = L;
  }
}

// One block per (row, head): out = sum_s part_o[s] e^(m_s - M) / sum_s l_s e^(m_s - M). The
// per-split weights are computed once into shared memory (splits <= kMaxSplits).
constexpr int kMaxSplits = 64;
__global__ void merge_splits_kernel(AttentionArgs a) {
  const int64_t oi = static_cast<int64_t>(blockIdx.x) * a.n_heads + blockIdx.y;
  const int S = a.num_splits, D = a.head_dim;
  const float* ml = a.part_ml + oi * S * 2;
  __shared__ float w[kMaxSplits];
  __shared__ float s_inv_l;
  float M = -INFINITY;
  for (int s = 0; s < S; ++s) {
    if (ml[2 * s + 1] > 0.0f) M = fmaxf(M, ml[2 * s]);
  }
  for (int s = threadIdx.x; s < S; s += blockDim.x) w[s] = ml[2 * s + 1] > 0.0f ? expf(ml[2 * s] - M) : 0.0f;
  __syncthreads();
  if (threadIdx.x == 0) {
    float L = 0.0f;
    for (int s = 0; s < S; ++s) L += ml[2 * s + 1] * w[s];
    s_inv_l = 1.0f / L;
  }
  __syncthreads();
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.0f;
    for (int s = 0; s < S; ++s) o += a.part_o[(oi * S + s) * D + d] * w[s];
    a.out[oi * D + d] = o * s_inv_l;
  }
}

void launch_merge(const AttentionArgs& a, cudaStream_t s) {
  merge_splits_kernel<<<dim3(static_cast<unsigned>(a.total_q), static_cast<unsigned>(a.n_heads)), 64, 0, s>>>(a);
}

template <typename T>
bool launch_typed(const AttentionArgs& a, cudaStream_t s) {
  const dim3 grid(static_cast<unsigned>(a.total_q), static_cast<unsigned>(a.n_heads),
                  static_cast<unsigned>(a.num_splits));
  const int threads = kWarps * 32;
  if (a.head_dim <= 64) {
    attention_kernel<T, 2><<<grid, threads, 0, s>>>(a);
  } else if (a.head_dim <= 128) {
    attention_kernel<T, 4><<<grid, threads, 0, s>>>(a);
  } else if (a.head_dim <= 256) {
    attention_kernel<T, 8><<<grid, threads, 0, s>>>(a);
  } else {
    return false;
  }
  if (a.num_splits > 1) launch_merge(a, s);
  return true;
}

// ---- decode_kernel: GQA-shared, vectorized, for 16-bit caches and head_dim 64 / 128 ----

constexpr int kDecWarps = 4;
constexpr int kDecTile = 256;  // slot indices staged in shared memory per pass
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Eight 16-bit values (one 16-byte load) to floats; element 2i sits in the low half of word i.
__device__ __forceinline__ void widen(const uint4& r, const __nv_bfloat16*, float (&f)[8]) {
  const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __uint_as_float(w[i] << 16);
    f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}
__device__ __forceinline__ void widen(const uint4& r, const __half*, float (&f)[8]) {
  const __half2* h = reinterpret_cast<const __half2*>(&r);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 t = __half22float2(h[i]);
    f[2 * i] = t.x;
    f[2 * i + 1] = t.y;
  }
}

// GP: query heads per block (the GQA group, padded to a power of two, at most 8; larger groups
// take several blocks). Scores are kept in log2 units (q pre-scaled by scale · log2 e).
template <typename T, int D, int GP>
__global__ void __launch_bounds__(kDecWarps * 32) decode_kernel(AttentionArgs a) {
  constexpr int kLpk = D / 8;                     // lanes per key, 16 bytes each
  constexpr int kKpw = 32 / kLpk;                 // keys per warp per pass
  constexpr int kInFlight = GP <= 4 ? 8 : 4;      // keys a warp loads before using any
  constexpr int kUnroll = kInFlight / kKpw;       // passes per iteration
  constexpr int kStep = kKpw * kUnroll;           // keys per warp iteration
  static_assert(kUnroll >= 1 && D % 8 == 0 && 32 % kLpk == 0, "decode_kernel layout");
  __shared__ int32_t s_slots[kDecTile];
  __shared__ float s_ml[kDecWarps][GP][2];
  __shared__ float s_acc[kDecWarps][GP][D];

  const int row = blockIdx.x, split = blockIdx.z;
  const int G = a.n_heads / a.n_kv_heads;
  const int hgroups = (G + GP - 1) / GP;
  const int kvh = blockIdx.y / hgroups;
  const int g0 = (blockIdx.y % hgroups) * GP;
  const int ng = min(GP, G - g0);  // query heads of this block
  const int h0 = kvh * G + g0;
  int lo = 0, hi = a.num_seqs - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (a.q_offsets[mid] <= row) lo = mid; else hi = mid - 1;
  }
  const int s = lo;
  const int q_len = a.q_offsets[s + 1] - a.q_offsets[s];
  const int n_keys = a.ctx_lens[s] - q_len + (row - a.q_offsets[s]) + 1;
  const int chunk = max(a.min_chunk, (n_keys + a.num_splits - 1) / a.num_splits);
  const int begin = min(n_keys, split * chunk);
  const int end = min(n_keys, begin + chunk);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int sub = lane / kLpk, dl = (lane % kLpk) * 8;

  float q[GP][8], acc[GP][8], m[GP], l[GP];
  const float qscale = a.scale * kLog2e;
#pragma unroll
  for (int g = 0; g < GP; ++g) {
    float4 x = make_float4(0.f, 0.f, 0.f, 0.f), y = x;
    if (g < ng) {
      const float4* qp =
          reinterpret_cast<const float4*>(a.q + (static_cast<int64_t>(row) * a.n_heads + h0 + g) * D + dl);
      x = qp[0];
      y = qp[1];
    }
    q[g][0] = x.x * qscale, q[g][1] = x.y * qscale, q[g][2] = x.z * qscale, q[g][3] = x.w * qscale;
    q[g][4] = y.x * qscale, q[g][5] = y.y * qscale, q[g][6] = y.z * qscale, q[g][7] = y.w * qscale;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[g][i] = 0.0f;
    m[g] = -INFINITY;
    l[g] = 0.0f;
  }
  const int64_t kv_dim = static_cast<int64_t>(a.n_kv_heads) * D;
  const T* kc = static_cast<const T*>(a.k_cache) + static_cast<int64_t>(kvh) * D + dl;
  const T* vc = static_cast<const T*>(a.v_cache) + static_cast<int64_t>(kvh) * D + dl;
  const int32_t* slots = a.slots + a.slot_offsets[s];

  for (int t0 = begin; t0 < end; t0 += kDecTile) {  // block-uniform
    const int n = min(kDecTile, end - t0);
    __syncthreads();  // every warp is done with the previous tile's slots
    for (int i = threadIdx.x; i < n; i += kDecWarps * 32) s_slots[i] = slots[t0 + i];
    __syncthreads();
    for (int k0 = warp * kStep; k0 < n; k0 += kDecWarps * kStep) {
      uint4 kr[kUnroll], vr[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int kk = k0 + u * kKpw + sub;
        if (kk < n) {
          const int64_t off = static_cast<int64_t>(s_slots[kk]) * kv_dim;
          kr[u] = __ldg(reinterpret_cast<const uint4*>(kc + off));
          vr[u] = __ldg(reinterpret_cast<const uint4*>(vc + off));
        } else {
          kr[u] = vr[u] = make_uint4(0, 0, 0, 0);
        }
      }
      float sc[kUnroll][GP];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        float kf[8];
        widen(kr[u], static_cast<const T*>(nullptr), kf);
#pragma unroll
        for (int g = 0; g < GP; ++g) {
          float d = 0.0f;
#pragma unroll
          for (int i = 0; i < 8; ++i) d = fmaf(q[g][i], kf[i], d);
          sc[u][g] = d;
        }
      }
#pragma unroll
      for (int o = kLpk / 2; o > 0; o >>= 1) {
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
          for (int g = 0; g < GP; ++g) sc[u][g] += __shfl_xor_sync(0xffffffffu, sc[u][g], o);
        }
      }
#pragma unroll
      for (int g = 0; g < GP; ++g) {
        float mx = -INFINITY;
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          if (k0 + u * kKpw + sub >= n) sc[u][g] = -INFINITY;
          mx = fmaxf(mx, sc[u][g]);
        }
        for (int o = kLpk; o < 32; o <<= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
        // Key k0 (sub 0, pass 0) is always real, so mx is finite and m stays warp-uniform.
        const float m_new = fmaxf(m[g], mx);
        const float corr = exp2f(m[g] - m_new);  // 0 on the first iteration (m = -inf)
        m[g] = m_new;
        l[g] *= corr;
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[g][i] *= corr;
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          sc[u][g] = exp2f(sc[u][g] - m_new);  // masked keys: 0
          l[g] += sc[u][g];
        }
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        float vf[8];
        widen(vr[u], static_cast<const T*>(nullptr), vf);
#pragma unroll
        for (int g = 0; g < GP; ++g) {
#pragma unroll
          for (int i = 0; i < 8; ++i) acc[g][i] = fmaf(sc[u][g], vf[i], acc[g][i]);
        }
      }
    }
  }

  // Sum the warp's key groups (same m across the warp), then merge the warps.
#pragma unroll
  for (int o = kLpk; o < 32; o <<= 1) {
#pragma unroll
    for (int g = 0; g < GP; ++g) {
      l[g] += __shfl_xor_sync(0xffffffffu, l[g], o);
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[g][i] += __shfl_xor_sync(0xffffffffu, acc[g][i], o);
    }
  }
  if (sub == 0) {
#pragma unroll
    for (int g = 0; g < GP; ++g) {
#pragma unroll
      for (int i = 0; i < 8; ++i) s_acc[warp][g][dl + i] = acc[g][i];
    }
  }
  if (lane == 0) {
#pragma unroll
    for (int g = 0; g < GP; ++g) {
      s_ml[warp][g][0] = m[g];
      s_ml[warp][g][1] = l[g];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < ng * D; e += kDecWarps * 32) {
    const int g = e / D, d = e % D;
    float M = -INFINITY;
#pragma unroll
    for (int w = 0; w < kDecWarps; ++w) {
      if (s_ml[w][g][1] > 0.0f) M = fmaxf(M, s_ml[w][g][0]);
    }
    float L = 0.0f, o = 0.0f;
#pragma unroll
    for (int w = 0; w < kDecWarps; ++w) {
      const float wt = s_ml[w][g][1] > 0.0f ? exp2f(s_ml[w][g][0] - M) : 0.0f;
      L += s_ml[w][g][1] * wt;
      o += s_acc[w][g][d] * wt;
    }
    const int64_t oi = static_cast<int64_t>(row) * a.n_heads + h0 + g;
    if (a.num_splits == 1) {
      a.out[oi * D + d] = o / L;  // one split holds all of a row's keys, at least one
    } else {
      a.part_o[(oi * a.num_splits + split) * D + d] = o;
      if (d == 0) {  // the merge works in natural-log units; an empty split writes l = 0
        a.part_ml[(oi * a.num_splits + split) * 2] = M * kLn2;
        a.part_ml[(oi * a.num_splits + split) * 2 + 1] = L;
      }
    }
  }
}

int decode_group(int n_heads, int n_kv_heads) {
  const int G = n_heads / n_kv_heads;
  return G <= 1 ? 1 : G <= 2 ? 2 : G <= 4 ? 4 : 8;
}

template <typename T, int D>
void launch_decode(const AttentionArgs& a, cudaStream_t st) {
  const int gp = decode_group(a.n_heads, a.n_kv_heads);
  const int G = a.n_heads / a.n_kv_heads;
  const dim3 grid(static_cast<unsigned>(a.total_q), static_cast<unsigned>(a.n_kv_heads * ((G + gp - 1) / gp)),
                  static_cast<unsigned>(a.num_splits));
  const int threads = kDecWarps * 32;
  switch (gp) {
    case 1: decode_kernel<T, D, 1><<<grid, threads, 0, st>>>(a); break;
    case 2: decode_kernel<T, D, 2><<<grid, threads, 0, st>>>(a); break;
    case 4: decode_kernel<T, D, 4><<<grid, threads, 0, st>>>(a); break;
    default: decode_kernel<T, D, 8><<<grid, threads, 0, st>>>(a); break;
  }
  if (a.num_splits > 1) launch_merge(a, st);
}

template <typename T>
bool launch_decode_dim(const AttentionArgs& a, cudaStream_t st) {
  switch (a.head_dim) {
    case 64: launch_decode<T, 64>(a, st); return true;
    case 128: launch_decode<T, 128>(a, st); return true;
    default: return false;
  }
}

}  // namespace

bool decode_attention_supported(CacheType t, int head_dim) {
  return t != CacheType::kF32 && (head_dim == 64 || head_dim == 128);
}

int decode_attention_blocks_per_row(int n_heads, int n_kv_heads) {
  const int G = n_heads / n_kv_heads, gp = decode_group(n_heads, n_kv_heads);
  return n_kv_heads * ((G + gp - 1) / gp);
}

bool decode_attention(CacheType t, const AttentionArgs& a, cudaStream_t s) {
  if (a.total_q <= 0) return true;
  if (a.num_splits < 1 || a.num_splits > kMaxSplits) return false;
  switch (t) {
    case CacheType::kF16: return launch_decode_dim<__half>(a, s);
    case CacheType::kBF16: return launch_decode_dim<__nv_bfloat16>(a, s);
    case CacheType::kF32: return false;
  }
  return false;
}

bool attention(CacheType t, const AttentionArgs& a, cudaStream_t s) {
  if (a.total_q <= 0) return true;
  if (a.num_splits < 1 || a.num_splits > kMaxSplits) return false;
  switch (t) {
    case CacheType::kF32: return launch_typed<float>(a, s);
    case CacheType::kF16: return launch_typed<__half>(a, s);
    case CacheType::kBF16: return launch_typed<__nv_bfloat16>(a, s);
  }
  return false;
}

}  // namespace tandem::kernels::cuda
