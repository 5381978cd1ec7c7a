#include "worker/model/llama_model.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"

namespace tandem::model {

namespace {

void grow(kernels::Backend& be, kernels::BackendBuffer& buf, size_t bytes) {
  if (buf.bytes() < bytes) buf = kernels::BackendBuffer(be, bytes);
}

}  // namespace

LlamaModel::LlamaModel(ModelConfig config, std::unique_ptr<LlamaWeights> weights, kernels::Backend& backend)
    : config_(std::move(config)), w_(std::move(weights)), be_(backend) {
  auto vec = [&](const std::vector<float>& v) -> const float* {
    return v.empty() ? nullptr : be_.upload(v.data(), static_cast<int64_t>(v.size()));
  };
  embedding_ = be_.upload_matrix(w_->embedding);
  // Tied embeddings: one copy serves both (a device backend would otherwise hold two).
  lm_head_ = w_->lm_head.data == w_->embedding.data ? embedding_ : be_.upload_matrix(w_->lm_head);
  final_norm_ = vec(w_->final_norm);
  layers_.resize(w_->layers.size());
  for (size_t i = 0; i < w_->layers.size(); ++i) {
    const LayerWeights& L = w_->layers[i];
    BLayer& B = layers_[i];
    B.attn_norm = vec(L.attn_norm);
    B.ffn_norm = vec(L.ffn_norm);
    B.q_norm = vec(L.q_norm);
    B.k_norm = vec(L.k_norm);
    B.qkv = upload_linear(L.qkv);
    B.o = upload_linear(L.o);
    B.gate_up = upload_linear(L.gate_up);
    B.down = upload_linear(L.down);
  }
}

LlamaModel::BLinear LlamaModel::upload_linear(const Linear& lin) {
  BLinear b;
  b.parts = be_.upload_linear(lin.parts);
  b.bias = lin.bias.empty() ? nullptr : be_.upload(lin.bias.data(), static_cast<int64_t>(lin.bias.size()));
  b.out_features = lin.out_features;
  return b;
}

void LlamaModel::ensure_scratch(int64_t t) {
  if (t <= scratch_tokens_) return;
  const ModelConfig& c = config_;
  scratch_tokens_ = t;
  const size_t f = sizeof(float);
  resid_ = kernels::BackendBuffer(be_, t * c.hidden_size * f);
  normed_ = kernels::BackendBuffer(be_, t * c.hidden_size * f);
  qkv_ = kernels::BackendBuffer(be_, t * (c.q_dim() + 2 * c.kv_dim()) * f);
  q_ = kernels::BackendBuffer(be_, t * c.q_dim() * f);
  k_ = kernels::BackendBuffer(be_, t * c.kv_dim() * f);
  v_ = kernels::BackendBuffer(be_, t * c.kv_dim() * f);
  attn_ = kernels::BackendBuffer(be_, t * c.q_dim() * f);
  proj_ = kernels::BackendBuffer(be_, t * c.hidden_size * f);
  gate_up_ = kernels::BackendBuffer(be_, t * 2 * c.intermediate_size * f);
  act_ = kernels::BackendBuffer(be_, t * c.intermediate_size * f);
}

void LlamaModel::linear(const float* x, int64_t m, const BLinear& lin, float* y) {
  if (lin.parts.size() == 1) {
    be_.matmul(x, m, lin.parts[0], lin.bias, y);
    return;
  }
  // Unfused parts (different dtypes, CPU): run each, then interleave columns into y.
  int64_t col = 0;
  for (const TensorView& p : lin.parts) {
    const int64_t n = p.rows();
    grow(be_, part_, m * n * sizeof(float));
    be_.matmul(x, m, p, lin.bias ? lin.bias + col : nullptr, part_.as<float>());
    be_.copy_2d(y + col, lin.out_features * sizeof(float), part_.get(), n * sizeof(float), n * sizeof(float), m);
    col += n;
  }
}

LlamaModel::Indices LlamaModel::stage_indices(const ForwardBatch& b) {
  const std::vector<int32_t>* arrays[] = {&b.tokens,   &b.positions,    &b.new_slots, &b.q_offsets,
                                          &b.ctx_lens, &b.slot_offsets, &b.slots,     &b.logit_rows};
  const int32_t* ptrs[8];
  if (!be_.is_device()) {
    for (int i = 0; i < 8; ++i) ptrs[i] = arrays[i]->data();
  } else {
    // One host→device copy for all of them.
    size_t total = 0;
    for (auto* a : arrays) total += a->size();
    idx_host_.clear();
    idx_host_.reserve(total);
    size_t off[8];
    for (int i = 0; i < 8; ++i) {
      off[i] = idx_host_.size();
      idx_host_.insert(idx_host_.end(), arrays[i]->begin(), arrays[i]->end());
    }
    grow(be_, idx_dev_, std::max<size_t>(total, 1) * sizeof(int32_t));
    be_.copy_to_backend(idx_dev_.get(), idx_host_.data(), total * sizeof(int32_t));
    for (int i = 0; i < 8; ++i) ptrs[i] = idx_dev_.as<int32_t>() + off[i];
  }
  return {ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6], ptrs[7]};
}

void LlamaModel::forward(const ForwardBatch& b, runtime::KvCache& kv, float* logits) {
  const ModelConfig& c = config_;
  const int64_t T = b.num_tokens();
  CHECK(T > 0, "empty forward batch");
  CHECK(static_cast<int64_t>(b.positions.size()) == T && static_cast<int64_t>(b.new_slots.size()) == T,
        "ragged batch arrays disagree: {} tokens, {} positions, {} slots", T, b.positions.size(),
        b.new_slots.size());
  CHECK(kv.on_device() == be_.is_device(), "KV cache is in {} memory but backend {} computes on {}",
        kv.on_device() ? "device" : "host", be_.name(), be_.is_device() ? "a device" : "the host");
  const int64_t R = static_cast<int64_t>(b.logit_rows.size());
  for (int32_t r : b.logit_rows) CHECK(r >= 0 && r < T, "logit row {} outside the batch of {} tokens", r, T);
  ensure_scratch(T);
  const int64_t H = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), FF = c.intermediate_size;
  const Indices ix = stage_indices(b);

  kernels::AttentionBatch ab;
  ab.num_seqs = b.num_seqs();
  ab.q_offsets = ix.q_offsets;
  ab.ctx_lens = ix.ctx_lens;
  ab.slot_offsets = ix.slot_offsets;
  ab.slots = ix.slots;
  ab.n_heads = c.num_heads;
  ab.n_kv_heads = c.num_kv_heads;
  ab.head_dim = c.head_dim;
  ab.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  ab.total_q = static_cast<int>(T);
  for (int s = 0; s < ab.num_seqs; ++s) {
    ab.max_q_len = std::max(ab.max_q_len, b.q_offsets[s + 1] - b.q_offsets[s]);
    ab.max_ctx_len = std::max(ab.max_ctx_len, b.ctx_lens[s]);
  }

  float* resid = resid_.as<float>();
  float* normed = normed_.as<float>();
  float* qkv = qkv_.as<float>();
  float* q = q_.as<float>();
  float* k = k_.as<float>();
  float* v = v_.as<float>();
  float* attn = attn_.as<float>();
  float* proj = proj_.as<float>();
  be_.embed(embedding_, ix.tokens, T, resid);

  const size_t f = sizeof(float);
  for (int l = 0; l < c.num_layers; ++l) {
    const BLayer& L = layers_[l];
    if (l == 0) {
      be_.rms_norm(resid, L.attn_norm, T, H, c.rms_norm_eps, normed);
    } else {
      // The previous layer's FFN output joins the residual stream here.
      be_.add_rms_norm(resid, proj, L.attn_norm, T, H, c.rms_norm_eps, normed);
    }
    // Attention block.
    linear(normed, T, L.qkv, qkv);
    const size_t QKV = (Q + 2 * KV) * f;
    be_.copy_2d(q, Q * f, qkv, QKV, Q * f, T);
    be_.copy_2d(k, KV * f, qkv + Q, QKV, KV * f, T);
    be_.copy_2d(v, KV * f, qkv + Q + KV, QKV, KV * f, T);
    if (c.qk_norm) {
      be_.rms_norm(q, L.q_norm, T * c.num_heads, c.head_dim, c.rms_norm_eps, q);
      be_.rms_norm(k, L.k_norm, T * c.num_kv_heads, c.head_dim, c.rms_norm_eps, k);
    }
    be_.rope(q, ix.positions, T, c.num_heads, c.rope);
    be_.rope(k, ix.positions, T, c.num_kv_heads, c.rope);
    if (kv.dtype() == DType::kF32) {
      auto* kc = static_cast<float*>(kv.k(l));
      auto* vc = static_cast<float*>(kv.v(l));
      be_.store_kv(kc, vc, k, v, ix.new_slots, T, KV);
      be_.attention(q, kc, vc, ab, attn);
    } else {
      be_.store_kv_half(kv.dtype(), kv.k(l), kv.v(l), k, v, ix.new_slots, T, KV);
      be_.attention_half(kv.dtype(), q, kv.k(l), kv.v(l), ab, attn);
    }
    linear(attn, T, L.o, proj);
    be_.add_rms_norm(resid, proj, L.ffn_norm, T, H, c.rms_norm_eps, normed);
    // Feed-forward block.
    linear(normed, T, L.gate_up, gate_up_.as<float>());
    be_.silu_mul(gate_up_.as<float>(), T, FF, act_.as<float>());
    linear(act_.as<float>(), T, L.down, proj);
  }
  be_.add_rms_norm(resid, proj, final_norm_, T, H, c.rms_norm_eps, normed);

  // LM head only on the rows whose logits are wanted.
  if (R == 0) return;
  grow(be_, rows_, R * H * f);
  be_.gather_rows(normed, H, ix.logit_rows, R, rows_.as<float>());
  if (!be_.is_device()) {
    be_.matmul(rows_.as<float>(), R, lm_head_, nullptr, logits);
    return;
  }
  const size_t logit_bytes = static_cast<size_t>(R) * c.vocab_size * f;
  grow(be_, logits_, logit_bytes);
  be_.matmul(rows_.as<float>(), R, lm_head_, nullptr, logits_.as<float>());
  be_.copy_to_host(logits, logits_.get(), logit_bytes);
}

}  // namespace tandem::model
