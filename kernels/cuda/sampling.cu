// Backend::sample_rows on the device: one 1024-thread block per row (semantics in
// kernels/sample_rows.h; the host version in kernels/reference/sample_rows.cc is the reference).
//
// The row never leaves global memory (512 KB at a 128K vocabulary): every pass below re-reads it,
// coalesced, and recomputes w = exp((l - max) / T) rather than storing it. Passes: [raw
// log-sum-exp], edits, max, total mass, [4 radix passes over w's bits to find the top-k / top-p
// cut, a tie pass], per-warp survivor mass, one warp's walk to the drawn token. Every sum is an
// integer (40-bit fixed-point weights) or a float in a fixed order, so a row gives the same token
// whatever the batch.
#include <cuda_runtime.h>

#include <cfloat>
#include <cstdint>

#include "kernels/cuda/launch.h"
#include "kernels/sample_rows.h"

namespace tandem::kernels::cuda {
namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;

__device__ __forceinline__ float clean(float x) { return isnan(x) ? -INFINITY : x; }

struct Shared {
  unsigned int cnt[256];
  unsigned long long mass[256];
  float red_f[kWarps];
  int red_i[kWarps];
  double red_d[kWarps];
  unsigned long long red_u[kWarps];
  unsigned long long warp_base[kWarps];
  unsigned long long warp_mass[kWarps];
  unsigned int tie_base[kWarps];
  unsigned int prefix;
  int all_survive;
  unsigned int cut_cnt;
  unsigned long long cut_mass;
};

// Max with the lowest index on ties (NaN as -inf); every thread gets the block's answer.
__device__ void block_argmax(Shared& sh, float v, int id, float* out_v, int* out_id) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_down_sync(0xffffffffu, v, o);
    const int oi = __shfl_down_sync(0xffffffffu, id, o);
    if (ov > v || (ov == v && oi >= 0 && (id < 0 || oi < id))) v = ov, id = oi;
  }
  if (lane == 0) sh.red_f[warp] = v, sh.red_i[warp] = id;
  __syncthreads();
  if (warp == 0) {
    v = sh.red_f[lane];
    id = sh.red_i[lane];
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_down_sync(0xffffffffu, v, o);
      const int oi = __shfl_down_sync(0xffffffffu, id, o);
      if (ov > v || (ov == v && oi >= 0 && (id < 0 || oi < id))) v = ov, id = oi;
    }
    if (lane == 0) sh.red_f[0] = v, sh.red_i[0] = id;
  }
  __syncthreads();
  *out_v = sh.red_f[0];
  *out_id = sh.red_i[0];
  __syncthreads();
}

// The row's largest value and its lowest index (NaN as -inf; -1 when every value is -inf).
__device__ void row_argmax(Shared& sh, const float* l, int64_t vocab, float* m, int* m_id) {
  float v = -INFINITY;
  int id = -1;
  for (int64_t i = threadIdx.x; i < vocab; i += kThreads) {
    const float x = clean(l[i]);
    if (x > v) v = x, id = static_cast<int>(i);
  }
  block_argmax(sh, v, id, m, m_id);
}

// Sum over the block in a fixed order (so the same inputs give the same bits); every thread gets
// it. scratch: kWarps entries of shared memory.
template <typename T>
__device__ T block_sum(T* scratch, T v) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = scratch[lane];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) scratch[0] = v;
  }
  __syncthreads();
  const T r = scratch[0];
  __syncthreads();
  return r;
}

struct Weigher {
  const float* l;
  float m, inv_t, min_p;
  __device__ float w(int64_t i) const { return expf((clean(l[i]) - m) * inv_t); }
  __device__ static unsigned long long q(float w) {
    return static_cast<unsigned long long>(w * static_cast<float>(kSampleWeightScale));
  }
  __device__ bool excluded(float w) const { return min_p > 0.0f && w < min_p; }
};

// Adds (1, q) to bin `digit` of the histogram, one shared atomic per group of lanes with that digit
// (the whole warp calls; digit 256 = nothing to add). q < 2^41: summed as 24-bit halves in 32 bits.
__device__ void hist_add(Shared& sh, unsigned int digit, unsigned long long q) {
  const unsigned int group = __match_any_sync(0xffffffffu, digit);
  const unsigned int lo = __reduce_add_sync(group, static_cast<unsigned int>(q & 0xffffffu));
  const unsigned int hi = __reduce_add_sync(group, static_cast<unsigned int>(q >> 24));
  if (digit < 256 && (threadIdx.x & 31) == __ffs(group) - 1) {
    atomicAdd(&sh.cnt[digit], static_cast<unsigned int>(__popc(group)));
    atomicAdd(&sh.mass[digit], (static_cast<unsigned long long>(hi) << 24) + lo);
  }
}

__global__ void __launch_bounds__(kThreads) sample_rows_kernel(float* logits, int64_t vocab, const SampleRow* rows,
                                                               LogitEdit* edits, SampledToken* out) {
  __shared__ Shared sh;
  const SampleRow row = rows[blockIdx.x];
  float* l = logits + static_cast<int64_t>(row.logit_row) * vocab;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;

  float m;
  int m_id;
  double lse = 0.0;
  if (row.want_logprob) {
    row_argmax(sh, l, vocab, &m, &m_id);
    double s = 0.0;
    if (m_id >= 0) {
      for (int64_t i = tid; i < vocab; i += kThreads) s += exp(static_cast<double>(clean(l[i])) - m);
    }
    s = block_sum(sh.red_d, s);
    lse = m_id >= 0 ? m + log(s) : -INFINITY;
  }

  // Edits: remember every raw value first, then one kind at a time.
  for (int e = row.edit_begin + tid; e < row.edit_end; e += kThreads) edits[e].raw = l[edits[e].token];
  __syncthreads();
  for (int kind = 0; kind < 4; ++kind) {
    if (kind == static_cast<int>(LogitEditKind::kAdd)) {
      if (tid == 0) {
        for (int e = row.edit_begin; e < row.edit_end; ++e) {
          if (edits[e].kind == LogitEditKind::kAdd) l[edits[e].token] += edits[e].value;
        }
      }
    } else {
      for (int e = row.edit_begin + tid; e < row.edit_end; e += kThreads) {
        const LogitEdit& ed = edits[e];
        if (static_cast<int>(ed.kind) != kind) continue;
        float& x = l[ed.token];
        if (ed.kind == LogitEditKind::kRepeat) {
          x = x > 0.0f ? x / ed.value : x * ed.value;
        } else if (ed.kind == LogitEditKind::kSubtract) {
          x -= ed.value;
        } else {
          x = -INFINITY;
        }
      }
    }
    __syncthreads();
  }

  row_argmax(sh, l, vocab, &m, &m_id);
  int token = m_id;
  if (!row.greedy && m_id >= 0) {
    const Weigher wt{l, m, 1.0f / row.temperature, row.min_p};
    unsigned long long part = 0;
    for (int64_t i = tid; i < vocab; i += kThreads) part += Weigher::q(wt.w(i));
    const unsigned long long total = block_sum(sh.red_u, part);

    // The cut: the shortest prefix of (w desc, id asc) that holds top_k tokens or top_p of the mass.
    const bool by_k = row.top_k > 0 && row.top_k < vocab;
    const bool by_p = row.top_p < 1.0f;
    const unsigned long long k_limit = by_k ? static_cast<unsigned long long>(row.top_k) : ~0ull;
    const unsigned long long p_limit =
        by_p ? static_cast<unsigned long long>(ceil(static_cast<double>(row.top_p) * static_cast<double>(total))) : ~0ull;
    unsigned int cut_key = 0;     // survivors: key > cut_key, or == cut_key with tie rank < n_tie
    unsigned long long n_tie = ~0ull;
    bool cut = by_k || by_p;
    if (cut) {
      if (tid == 0) sh.prefix = 0, sh.all_survive = 0, sh.cut_cnt = 0, sh.cut_mass = 0;
      for (int pass = 0; pass < 4; ++pass) {
        const int shift = 24 - 8 * pass;
        for (int b = tid; b < 256; b += kThreads) sh.cnt[b] = 0, sh.mass[b] = 0;
        __syncthreads();
        const unsigned int prefix = sh.prefix;
        for (int64_t base = warp * 32; base < vocab; base += kThreads) {  // warp-uniform trips
          const int64_t i = base + lane;
          const float w = i < vocab ? wt.w(i) : 0.0f;
          const unsigned int key = __float_as_uint(w);
          const bool in = i < vocab && !wt.excluded(w) && (pass == 0 || (key >> (shift + 8)) == prefix);
          hist_add(sh, in ? (key >> shift) & 255u : 256u, in ? Weigher::q(w) : 0ull);
        }
        __syncthreads();
        if (tid == 0) {
          unsigned long long c = sh.cut_cnt, ms = sh.cut_mass;
          int sel = -1;
          for (int d = 255; d >= 0; --d) {
            if (c + sh.cnt[d] >= k_limit || ms + sh.mass[d] >= p_limit) {
              sel = d;
              break;
            }
            c += sh.cnt[d], ms += sh.mass[d];
          }
          if (sel < 0) {
            sh.all_survive = 1;
          } else {
            sh.prefix = (prefix << 8) | static_cast<unsigned int>(sel);
            sh.cut_cnt = static_cast<unsigned int>(c);
            sh.cut_mass = ms;
            if (pass == 3) {
              const unsigned long long ties = sh.cnt[sel], q_tie = sh.mass[sel] / ties;
              unsigned long long n = k_limit - c;
              if (q_tie > 0 && p_limit != ~0ull) n = min(n, (p_limit - ms + q_tie - 1) / q_tie);
              sh.mass[0] = max(1ull, min(n, ties));  // n_tie
              sh.cnt[0] = static_cast<unsigned int>(ties);
            }
          }
        }
        __syncthreads();
        if (sh.all_survive) break;
      }
      if (sh.all_survive) {
        cut = false;
      } else {
        cut_key = sh.prefix;
        n_tie = sh.mass[0];
        if (n_tie >= sh.cnt[0]) n_tie = ~0ull;  // every tie survives: no tie ranks needed
      }
      __syncthreads();
    }

    // Warp w owns ids [w * span, (w + 1) * span), walked in tiles of 32 (coalesced).
    const int64_t span = ((vocab + kWarps - 1) / kWarps + 31) / 32 * 32;
    const int64_t lo = warp * span, hi = min(vocab, lo + span);
    auto tied = [&](float w) { return cut && __float_as_uint(w) == cut_key; };
    if (cut && n_tie != ~0ull) {
      unsigned int ties = 0;
      for (int64_t base = lo; base < hi; base += 32) {
        const int64_t i = base + lane;
        const float w = i < hi ? wt.w(i) : 0.0f;
        ties += __popc(__ballot_sync(0xffffffffu, i < hi && !wt.excluded(w) && tied(w)));
      }
      if (lane == 0) sh.tie_base[warp] = ties;
      __syncthreads();
      if (tid == 0) {
        unsigned int run = 0;
        for (int x = 0; x < kWarps; ++x) {
          const unsigned int t = sh.tie_base[x];
          sh.tie_base[x] = run;
          run += t;
        }
      }
      __syncthreads();
    }
    // q of id i if it survives; tie_seen counts this warp's earlier ties (ids below this tile).
    auto survivor_q = [&](int64_t i, unsigned int* tie_seen) -> unsigned long long {
      const float w = i < hi ? wt.w(i) : 0.0f;
      const bool live = i < hi && !wt.excluded(w);
      const unsigned int key = __float_as_uint(w);
      const bool is_tie = live && tied(w);
      const unsigned int tie_mask = __ballot_sync(0xffffffffu, is_tie);
      bool keep = live && (!cut || key > cut_key || is_tie);
      if (is_tie && n_tie != ~0ull) {
        const unsigned int rank = sh.tie_base[warp] + *tie_seen + __popc(tie_mask & ((1u << lane) - 1));
        keep = rank < n_tie;
      }
      *tie_seen += __popc(tie_mask);
      return keep ? Weigher::q(w) : 0ull;
    };
    unsigned long long mine = 0;
    unsigned int tie_seen = 0;
    for (int64_t base = lo; base < lo + span; base += 32) mine += survivor_q(base + lane, &tie_seen);
    for (int o = 16; o > 0; o >>= 1) mine += __shfl_down_sync(0xffffffffu, mine, o);
    if (lane == 0) sh.warp_mass[warp] = mine;
    __syncthreads();
    if (tid == 0) {
      unsigned long long run = 0;
      for (int x = 0; x < kWarps; ++x) sh.warp_base[x] = run, run += sh.warp_mass[x];
      sh.red_u[0] = run;
    }
    __syncthreads();
    const unsigned long long survivors = sh.red_u[0];
    const unsigned long long r =
        min(static_cast<unsigned long long>(row.u * static_cast<double>(survivors)), survivors - 1);
    if (tid == 0) sh.red_i[0] = m_id;
    __syncthreads();
    if (r >= sh.warp_base[warp] && r < sh.warp_base[warp] + sh.warp_mass[warp]) {
      unsigned long long run = sh.warp_base[warp];
      tie_seen = 0;
      for (int64_t base = lo; base < lo + span; base += 32) {
        unsigned long long v = survivor_q(base + lane, &tie_seen);
        for (int o = 1; o < 32; o <<= 1) {
          const unsigned long long up = __shfl_up_sync(0xffffffffu, v, o);
          if (lane >= o) v += up;
        }
        const unsigned long long tile = __shfl_sync(0xffffffffu, v, 31);
        if (run + tile > r) {
          const unsigned int hit = __ballot_sync(0xffffffffu, run + v > r);
          if (lane == 0) sh.red_i[0] = static_cast<int>(base + __ffs(hit) - 1);
          break;
        }
        run += tile;
      }
    }
    __syncthreads();
    token = sh.red_i[0];
  }
  if (tid == 0) {
    SampledToken o;
    o.token = token;
    o.logprob = 0.0f;
    if (row.want_logprob && token >= 0) {
      float raw = l[token];
      for (int e = row.edit_begin; e < row.edit_end; ++e) {
        if (edits[e].token == token) {
          raw = edits[e].raw;
          break;
        }
      }
      o.logprob = static_cast<float>(static_cast<double>(raw) - lse);
    }
    out[blockIdx.x] = o;
  }
}

}  // namespace

void sample_rows(float* logits, int64_t vocab, const SampleRow* rows, int64_t n, LogitEdit* edits, SampledToken* out,
                 cudaStream_t s) {
  if (n <= 0) return;
  sample_rows_kernel<<<static_cast<unsigned int>(n), kThreads, 0, s>>>(logits, vocab, rows, edits, out);
}

}  // namespace tandem::kernels::cuda
