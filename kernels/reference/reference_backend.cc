#include "kernels/reference/reference_backend.h"

#include "kernels/reference/ops.h"

namespace tandem::kernels::ref {

namespace {

class ReferenceBackend final : public Backend {
 public:
  const char* name() const override { return "reference"; }
  void matmul(const float* x, int64_t m, const TensorView& w, const float* bias, float* y) override {
    ref::matmul(x, m, w, bias, y);
  }
  void embed(const TensorView& table, const int32_t* ids, int64_t n, float* out) override {
    ref::embed(table, ids, n, out);
  }
  void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                float* out) override {
    ref::rms_norm(x, weight, rows, dim, eps, out);
  }
  void add_rms_norm(float* residual, const float* x, const float* weight, int64_t rows, int64_t dim,
                    float eps, float* out) override {
    ref::add_rms_norm(residual, x, weight, rows, dim, eps, out);
  }
  void rope(float* x, const int32_t* positions, int64_t tokens, int n_heads, const RopeConfig& cfg) override {
    ref::rope(x, positions, tokens, n_heads, cfg);
  }
  void silu_mul(const float* gate_up, int64_t rows, int64_t ff, float* out) override {
    ref::silu_mul(gate_up, rows, ff, out);
  }
  void add(float* x, const float* y, int64_t n) override { ref::add(x, y, n); }
  void store_kv(float* k_cache, float* v_cache, const float* k, const float* v, const int32_t* slots,
                int64_t tokens, int64_t kv_dim) override {
    ref::store_kv(k_cache, v_cache, k, v, slots, tokens, kv_dim);
  }
  void attention(const float* q, const float* k_cache, const float* v_cache, const AttentionBatch& batch,
                 float* out) override {
    ref::attention(q, k_cache, v_cache, batch, out);
  }
  void store_kv_half(DType cache_type, void* k_cache, void* v_cache, const float* k, const float* v,
                     const int32_t* slots, int64_t tokens, int64_t kv_dim) override {
    ref::store_kv_half(cache_type, k_cache, v_cache, k, v, slots, tokens, kv_dim);
  }
  void attention_half(DType cache_type, const float* q, const void* k_cache, const void* v_cache,
                      const AttentionBatch& batch, float* out) override {
    ref::attention_half(cache_type, q, k_cache, v_cache, batch, out);
  }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace tandem::kernels::ref
