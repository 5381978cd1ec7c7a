#include "worker/model/llama_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "common/check.h"

namespace tandem::model {

namespace {

// Context lengths are rounded up to a power of two (at least 256) for captured steps: attention's
// launch shape (its KV split) depends on it, so one capture serves a range of lengths.
int ctx_bucket(int ctx) {
  int b = 256;
  while (b < ctx) b *= 2;
  return b;
}

bool graphs_from_env() {
  const char* e = std::getenv("TANDEM_CUDA_GRAPHS");
  return !(e && std::string_view(e) == "0");
}

}  // namespace

bool LlamaModel::grow(kernels::BackendBuffer& buf, size_t bytes) {
  if (buf.bytes() >= bytes) return false;
  buf = kernels::BackendBuffer(be_, bytes);
  return true;
}

void LlamaModel::set_step_graphs(bool on) {
  graphs_on_ = on;
  if (!on) drop_captures();
}

void LlamaModel::drop_captures() {
  captures_.clear();
  seen_.clear();
  be_.drop_captures();
}

LlamaModel::LlamaModel(ModelConfig config, std::unique_ptr<LlamaWeights> weights, kernels::Backend& backend)
    : LlamaModel(config, std::move(weights), backend, whole_model(config), nullptr) {}

LlamaModel::LlamaModel(ModelConfig config, std::unique_ptr<LlamaWeights> weights, kernels::Backend& backend,
                       const TpShard& shard, runtime::ProcessGroup* group)
    : config_(std::move(config)), w_(std::move(weights)), be_(backend), sh_(shard),
      pg_(shard.sharded() ? group : nullptr), graphs_on_(graphs_from_env()) {
  if (sh_.sharded()) {
    CHECK(group != nullptr && group->size() == sh_.size && group->rank() == sh_.rank,
          "tensor-parallel rank {}/{} needs a process group of that rank and size", sh_.rank, sh_.size);
  }
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
    if (L.moe) {
      B.moe = std::make_unique<BLayer::Moe>();
      B.moe->router = upload_linear(L.moe->router);
      for (const MoeWeights::Expert& e : L.moe->experts) {
        B.moe->experts.emplace_back(upload_linear(e.gate_up), upload_linear(e.down));
      }
      if (!L.moe->shared.gate_up.parts.empty()) {
        B.moe->shared_gate_up = upload_linear(L.moe->shared.gate_up);
        B.moe->shared_down = upload_linear(L.moe->shared.down);
        B.moe->shared_gate = upload_linear(L.moe->shared_gate);
      }
      continue;
    }
    B.gate_up = upload_linear(L.gate_up);
    B.down = upload_linear(L.down);
  }
  if (config_.num_experts > 0) {
    const size_t n = static_cast<size_t>(config_.num_layers) * config_.num_experts;
    expert_counts_ = std::make_unique<std::atomic<int64_t>[]>(n);
    for (size_t i = 0; i < n; ++i) expert_counts_[i] = 0;
  }
}

LlamaModel::BLinear LlamaModel::upload_linear(const Linear& lin) {
  BLinear b;
  b.parts = be_.upload_linear(lin.parts);
  b.bias = lin.bias.empty() ? nullptr : be_.upload(lin.bias.data(), static_cast<int64_t>(lin.bias.size()));
  b.out_features = lin.out_features;
  return b;
}

bool LlamaModel::ensure_scratch(int64_t t) {
  if (t <= scratch_tokens_) return false;
  const ModelConfig& c = config_;
  scratch_tokens_ = t;
  const size_t f = sizeof(float);
  const int64_t Q = sh_.q_dim(c.head_dim), KV = sh_.kv_dim(c.head_dim);  // this rank's heads
  resid_ = kernels::BackendBuffer(be_, t * c.hidden_size * f);
  normed_ = kernels::BackendBuffer(be_, t * c.hidden_size * f);
  qkv_ = kernels::BackendBuffer(be_, t * (Q + 2 * KV) * f);
  q_ = kernels::BackendBuffer(be_, t * Q * f);
  k_ = kernels::BackendBuffer(be_, t * KV * f);
  v_ = kernels::BackendBuffer(be_, t * KV * f);
  attn_ = kernels::BackendBuffer(be_, t * Q * f);
  proj_ = kernels::BackendBuffer(be_, t * c.hidden_size * f);
  gate_up_ = kernels::BackendBuffer(be_, t * 2 * sh_.ff * f);
  act_ = kernels::BackendBuffer(be_, t * sh_.ff * f);
  return true;
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
    if (grow(part_, m * n * sizeof(float))) CHECK(captures_.empty(), "unfused linear parts in a captured step");
    be_.matmul(x, m, p, lin.bias ? lin.bias + col : nullptr, part_.as<float>());
    be_.copy_2d(y + col, lin.out_features * sizeof(float), part_.get(), n * sizeof(float), n * sizeof(float), m);
    col += n;
  }
}

LlamaModel::Indices LlamaModel::stage_indices(const ForwardBatch& b, bool* moved) {
  const std::vector<int32_t>* tokens = &b.tokens;
  if (sh_.sharded()) {
    // Vocabulary-parallel embedding: ids of this rank's rows, -1 (a zero row) for the others'.
    local_tokens_.resize(b.tokens.size());
    for (size_t i = 0; i < b.tokens.size(); ++i) {
      const int64_t id = b.tokens[i] - sh_.vocab_begin;
      local_tokens_[i] = id >= 0 && id < sh_.vocab ? static_cast<int32_t>(id) : -1;
    }
    tokens = &local_tokens_;
  }
  const std::vector<int32_t>* arrays[] = {tokens,      &b.positions,    &b.new_slots,  &b.q_offsets,
                                          &b.ctx_lens, &b.slot_offsets, &b.logit_rows, &b.slots};
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
    // Grows by doubling: the slot lists lengthen every decode step, and a move drops captures.
    if (idx_dev_.bytes() < total * sizeof(int32_t)) {
      *moved |= grow(idx_dev_, std::max<size_t>({total, size_t{1} << 16, 2 * idx_dev_.bytes() / sizeof(int32_t)}) *
                                   sizeof(int32_t));
    }
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
  const size_t f = sizeof(float);
  bool moved = ensure_scratch(T);
  const Indices ix = stage_indices(b, &moved);
  moved |= grow(rows_, std::max<int64_t>(R, 1) * c.hidden_size * f);
  const size_t logit_bytes = static_cast<size_t>(R) * c.vocab_size * f;
  if (be_.is_device()) moved |= grow(logits_, std::max<size_t>(logit_bytes, 1));
  if (sh_.sharded()) {
    const size_t shard_bytes = std::max<int64_t>(R, 1) * sh_.vocab_stride * f;
    moved |= grow(shard_logits_, shard_bytes);
    moved |= grow(gathered_logits_, shard_bytes * sh_.size);
  }
  if (moved && !captures_.empty()) drop_captures();

  kernels::AttentionBatch ab;
  ab.num_seqs = b.num_seqs();
  ab.q_offsets = ix.q_offsets;
  ab.ctx_lens = ix.ctx_lens;
  ab.slot_offsets = ix.slot_offsets;
  ab.slots = ix.slots;
  ab.n_heads = sh_.num_heads;
  ab.n_kv_heads = sh_.num_kv_heads;
  ab.head_dim = c.head_dim;
  ab.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  ab.total_q = static_cast<int>(T);
  for (int s = 0; s < ab.num_seqs; ++s) {
    ab.max_q_len = std::max(ab.max_q_len, b.q_offsets[s + 1] - b.q_offsets[s]);
    ab.max_ctx_len = std::max(ab.max_ctx_len, b.ctx_lens[s]);
  }
  auto q_len = [&](int s) { return b.q_offsets[s + 1] - b.q_offsets[s]; };
  while (ab.num_decode_seqs < ab.num_seqs && q_len(ab.num_decode_seqs) == 1) ++ab.num_decode_seqs;
  float* out = be_.is_device() ? logits_.as<float>() : logits;

  // MoE layers route on the host between kernels (moe_block.cc): such steps cannot be captured.
  const bool capture = graphs_on_ && be_.supports_capture() && ab.max_q_len == 1 && R > 0 && c.num_experts == 0;
  if (!capture) {
    compute(ix, ab, kv, T, R, out);
  } else {
    ab.max_ctx_len = ctx_bucket(ab.max_ctx_len);
    const StepKey key{T, R, kv.id(), ab.max_ctx_len};
    bool done = false;
    if (auto it = captures_.find(key); it != captures_.end()) {
      done = be_.replay(it->second);
      if (!done) captures_.erase(it);  // stale: the backend moved its scratch; capture again
    }
    if (!done && seen_.insert(key).second) {
      // First step of this shape: run it plainly so every scratch buffer gets its size.
      compute(ix, ab, kv, T, R, out);
    } else if (!done) {
      be_.capture_begin();
      compute(ix, ab, kv, T, R, out);
      const int id = be_.capture_end();
      captures_[key] = id;
      CHECK(be_.replay(id), "a fresh capture is already stale");
    }
  }
  if (be_.is_device() && R > 0 && logits != nullptr) be_.copy_to_host(logits, out, logit_bytes);
}

void LlamaModel::compute(const Indices& ix, const kernels::AttentionBatch& ab, runtime::KvCache& kv, int64_t T,
                         int64_t R, float* logits) {
  const ModelConfig& c = config_;
  // This rank's part (the whole model unless tensor parallel).
  const int64_t H = c.hidden_size, Q = sh_.q_dim(c.head_dim), KV = sh_.kv_dim(c.head_dim), FF = sh_.ff;
  const int nh = sh_.num_heads, nkv = sh_.num_kv_heads;
  const size_t f = sizeof(float);
  float* resid = resid_.as<float>();
  float* normed = normed_.as<float>();
  float* qkv = qkv_.as<float>();
  float* q = q_.as<float>();
  float* k = k_.as<float>();
  float* v = v_.as<float>();
  float* attn = attn_.as<float>();
  float* proj = proj_.as<float>();
  be_.embed(embedding_, ix.tokens, T, resid);
  if (pg_) pg_->all_reduce_sum(resid, T * H);

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
      be_.rms_norm(q, L.q_norm, T * nh, c.head_dim, c.rms_norm_eps, q);
      be_.rms_norm(k, L.k_norm, T * nkv, c.head_dim, c.rms_norm_eps, k);
    }
    be_.rope(q, ix.positions, T, nh, c.rope);
    be_.rope(k, ix.positions, T, nkv, c.rope);
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
    if (pg_) pg_->all_reduce_sum(proj, T * H);  // row-parallel: each rank's heads' share
    be_.add_rms_norm(resid, proj, L.ffn_norm, T, H, c.rms_norm_eps, normed);
    // Feed-forward block.
    if (L.moe) {
      moe_mlp(l, *L.moe, normed, T, proj);  // all-reduced inside
      continue;
    }
    linear(normed, T, L.gate_up, gate_up_.as<float>());
    be_.silu_mul(gate_up_.as<float>(), T, FF, act_.as<float>());
    linear(act_.as<float>(), T, L.down, proj);
    if (pg_) pg_->all_reduce_sum(proj, T * H);
  }
  be_.add_rms_norm(resid, proj, final_norm_, T, H, c.rms_norm_eps, normed);

  // LM head only on the rows whose logits are wanted.
  if (R == 0) return;
  be_.gather_rows(normed, H, ix.logit_rows, R, rows_.as<float>());
  if (!pg_) {
    be_.matmul(rows_.as<float>(), R, lm_head_, nullptr, logits);
    return;
  }
  // A share narrower than the block width is written into the (still free) gather buffer and
  // repacked at the block pitch.
  const bool narrow = sh_.vocab < sh_.vocab_stride;
  be_.matmul(rows_.as<float>(), R, lm_head_, nullptr, narrow ? gathered_logits_.as<float>() : shard_logits_.as<float>());
  gather_logits(R, logits);
}

void LlamaModel::gather_logits(int64_t R, float* logits) {
  // Ranks' shares differ by at most one row, so each sends a block of the largest share's width
  // ([R, stride]: its logits, then padding) and the blocks are laid side by side into [R, vocab].
  const int64_t V = config_.vocab_size, stride = sh_.vocab_stride;
  const size_t f = sizeof(float);
  float* shard = shard_logits_.as<float>();
  float* all = gathered_logits_.as<float>();
  if (sh_.vocab < stride) be_.copy_2d(shard, stride * f, all, sh_.vocab * f, sh_.vocab * f, R);
  pg_->all_gather(shard, R * stride, all);
  for (int r = 0; r < sh_.size; ++r) {
    const runtime::Share s = runtime::share_of(V, r, sh_.size);
    be_.copy_2d(logits + s.begin, V * f, all + r * R * stride, stride * f, s.count * f, R);
  }
}

}  // namespace tandem::model
