#include "worker/model/llama_model.h"

#include <cmath>
#include <cstring>

#include "common/check.h"

namespace tandem::model {

LlamaModel::LlamaModel(ModelConfig config, std::unique_ptr<LlamaWeights> weights, kernels::Backend& backend)
    : config_(std::move(config)), w_(std::move(weights)), be_(backend) {}

void LlamaModel::ensure_scratch(int64_t t) {
  if (t <= scratch_tokens_) return;
  const ModelConfig& c = config_;
  scratch_tokens_ = t;
  resid_.resize(t * c.hidden_size);
  normed_.resize(t * c.hidden_size);
  qkv_.resize(t * (c.q_dim() + 2 * c.kv_dim()));
  q_.resize(t * c.q_dim());
  k_.resize(t * c.kv_dim());
  v_.resize(t * c.kv_dim());
  attn_.resize(t * c.q_dim());
  proj_.resize(t * c.hidden_size);
  gate_up_.resize(t * 2 * c.intermediate_size);
  act_.resize(t * c.intermediate_size);
}

void LlamaModel::linear(const float* x, int64_t m, const Linear& lin, float* y) {
  if (lin.parts.size() == 1) {
    be_.matmul(x, m, lin.parts[0], lin.bias.empty() ? nullptr : lin.bias.data(), y);
    return;
  }
  // Unfused parts (different dtypes): run each, then interleave columns into y.
  int64_t col = 0;
  for (const TensorView& p : lin.parts) {
    const int64_t n = p.rows();
    part_.resize(m * n);
    be_.matmul(x, m, p, lin.bias.empty() ? nullptr : lin.bias.data() + col, part_.data());
    for (int64_t r = 0; r < m; ++r) {
      std::memcpy(y + r * lin.out_features + col, part_.data() + r * n, n * sizeof(float));
    }
    col += n;
  }
}

void LlamaModel::forward(const ForwardBatch& b, runtime::KvCache& kv, float* logits) {
  const ModelConfig& c = config_;
  const int64_t T = b.num_tokens();
  CHECK(T > 0, "empty forward batch");
  CHECK(static_cast<int64_t>(b.positions.size()) == T && static_cast<int64_t>(b.new_slots.size()) == T,
        "ragged batch arrays disagree: {} tokens, {} positions, {} slots", T, b.positions.size(),
        b.new_slots.size());
  ensure_scratch(T);
  const int64_t H = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), FF = c.intermediate_size;

  kernels::AttentionBatch ab;
  ab.num_seqs = b.num_seqs();
  ab.q_offsets = b.q_offsets.data();
  ab.ctx_lens = b.ctx_lens.data();
  ab.slot_offsets = b.slot_offsets.data();
  ab.slots = b.slots.data();
  ab.n_heads = c.num_heads;
  ab.n_kv_heads = c.num_kv_heads;
  ab.head_dim = c.head_dim;
  ab.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));

  float* resid = resid_.data();
  float* normed = normed_.data();
  be_.embed(w_->embedding, b.tokens.data(), T, resid);

  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = w_->layers[l];
    if (l == 0) {
      be_.rms_norm(resid, L.attn_norm.data(), T, H, c.rms_norm_eps, normed);
    } else {
      // The previous layer's FFN output joins the residual stream here.
      be_.add_rms_norm(resid, proj_.data(), L.attn_norm.data(), T, H, c.rms_norm_eps, normed);
    }
    // Attention block.
    linear(normed, T, L.qkv, qkv_.data());
    const int64_t QKV = Q + 2 * KV;
    for (int64_t t = 0; t < T; ++t) {
      const float* row = qkv_.data() + t * QKV;
      std::memcpy(q_.data() + t * Q, row, Q * sizeof(float));
      std::memcpy(k_.data() + t * KV, row + Q, KV * sizeof(float));
      std::memcpy(v_.data() + t * KV, row + Q + KV, KV * sizeof(float));
    }
    if (c.qk_norm) {
      be_.rms_norm(q_.data(), L.q_norm.data(), T * c.num_heads, c.head_dim, c.rms_norm_eps, q_.data());
      be_.rms_norm(k_.data(), L.k_norm.data(), T * c.num_kv_heads, c.head_dim, c.rms_norm_eps, k_.data());
    }
    be_.rope(q_.data(), b.positions.data(), T, c.num_heads, c.rope);
    be_.rope(k_.data(), b.positions.data(), T, c.num_kv_heads, c.rope);
    if (kv.dtype() == DType::kF32) {
      auto* kc = static_cast<float*>(kv.k(l));
      auto* vc = static_cast<float*>(kv.v(l));
      be_.store_kv(kc, vc, k_.data(), v_.data(), b.new_slots.data(), T, KV);
      be_.attention(q_.data(), kc, vc, ab, attn_.data());
    } else {
      be_.store_kv_half(kv.dtype(), kv.k(l), kv.v(l), k_.data(), v_.data(), b.new_slots.data(), T, KV);
      be_.attention_half(kv.dtype(), q_.data(), kv.k(l), kv.v(l), ab, attn_.data());
    }
    linear(attn_.data(), T, L.o, proj_.data());
    be_.add_rms_norm(resid, proj_.data(), L.ffn_norm.data(), T, H, c.rms_norm_eps, normed);
    // Feed-forward block.
    linear(normed, T, L.gate_up, gate_up_.data());
    be_.silu_mul(gate_up_.data(), T, FF, act_.data());
    linear(act_.data(), T, L.down, proj_.data());
  }
  be_.add_rms_norm(resid, proj_.data(), w_->final_norm.data(), T, H, c.rms_norm_eps, normed);

  // LM head only on the rows whose logits are wanted.
  const int64_t R = static_cast<int64_t>(b.logit_rows.size());
  if (R == 0) return;
  rows_.resize(R * H);
  for (int64_t i = 0; i < R; ++i) {
    const int32_t r = b.logit_rows[i];
    CHECK(r >= 0 && r < T, "logit row {} outside the batch of {} tokens", r, T);
    std::memcpy(rows_.data() + i * H, normed + r * H, H * sizeof(float));
  }
  be_.matmul(rows_.data(), R, w_->lm_head, nullptr, logits);
}

}  // namespace tandem::model
