#include "kernels/cpu/cpu_backend.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

#include "common/check.h"
#include "kernels/cpu/cpu_context.h"
#include "kernels/cpu/drivers.h"

namespace tandem::kernels {

namespace {

class CpuBackend final : public Backend {
 public:
  CpuBackend(int num_threads, const cpu::KernelTable& table, int act_levels)
      : ctx_(num_threads, table), name_("cpu-" + std::string(cpu_isa_name(table.isa))) {
    CHECK(act_levels == 1 || act_levels == 2, "CPU backend: act_levels must be 1 or 2, got {}", act_levels);
    ctx_.two_level_acts = act_levels == 2;
    if (act_levels == 1) name_ += "-int8x1";
  }

  const char* name() const override { return name_.c_str(); }

  void matmul(const float* x, int64_t m, const TensorView& w, const float* bias, float* y) override {
    CHECK(w.shape.size() == 2, "matmul: weight {} must be 2-D, got {}", w.name, w.shape_string());
    if (m <= 0 || w.rows() == 0) return;
    if (dtype_info(w.dtype).quantized) {
      cpu::matmul_quantized(ctx_, x, m, w, bias, y);
    } else {
      cpu::matmul_float(ctx_, x, m, w, bias, y);
    }
  }
  void embed(const TensorView& table, const int32_t* ids, int64_t n, float* out) override {
    cpu::embed(ctx_, table, ids, n, out);
  }
  void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out) override {
    cpu::rms_norm(ctx_, x, weight, rows, dim, eps, out);
  }
  void add_rms_norm(float* residual, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                    float* out) override {
    cpu::add_rms_norm(ctx_, residual, x, weight, rows, dim, eps, out);
  }
  void rope(float* x, const int32_t* positions, int64_t tokens, int n_heads, const RopeConfig& cfg) override {
    cpu::rope(ctx_, x, positions, tokens, n_heads, cfg);
  }
  void silu_mul(const float* gate_up, int64_t rows, int64_t ff, float* out) override {
    cpu::silu_mul(ctx_, gate_up, rows, ff, out);
  }
  void add(float* x, const float* y, int64_t n) override { cpu::add(ctx_, x, y, n); }
  void store_kv(float* k_cache, float* v_cache, const float* k, const float* v, const int32_t* slots, int64_t tokens,
                int64_t kv_dim) override {
    cpu::store_kv(ctx_, k_cache, v_cache, k, v, slots, tokens, kv_dim);
  }
  void attention(const float* q, const float* k_cache, const float* v_cache, const AttentionBatch& batch,
                 float* out) override {
    cpu::attention(ctx_, DType::kF32, q, k_cache, v_cache, batch, out);
  }
  void store_kv_half(DType cache_type, void* k_cache, void* v_cache, const float* k, const float* v,
                     const int32_t* slots, int64_t tokens, int64_t kv_dim) override {
    cpu::store_kv_half(ctx_, cache_type, k_cache, v_cache, k, v, slots, tokens, kv_dim);
  }
  void attention_half(DType cache_type, const float* q, const void* k_cache, const void* v_cache,
                      const AttentionBatch& batch, float* out) override {
    CHECK(cache_type == DType::kF16 || cache_type == DType::kBF16, "attention_half: cache type {} is not F16 or BF16",
          dtype_name(cache_type));
    cpu::attention(ctx_, cache_type, q, k_cache, v_cache, batch, out);
  }

 private:
  cpu::CpuContext ctx_;
  std::string name_;
};

bool supports(CpuIsa isa) {
#if defined(__x86_64__)
  switch (isa) {
    case CpuIsa::kScalar: return true;
    case CpuIsa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case CpuIsa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
  }
  return false;
#else
  return isa == CpuIsa::kScalar;
#endif
}

const cpu::KernelTable& table_for(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAvx512: return cpu::avx512_kernel_table();
    case CpuIsa::kAvx2: return cpu::avx2_kernel_table();
    case CpuIsa::kScalar: break;
  }
  return cpu::scalar_kernel_table();
}

}  // namespace

CpuIsa detect_cpu_isa() {
  if (supports(CpuIsa::kAvx512)) return CpuIsa::kAvx512;
  if (supports(CpuIsa::kAvx2)) return CpuIsa::kAvx2;
  return CpuIsa::kScalar;
}

std::string_view cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar: return "scalar";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kAvx512: return "avx512";
  }
  return "unknown";
}

std::optional<CpuIsa> parse_cpu_isa(std::string_view s) {
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (s == cpu_isa_name(isa)) return isa;
  }
  return std::nullopt;
}

std::unique_ptr<Backend> make_cpu_backend(int num_threads, CpuIsa isa, int act_levels) {
  CHECK(supports(isa), "CPU backend: this CPU does not support the {} kernels (best here: {})", cpu_isa_name(isa),
        cpu_isa_name(detect_cpu_isa()));
  return std::make_unique<CpuBackend>(num_threads, table_for(isa), act_levels);
}

std::unique_ptr<Backend> make_cpu_backend(int num_threads, CpuIsa isa) {
  // TANDEM_CPU_ACT_LEVELS=1 selects llama.cpp's single int8 level (benchmarks, comparisons).
  int levels = 2;
  if (const char* env = std::getenv("TANDEM_CPU_ACT_LEVELS"); env && std::string(env) == "1") levels = 1;
  return make_cpu_backend(num_threads, isa, levels);
}

std::unique_ptr<Backend> make_cpu_backend(int num_threads) {
  CpuIsa isa = detect_cpu_isa();
  if (const char* env = std::getenv("TANDEM_CPU_ISA"); env && *env) {
    const std::optional<CpuIsa> forced = parse_cpu_isa(env);
    if (!forced) {
      spdlog::warn("TANDEM_CPU_ISA='{}' is not one of scalar|avx2|avx512; using {}", env, cpu_isa_name(isa));
    } else if (!supports(*forced)) {
      spdlog::warn("TANDEM_CPU_ISA={} is not supported by this CPU; using {}", env, cpu_isa_name(isa));
    } else {
      isa = *forced;
    }
  }
  return make_cpu_backend(num_threads, isa);
}

}  // namespace tandem::kernels
