#include "worker/model/llama_weights.h"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "common/check.h"

namespace tandem::model {

namespace {

// Checkpoint naming schemes.
struct Names {
  virtual ~Names() = default;
  virtual std::string embedding() const = 0;
  virtual std::string lm_head() const = 0;
  virtual std::string final_norm() const = 0;
  // role: attn_norm, q, k, v, o, q_norm, k_norm, ffn_norm, gate, up, down; suffix "weight"|"bias"
  virtual std::string layer(int i, std::string_view role, std::string_view suffix) const = 0;
};

struct GgufNames final : Names {
  std::string embedding() const override { return "token_embd.weight"; }
  std::string lm_head() const override { return "output.weight"; }
  std::string final_norm() const override { return "output_norm.weight"; }
  std::string layer(int i, std::string_view role, std::string_view suffix) const override {
    static const std::pair<std::string_view, std::string_view> kMap[] = {
        {"attn_norm", "attn_norm"}, {"q", "attn_q"},       {"k", "attn_k"},
        {"v", "attn_v"},           {"o", "attn_output"},  {"q_norm", "attn_q_norm"},
        {"k_norm", "attn_k_norm"}, {"ffn_norm", "ffn_norm"}, {"gate", "ffn_gate"},
        {"up", "ffn_up"},          {"down", "ffn_down"}};
    for (auto& [r, n] : kMap) {
      if (r == role) return fmt::format("blk.{}.{}.{}", i, n, suffix);
    }
    CHECK(false, "unknown layer role {}", role);
  }
};

struct HfNames final : Names {
  std::string embedding() const override { return "model.embed_tokens.weight"; }
  std::string lm_head() const override { return "lm_head.weight"; }
  std::string final_norm() const override { return "model.norm.weight"; }
  std::string layer(int i, std::string_view role, std::string_view suffix) const override {
    static const std::pair<std::string_view, std::string_view> kMap[] = {
        {"attn_norm", "input_layernorm"}, {"q", "self_attn.q_proj"},     {"k", "self_attn.k_proj"},
        {"v", "self_attn.v_proj"},        {"o", "self_attn.o_proj"},     {"q_norm", "self_attn.q_norm"},
        {"k_norm", "self_attn.k_norm"},   {"ffn_norm", "post_attention_layernorm"},
        {"gate", "mlp.gate_proj"},        {"up", "mlp.up_proj"},         {"down", "mlp.down_proj"}};
    for (auto& [r, n] : kMap) {
      if (r == role) return fmt::format("model.layers.{}.{}.{}", i, n, suffix);
    }
    CHECK(false, "unknown layer role {}", role);
  }
};

class Binder {
 public:
  Binder(const WeightSource& src, LlamaWeights& out) : src_(src), out_(out) {}

  StatusOr<TensorView> matrix(const std::string& name, int64_t rows, int64_t cols) {
    const TensorView* t = src_.find_tensor(name);
    if (!t) return not_found("checkpoint has no tensor '{}'", name);
    if (t->shape.size() != 2 || t->shape[0] != rows || t->shape[1] != cols) {
      return invalid_argument("tensor '{}' has shape {}, expected [{}, {}]", name, t->shape_string(), rows,
                              cols);
    }
    return *t;
  }

  // A 1-D tensor converted to float32; absent and optional → empty vector.
  StatusOr<std::vector<float>> vector(const std::string& name, int64_t n, bool optional = false) {
    const TensorView* t = src_.find_tensor(name);
    if (!t) {
      if (optional) return std::vector<float>{};
      return not_found("checkpoint has no tensor '{}'", name);
    }
    if (t->numel() != n) {
      return invalid_argument("tensor '{}' has shape {}, expected [{}]", name, t->shape_string(), n);
    }
    std::vector<float> v(n);
    const auto* p = static_cast<const uint8_t*>(t->data);
    for (int64_t i = 0; i < n; ++i) {
      switch (t->dtype) {
        case DType::kF32: std::memcpy(&v[i], p + 4 * i, 4); break;
        case DType::kF16: {
          uint16_t h;
          std::memcpy(&h, p + 2 * i, 2);
          v[i] = fp16_to_fp32(h);
          break;
        }
        case DType::kBF16: {
          uint16_t h;
          std::memcpy(&h, p + 2 * i, 2);
          v[i] = bf16_to_fp32(h);
          break;
        }
        default:
          return unimplemented("tensor '{}' is {}; norm weights and biases must be F32, F16 or BF16", name,
                               dtype_name(t->dtype));
      }
    }
    return v;
  }

  // Rows [begin, begin + count) of a matrix: a view, no copy.
  static TensorView rows(const TensorView& t, int64_t begin, int64_t count) {
    if (begin == 0 && count == t.rows()) return t;
    TensorView v = t;
    v.shape = {count, t.cols()};
    v.data = t.row(begin);
    v.nbytes = static_cast<size_t>(count) * t.row_stride_bytes();
    return v;
  }

  // Columns [begin, begin + count) of every row, copied into owned memory. Quantized rows are
  // sequences of blocks, so the range must start and end on block boundaries.
  StatusOr<TensorView> cols(const TensorView& t, int64_t begin, int64_t count) {
    if (begin == 0 && count == t.cols()) return t;
    const int be = dtype_info(t.dtype).block_elems;
    if (begin % be != 0 || count % be != 0) {
      return invalid_argument("tensor '{}' ({}, blocks of {} elements) cannot be split at columns [{}, {}) for "
                              "tensor parallelism; choose a --tp whose head/intermediate shares are multiples of {}",
                              t.name, dtype_name(t.dtype), be, begin, begin + count, be);
    }
    const size_t off = row_bytes(t.dtype, begin), width = row_bytes(t.dtype, count);
    const size_t total = width * static_cast<size_t>(t.rows());
    auto* mem = static_cast<uint8_t*>(std::aligned_alloc(64, (total + 63) / 64 * 64));
    CHECK(mem != nullptr, "out of memory slicing {} ({} bytes)", t.name, total);
    out_.owned.emplace_back(mem, [](uint8_t* q) { std::free(q); });
    for (int64_t r = 0; r < t.rows(); ++r) std::memcpy(mem + r * width, t.row(r) + off, width);
    TensorView v = t;
    v.shape = {t.rows(), count};
    v.data = mem;
    v.nbytes = total;
    return v;
  }

  // Concatenates matrices along rows into one owned tensor when their dtypes agree.
  Linear fuse(std::vector<TensorView> parts, const std::string& fused_name) {
    Linear lin;
    lin.in_features = parts[0].cols();
    for (const TensorView& p : parts) lin.out_features += p.rows();
    bool same = true;
    for (const TensorView& p : parts) same = same && p.dtype == parts[0].dtype;
    if (!same || parts.size() == 1) {
      lin.parts = std::move(parts);
      return lin;
    }
    size_t total = 0;
    for (const TensorView& p : parts) total += p.nbytes;
    auto* mem = static_cast<uint8_t*>(std::aligned_alloc(64, (total + 63) / 64 * 64));
    CHECK(mem != nullptr, "out of memory fusing {} ({} bytes)", fused_name, total);
    out_.owned.emplace_back(mem, [](uint8_t* q) { std::free(q); });
    size_t off = 0;
    for (const TensorView& p : parts) {
      std::memcpy(mem + off, p.data, p.nbytes);
      off += p.nbytes;
    }
    TensorView fused;
    fused.name = fused_name;
    fused.dtype = parts[0].dtype;
    fused.shape = {lin.out_features, lin.in_features};
    fused.data = mem;
    fused.nbytes = total;
    lin.parts = {fused};
    return lin;
  }

 private:
  const WeightSource& src_;
  LlamaWeights& out_;
};

// An MLP's gate/up rows [f0, f0 + nf) fused, and the matching down columns.
StatusOr<MoeWeights::Expert> bind_mlp(Binder& b, const std::string& gate, const std::string& up,
                                      const std::string& down, int64_t h, int64_t ff, int64_t f0, int64_t nf) {
  ASSIGN_OR_RETURN(TensorView wg, b.matrix(gate, ff, h));
  ASSIGN_OR_RETURN(TensorView wu, b.matrix(up, ff, h));
  ASSIGN_OR_RETURN(TensorView wd, b.matrix(down, h, ff));
  MoeWeights::Expert e;
  e.gate_up = b.fuse({Binder::rows(wg, f0, nf), Binder::rows(wu, f0, nf)}, gate + "+up");
  ASSIGN_OR_RETURN(TensorView wd_part, b.cols(wd, f0, nf));
  e.down = b.fuse({wd_part}, down);
  return e;
}

// Qwen2/3-MoE naming (mlp.gate, mlp.experts.E.{gate,up,down}_proj, mlp.shared_expert*) or
// Mixtral's (block_sparse_moe.gate, block_sparse_moe.experts.E.w1 (gate) / w3 (up) / w2 (down)).
StatusOr<std::unique_ptr<MoeWeights>> bind_moe(Binder& b, const ModelConfig& c, const TpShard& sh, int layer) {
  auto m = std::make_unique<MoeWeights>();
  const int64_t h = c.hidden_size;
  const bool mixtral = c.arch == "mixtral";
  const std::string p = fmt::format("model.layers.{}.{}.", layer, mixtral ? "block_sparse_moe" : "mlp");
  ASSIGN_OR_RETURN(TensorView router, b.matrix(p + "gate.weight", c.num_experts, h));
  m->router = b.fuse({router}, router.name);
  for (int e = sh.expert_begin; e < sh.expert_begin + sh.num_experts; ++e) {
    const std::string x = fmt::format("{}experts.{}.", p, e);
    ASSIGN_OR_RETURN(MoeWeights::Expert ex,
                     mixtral ? bind_mlp(b, x + "w1.weight", x + "w3.weight", x + "w2.weight", h,
                                        c.moe_intermediate_size, sh.moe_ff_begin, sh.moe_ff)
                             : bind_mlp(b, x + "gate_proj.weight", x + "up_proj.weight", x + "down_proj.weight", h,
                                        c.moe_intermediate_size, sh.moe_ff_begin, sh.moe_ff));
    m->experts.push_back(std::move(ex));
  }
  if (c.shared_expert_intermediate_size > 0) {
    const std::string x = p + "shared_expert.";
    ASSIGN_OR_RETURN(m->shared, bind_mlp(b, x + "gate_proj.weight", x + "up_proj.weight", x + "down_proj.weight", h,
                                         c.shared_expert_intermediate_size, sh.shared_ff_begin, sh.shared_ff));
    ASSIGN_OR_RETURN(TensorView g, b.matrix(p + "shared_expert_gate.weight", 1, h));
    m->shared_gate = b.fuse({g}, g.name);
  }
  return m;
}

}  // namespace

StatusOr<std::unique_ptr<LlamaWeights>> bind_llama_weights(const ModelConfig& c, const WeightSource& src) {
  return bind_llama_weights(c, src, whole_model(c));
}

StatusOr<std::unique_ptr<LlamaWeights>> bind_llama_weights(const ModelConfig& c, const WeightSource& src,
                                                           const TpShard& sh) {
  auto w = std::make_unique<LlamaWeights>();
  Binder b(src, *w);
  GgufNames gguf_names;
  HfNames hf_names;
  const Names& n = c.format == CheckpointFormat::kGguf ? static_cast<const Names&>(gguf_names)
                                                       : static_cast<const Names&>(hf_names);
  const int64_t h = c.hidden_size, q = c.q_dim(), kv = c.kv_dim(), ff = c.intermediate_size;
  const int64_t hd = c.head_dim;
  const int64_t q0 = sh.head_begin * hd, nq = sh.num_heads * hd;        // this rank's q rows
  const int64_t k0 = sh.kv_head_begin * hd, nkv = sh.num_kv_heads * hd;  // its k / v rows
  ASSIGN_OR_RETURN(TensorView emb, b.matrix(n.embedding(), c.vocab_size, h));
  w->embedding = Binder::rows(emb, sh.vocab_begin, sh.vocab);
  if (c.tie_word_embeddings || src.find_tensor(n.lm_head()) == nullptr) {
    w->lm_head = w->embedding;
  } else {
    ASSIGN_OR_RETURN(TensorView head, b.matrix(n.lm_head(), c.vocab_size, h));
    w->lm_head = Binder::rows(head, sh.vocab_begin, sh.vocab);
  }
  ASSIGN_OR_RETURN(w->final_norm, b.vector(n.final_norm(), h));
  w->layers.resize(c.num_layers);
  for (int i = 0; i < c.num_layers; ++i) {
    LayerWeights& L = w->layers[i];
    ASSIGN_OR_RETURN(L.attn_norm, b.vector(n.layer(i, "attn_norm", "weight"), h));
    ASSIGN_OR_RETURN(TensorView wq, b.matrix(n.layer(i, "q", "weight"), q, h));
    ASSIGN_OR_RETURN(TensorView wk, b.matrix(n.layer(i, "k", "weight"), kv, h));
    ASSIGN_OR_RETURN(TensorView wv, b.matrix(n.layer(i, "v", "weight"), kv, h));
    L.qkv = b.fuse({Binder::rows(wq, q0, nq), Binder::rows(wk, k0, nkv), Binder::rows(wv, k0, nkv)},
                   fmt::format("blk.{}.attn_qkv", i));
    if (c.qkv_bias) {
      ASSIGN_OR_RETURN(std::vector<float> bq, b.vector(n.layer(i, "q", "bias"), q));
      ASSIGN_OR_RETURN(std::vector<float> bk, b.vector(n.layer(i, "k", "bias"), kv));
      ASSIGN_OR_RETURN(std::vector<float> bv, b.vector(n.layer(i, "v", "bias"), kv));
      L.qkv.bias.assign(bq.begin() + q0, bq.begin() + q0 + nq);
      L.qkv.bias.insert(L.qkv.bias.end(), bk.begin() + k0, bk.begin() + k0 + nkv);
      L.qkv.bias.insert(L.qkv.bias.end(), bv.begin() + k0, bv.begin() + k0 + nkv);
    }
    if (c.qk_norm) {
      ASSIGN_OR_RETURN(L.q_norm, b.vector(n.layer(i, "q_norm", "weight"), c.head_dim));
      ASSIGN_OR_RETURN(L.k_norm, b.vector(n.layer(i, "k_norm", "weight"), c.head_dim));
    }
    ASSIGN_OR_RETURN(TensorView wo, b.matrix(n.layer(i, "o", "weight"), h, q));
    ASSIGN_OR_RETURN(TensorView wo_part, b.cols(wo, q0, nq));
    L.o = b.fuse({wo_part}, wo.name);
    ASSIGN_OR_RETURN(L.ffn_norm, b.vector(n.layer(i, "ffn_norm", "weight"), h));
    if (c.is_moe_layer(i)) {
      if (c.format != CheckpointFormat::kHuggingFace) {
        return unimplemented("mixture-of-experts layers load from Hugging Face checkpoints only (not GGUF) for now");
      }
      ASSIGN_OR_RETURN(L.moe, bind_moe(b, c, sh, i));
      continue;
    }
    ASSIGN_OR_RETURN(TensorView wg, b.matrix(n.layer(i, "gate", "weight"), ff, h));
    ASSIGN_OR_RETURN(TensorView wu, b.matrix(n.layer(i, "up", "weight"), ff, h));
    L.gate_up = b.fuse({Binder::rows(wg, sh.ff_begin, sh.ff), Binder::rows(wu, sh.ff_begin, sh.ff)},
                       fmt::format("blk.{}.ffn_gate_up", i));
    ASSIGN_OR_RETURN(TensorView wd, b.matrix(n.layer(i, "down", "weight"), h, ff));
    ASSIGN_OR_RETURN(TensorView wd_part, b.cols(wd, sh.ff_begin, sh.ff));
    L.down = b.fuse({wd_part}, wd.name);
  }
  return w;
}

}  // namespace tandem::model
