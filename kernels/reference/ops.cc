#include "kernels/reference/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

#include "common/check.h"
#include "kernels/reference/quant.h"

namespace tandem::kernels::ref {

void matmul(const float* x, int64_t m, const TensorView& w, const float* bias, float* y, bool act_quant) {
  const int64_t n = w.rows();
  const int64_t k = w.cols();
  std::vector<float> xq;
  if (act_quant) {
    xq.resize(static_cast<size_t>(m * k));
    for (int64_t i = 0; i < m; ++i) simulate_act_quant(x + i * k, k, xq.data() + i * k);
    x = xq.data();
  }
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t j = 0; j < n; ++j) {
    dequantize_row(w.dtype, w.row(j), k, row.data());
    for (int64_t i = 0; i < m; ++i) {
      double acc = 0.0;
      const float* xi = x + i * k;
      for (int64_t t = 0; t < k; ++t) acc += static_cast<double>(xi[t]) * row[t];
      if (bias) acc += bias[j];
      y[i * n + j] = static_cast<float>(acc);
    }
  }
}

void embed(const TensorView& table, const int32_t* ids, int64_t n, float* out) {
  const int64_t dim = table.cols();
  for (int64_t i = 0; i < n; ++i) {
    CHECK(ids[i] >= -1 && ids[i] < table.rows(), "embed: id {} outside vocab of {}", ids[i], table.rows());
    if (ids[i] < 0) {
      std::fill(out + i * dim, out + (i + 1) * dim, 0.0f);
    } else {
      dequantize_row(table.dtype, table.row(ids[i]), dim, out + i * dim);
    }
  }
}

void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) out[r * dim + i] = static_cast<float>(xr[i] * inv * weight[i]);
  }
}

void add_rms_norm(float* residual, const float* x, const float* weight, int64_t rows, int64_t dim,
                  float eps, float* out) {
  for (int64_t i = 0; i < rows * dim; ++i) residual[i] += x[i];
  rms_norm(residual, weight, rows, dim, eps, out);
}

void rope_frequencies(const RopeConfig& cfg, double* freq) {
  const int half = cfg.rotary_dim / 2;
  for (int i = 0; i < half; ++i) {
    double f = std::pow(static_cast<double>(cfg.theta), -2.0 * i / cfg.rotary_dim);
    if (cfg.scaling == RopeScaling::kLinear) {
      f /= cfg.factor;
    } else if (cfg.scaling == RopeScaling::kLlama3) {
      // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, a smooth blend between.
      const double low_wavelen = cfg.original_max_positions / static_cast<double>(cfg.low_freq_factor);
      const double high_wavelen = cfg.original_max_positions / static_cast<double>(cfg.high_freq_factor);
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen > low_wavelen) {
        f /= cfg.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (cfg.original_max_positions / wavelen - cfg.low_freq_factor) /
                              (cfg.high_freq_factor - cfg.low_freq_factor);
        f = (1.0 - smooth) * f / cfg.factor + smooth * f;
      }
    }
    freq[i] = f;
  }
}

void rope(float* x, const int32_t* positions, int64_t tokens, int n_heads, const RopeConfig& cfg) {
  CHECK(cfg.rotary_dim > 0 && cfg.rotary_dim % 2 == 0 && cfg.rotary_dim <= cfg.head_dim,
        "rope: rotary_dim {} must be even and in (0, head_dim {}]", cfg.rotary_dim, cfg.head_dim);
  const int half = cfg.rotary_dim / 2;
  std::vector<double> freq(static_cast<size_t>(half));
  rope_frequencies(cfg, freq.data());
  for (int64_t t = 0; t < tokens; ++t) {
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * cfg.head_dim;
      for (int i = 0; i < half; ++i) {
        const double angle = positions[t] * freq[i];
        const double c = std::cos(angle), s = std::sin(angle);
        const int i0 = cfg.neox ? i : 2 * i;
        const int i1 = cfg.neox ? i + half : 2 * i + 1;
        const double a = v[i0], b = v[i1];
        v[i0] = static_cast<float>(a * c - b * s);
        v[i1] = static_cast<float>(a * s + b * c);
      }
    }
  }
}

void silu_mul(const float* gate_up, int64_t rows, int64_t ff, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < ff; ++j) {
      const double g = gate_up[r * 2 * ff + j];
      const double u = gate_up[r * 2 * ff + ff + j];
      out[r * ff + j] = static_cast<float>(g / (1.0 + std::exp(-g)) * u);
    }
  }
}

void add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void store_kv(float* k_cache, float* v_cache, const float* k, const float* v, const int32_t* slots,
              int64_t tokens, int64_t kv_dim) {
  for (int64_t t = 0; t < tokens; ++t) {
    std::memcpy(k_cache + static_cast<int64_t>(slots[t]) * kv_dim, k + t * kv_dim, kv_dim * sizeof(float));
    std::memcpy(v_cache + static_cast<int64_t>(slots[t]) * kv_dim, v + t * kv_dim, kv_dim * sizeof(float));
  }
}

namespace {

// Cache element -> double for every cache type.
struct CacheReader {
  DType type;
  const void* data;
  double at(int64_t i) const {
    switch (type) {
      case DType::kF16: return fp16_to_fp32(static_cast<const uint16_t*>(data)[i]);
      case DType::kBF16: return bf16_to_fp32(static_cast<const uint16_t*>(data)[i]);
      default: return static_cast<const float*>(data)[i];
    }
  }
};

void attention_any(const float* q, const CacheReader& k_cache, const CacheReader& v_cache, const AttentionBatch& b,
                   float* out) {
  const int hd = b.head_dim;
  const int group = b.n_heads / b.n_kv_heads;
  const int64_t q_dim = static_cast<int64_t>(b.n_heads) * hd;
  const int64_t kv_dim = static_cast<int64_t>(b.n_kv_heads) * hd;
  std::vector<double> scores;
  std::vector<double> acc(static_cast<size_t>(hd));
  for (int s = 0; s < b.num_seqs; ++s) {
    const int q_len = b.q_offsets[s + 1] - b.q_offsets[s];
    const int ctx = b.ctx_lens[s];
    const int32_t* slots = b.slots + b.slot_offsets[s];
    CHECK(q_len <= ctx, "attention: sequence {} has {} new rows but a context of only {}", s, q_len, ctx);
    for (int i = 0; i < q_len; ++i) {
      const int64_t row = b.q_offsets[s] + i;
      const int pos = ctx - q_len + i;  // attends to context positions [0, pos]
      for (int h = 0; h < b.n_heads; ++h) {
        const float* qh = q + row * q_dim + static_cast<int64_t>(h) * hd;
        const int64_t kv_off = static_cast<int64_t>(h / group) * hd;
        scores.assign(static_cast<size_t>(pos + 1), 0.0);
        double mx = -INFINITY;
        for (int j = 0; j <= pos; ++j) {
          const int64_t kr = static_cast<int64_t>(slots[j]) * kv_dim + kv_off;
          double dot = 0.0;
          for (int d = 0; d < hd; ++d) dot += static_cast<double>(qh[d]) * k_cache.at(kr + d);
          scores[j] = dot * b.scale;
          mx = std::max(mx, scores[j]);
        }
        double sum = 0.0;
        for (int j = 0; j <= pos; ++j) sum += scores[j] = std::exp(scores[j] - mx);
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int j = 0; j <= pos; ++j) {
          const int64_t vr = static_cast<int64_t>(slots[j]) * kv_dim + kv_off;
          for (int d = 0; d < hd; ++d) acc[d] += scores[j] * v_cache.at(vr + d);
        }
        float* o = out + row * q_dim + static_cast<int64_t>(h) * hd;
        for (int d = 0; d < hd; ++d) o[d] = static_cast<float>(acc[d] / sum);
      }
    }
  }
}

}  // namespace

void attention(const float* q, const float* k_cache, const float* v_cache, const AttentionBatch& b, float* out) {
  attention_any(q, {DType::kF32, k_cache}, {DType::kF32, v_cache}, b, out);
}

void store_kv_half(DType cache_type, void* k_cache, void* v_cache, const float* k, const float* v,
                   const int32_t* slots, int64_t tokens, int64_t kv_dim) {
  CHECK(cache_type == DType::kF16 || cache_type == DType::kBF16, "store_kv_half: cache type {} is not F16 or BF16",
        dtype_name(cache_type));
  auto* kc = static_cast<uint16_t*>(k_cache);
  auto* vc = static_cast<uint16_t*>(v_cache);
  const bool f16 = cache_type == DType::kF16;
  for (int64_t t = 0; t < tokens; ++t) {
    const int64_t base = static_cast<int64_t>(slots[t]) * kv_dim;
    for (int64_t i = 0; i < kv_dim; ++i) {
      kc[base + i] = f16 ? fp32_to_fp16(k[t * kv_dim + i]) : fp32_to_bf16(k[t * kv_dim + i]);
      vc[base + i] = f16 ? fp32_to_fp16(v[t * kv_dim + i]) : fp32_to_bf16(v[t * kv_dim + i]);
    }
  }
}

void attention_half(DType cache_type, const float* q, const void* k_cache, const void* v_cache,
                    const AttentionBatch& b, float* out) {
  CHECK(cache_type == DType::kF16 || cache_type == DType::kBF16, "attention_half: cache type {} is not F16 or BF16",
        dtype_name(cache_type));
  attention_any(q, {cache_type, k_cache}, {cache_type, v_cache}, b, out);
}

}  // namespace tandem::kernels::ref
