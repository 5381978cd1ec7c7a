// Every CUDA backend op vs the scalar reference (kernels/reference) on fresh random inputs over a
// range of shapes: odd sizes, GQA ratios, ragged batches, contexts spanning many slots (the
// split-KV path). Outputs are poisoned with NaN before each run. Thresholds (METHOD.md): float32
// ops 1e-5; attention 1e-4 (float exp and summation order); matmul 1e-4 against the reference on
// the same bf16-rounded operands and 1e-2 against the unrounded ones. Skips without a GPU.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>

#include "kernels/reference/ops.h"
#include "tests/kernels/cuda_test_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace tandem::kernels {
namespace {

using testing::CudaTest;
using testing::random_activations;
using testing::random_floats;
using testing::rel_error;

std::vector<float> round_bf16(std::vector<float> v) {
  for (float& x : v) x = bf16_to_fp32(fp32_to_bf16(x));
  return v;
}

TensorView f32_view(const std::vector<float>& v, int64_t rows, int64_t cols) {
  TensorView t;
  t.name = "test.f32";
  t.dtype = DType::kF32;
  t.shape = {rows, cols};
  t.data = v.data();
  t.nbytes = v.size() * 4;
  return t;
}

using CudaMatmul = CudaTest;

TEST_F(CudaMatmul, MatchesReferenceOnBf16RoundedOperands) {
  struct Case {
    DType type;
    int64_t m, n, k;
  };
  const Case cases[] = {{DType::kF32, 1, 1, 32},      {DType::kF32, 3, 77, 64},     {DType::kBF16, 17, 513, 576},
                        {DType::kQ4_1, 1, 1536, 576}, {DType::kQ4_1, 64, 576, 1536}, {DType::kQ8_0, 130, 257, 1024},
                        {DType::kQ4_K, 5, 300, 512},  {DType::kQ6_K, 33, 129, 256}, {DType::kF16, 257, 96, 4096}};
  std::mt19937 rng(1234);
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{} m={} n={} k={}", dtype_name(c.type), c.m, c.n, c.k));
    auto w = testing::make_weights(c.type, c.n, c.k, random_floats(rng, c.n * c.k));
    const std::vector<float> x = random_activations(rng, c.m * c.k);
    const std::vector<float> bias = random_floats(rng, c.n);
    const TensorView dw = be_->upload_matrix(w.view);
    ASSERT_EQ(dw.dtype, DType::kBF16);
    for (bool with_bias : {false, true}) {
      float* y = poisoned(c.m * c.n);
      be_->matmul(upload(x), c.m, dw, with_bias ? upload(bias) : nullptr, y);
      const std::vector<float> got = download(y, c.m * c.n);
      // The same function on the operands the GPU sees (bf16), in double.
      const std::vector<float> wr = round_bf16(testing::dequantize_matrix(w.view));
      const std::vector<float> xr = round_bf16(x);
      std::vector<float> want(c.m * c.n), exact(c.m * c.n);
      ref::matmul(xr.data(), c.m, f32_view(wr, c.n, c.k), with_bias ? bias.data() : nullptr, want.data());
      const std::vector<float> wf = testing::dequantize_matrix(w.view);
      ref::matmul(x.data(), c.m, f32_view(wf, c.n, c.k), with_bias ? bias.data() : nullptr, exact.data());
      EXPECT_LT(rel_error(got, want), 1e-4);
      EXPECT_LT(rel_error(got, exact), 1e-2);
    }
  }
}

TEST_F(CudaMatmul, UploadLinearFusesPartsOfDifferentTypes) {
  std::mt19937 rng(7);
  auto a = testing::make_weights(DType::kQ4_1, 96, 256, random_floats(rng, 96 * 256));
  auto b = testing::make_weights(DType::kQ8_0, 33, 256, random_floats(rng, 33 * 256));
  const std::vector<TensorView> fused = be_->upload_linear({a.view, b.view});
  ASSERT_EQ(fused.size(), 1u);
  EXPECT_EQ(fused[0].rows(), 129);
  const std::vector<float> x = random_activations(rng, 3 * 256);
  float* y = poisoned(3 * 129);
  be_->matmul(upload(x), 3, fused[0], nullptr, y);
  const std::vector<float> got = download(y, 3 * 129);
  std::vector<float> wa = round_bf16(testing::dequantize_matrix(a.view));
  const std::vector<float> wb = round_bf16(testing::dequantize_matrix(b.view));
  wa.insert(wa.end(), wb.begin(), wb.end());
  std::vector<float> want(3 * 129);
  const std::vector<float> xr = round_bf16(x);
  ref::matmul(xr.data(), 3, f32_view(wa, 129, 256), nullptr, want.data());
  EXPECT_LT(rel_error(got, want), 1e-4);
}

using CudaRowOps = CudaTest;

TEST_F(CudaRowOps, EmbedFromBf16Table) {
  std::mt19937 rng(3);
  for (int64_t dim : {64, 576, 1000}) {
    const int64_t vocab = 777;
    auto t = testing::make_weights(DType::kQ8_0, vocab, dim - dim % 32, random_floats(rng, vocab * (dim - dim % 32)));
    const TensorView dt = be_->upload_matrix(t.view);
    std::vector<int32_t> ids(37);
    for (auto& i : ids) i = std::uniform_int_distribution<int32_t>(0, vocab - 1)(rng);
    const int64_t d = dt.cols();
    float* out = poisoned(ids.size() * d);
    be_->embed(dt, upload(ids), static_cast<int64_t>(ids.size()), out);
    const std::vector<float> table = round_bf16(testing::dequantize_matrix(t.view));
    std::vector<float> want(ids.size() * d);
    ref::embed(f32_view(table, vocab, d), ids.data(), static_cast<int64_t>(ids.size()), want.data());
    EXPECT_EQ(rel_error(download(out, want.size()), want), 0.0) << "dim " << d;
  }
}

TEST_F(CudaRowOps, RmsNormAndFusedAdd) {
  std::mt19937 rng(11);
  for (int64_t dim : {33, 64, 576, 4096, 5120}) {
    for (int64_t rows : {1, 7, 300}) {
      SCOPED_TRACE(fmt::format("rows={} dim={}", rows, dim));
      const auto x = random_activations(rng, rows * dim);
      const auto r = random_activations(rng, rows * dim);
      const auto w = random_floats(rng, dim, 0.5f, 1.5f);
      float* out = poisoned(rows * dim);
      be_->rms_norm(upload(x), upload(w), rows, dim, 1e-5f, out);
      std::vector<float> want(rows * dim);
      ref::rms_norm(x.data(), w.data(), rows, dim, 1e-5f, want.data());
      EXPECT_LT(rel_error(download(out, want.size()), want), 1e-5);

      // add_rms_norm with out aliasing x (the model's usage allows it).
      float* dres = upload(r);
      float* dx = upload(x);
      be_->add_rms_norm(dres, dx, upload(w), rows, dim, 1e-6f, dx);
      std::vector<float> res_want = r, out_want(rows * dim);
      ref::add_rms_norm(res_want.data(), x.data(), w.data(), rows, dim, 1e-6f, out_want.data());
      EXPECT_LT(rel_error(download(dres, res_want.size()), res_want), 1e-6);
      EXPECT_LT(rel_error(download(dx, out_want.size()), out_want), 1e-5);
    }
  }
}

TEST_F(CudaRowOps, RopeAllScalingsAndLayouts) {
  std::mt19937 rng(5);
  for (RopeScaling sc : {RopeScaling::kNone, RopeScaling::kLinear, RopeScaling::kLlama3}) {
    for (bool neox : {true, false}) {
      for (auto [head_dim, rotary] : {std::pair{64, 64}, {128, 128}, {80, 48}}) {
        RopeConfig cfg;
        cfg.head_dim = head_dim;
        cfg.rotary_dim = rotary;
        cfg.theta = 500000.0f;
        cfg.neox = neox;
        cfg.scaling = sc;
        cfg.factor = 8.0f;
        cfg.original_max_positions = 8192;
        const int tokens = 13, heads = 5;
        SCOPED_TRACE(fmt::format("scaling={} neox={} hd={} rot={}", static_cast<int>(sc), neox, head_dim, rotary));
        std::vector<int32_t> pos(tokens);
        for (auto& p : pos) p = std::uniform_int_distribution<int32_t>(0, 130000)(rng);
        pos[0] = 0;
        const auto x = random_floats(rng, tokens * heads * head_dim);
        float* dx = upload(x);
        be_->rope(dx, upload(pos), tokens, heads, cfg);
        std::vector<float> want = x;
        ref::rope(want.data(), pos.data(), tokens, heads, cfg);
        EXPECT_LT(rel_error(download(dx, want.size()), want), 1e-5);
      }
    }
  }
}

TEST_F(CudaRowOps, SiluMulAddGatherCopy2d) {
  std::mt19937 rng(9);
  for (auto [rows, ff] : {std::pair<int64_t, int64_t>{1, 1536}, {37, 1000}, {5, 14336}}) {
    const auto gu = random_activations(rng, rows * 2 * ff);
    float* out = poisoned(rows * ff);
    be_->silu_mul(upload(gu), rows, ff, out);
    std::vector<float> want(rows * ff);
    ref::silu_mul(gu.data(), rows, ff, want.data());
    EXPECT_LT(rel_error(download(out, want.size()), want), 1e-6);
  }
  const auto a = random_floats(rng, 10007), b = random_floats(rng, 10007);
  float* da = upload(a);
  be_->add(da, upload(b), 10007);
  std::vector<float> want = a;
  ref::add(want.data(), b.data(), 10007);
  EXPECT_EQ(rel_error(download(da, want.size()), want), 0.0);

  // gather_rows: rows out of order and repeated.
  const int64_t dim = 577;
  const auto src = random_floats(rng, 20 * dim);
  const std::vector<int32_t> rows = {19, 0, 7, 7, 3};
  float* g = poisoned(rows.size() * dim);
  be_->gather_rows(upload(src), dim, upload(rows), static_cast<int64_t>(rows.size()), g);
  std::vector<float> gw;
  for (int32_t r : rows) gw.insert(gw.end(), src.begin() + r * dim, src.begin() + (r + 1) * dim);
  EXPECT_EQ(rel_error(download(g, gw.size()), gw), 0.0);

  // copy_2d: the model's q|k|v split.
  const int64_t T = 9, Q = 192, KV = 64, QKV = Q + 2 * KV;
  const auto qkv = random_floats(rng, T * QKV);
  float* dq = poisoned(T * KV);
  be_->copy_2d(dq, KV * 4, upload(qkv) + Q + KV, QKV * 4, KV * 4, T);
  std::vector<float> vw;
  for (int64_t t = 0; t < T; ++t) vw.insert(vw.end(), qkv.begin() + t * QKV + Q + KV, qkv.begin() + (t + 1) * QKV);
  EXPECT_EQ(rel_error(download(dq, vw.size()), vw), 0.0);
}

// ---- KV store and attention ----

struct Seq {
  int q_len, ctx_len;
};

struct Problem {
  std::vector<int32_t> q_offsets{0}, ctx_lens, slot_offsets{0}, slots;
  std::vector<float> q, k_cache, v_cache;
  int num_slots = 0;
  AttentionBatch host;  // pointers into the vectors above
};

Problem make_problem(std::mt19937& rng, const std::vector<Seq>& seqs, int n_heads, int n_kv_heads, int head_dim) {
  Problem p;
  int total_q = 0, total_ctx = 0;
  for (const Seq& s : seqs) {
    total_q += s.q_len;
    total_ctx += s.ctx_len;
    p.q_offsets.push_back(total_q);
    p.slot_offsets.push_back(total_ctx);
    p.ctx_lens.push_back(s.ctx_len);
    p.host.max_q_len = std::max(p.host.max_q_len, s.q_len);
    p.host.max_ctx_len = std::max(p.host.max_ctx_len, s.ctx_len);
  }
  p.num_slots = total_ctx + 41;
  std::vector<int32_t> perm(p.num_slots);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  p.slots.assign(perm.begin(), perm.begin() + total_ctx);
  const int64_t kv_dim = static_cast<int64_t>(n_kv_heads) * head_dim;
  // Scores with a spread like real ones (q scale 3 over unit keys), so softmax is not flat.
  p.q = random_floats(rng, static_cast<size_t>(total_q) * n_heads * head_dim, -3.0f, 3.0f);
  p.k_cache = random_floats(rng, p.num_slots * kv_dim);
  p.v_cache = random_floats(rng, p.num_slots * kv_dim);
  AttentionBatch& b = p.host;
  b.num_seqs = static_cast<int>(seqs.size());
  b.q_offsets = p.q_offsets.data();
  b.ctx_lens = p.ctx_lens.data();
  b.slot_offsets = p.slot_offsets.data();
  b.slots = p.slots.data();
  b.n_heads = n_heads;
  b.n_kv_heads = n_kv_heads;
  b.head_dim = head_dim;
  b.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  b.total_q = total_q;
  return p;
}

std::vector<uint16_t> to_half(DType t, const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = t == DType::kF16 ? fp32_to_fp16(v[i]) : fp32_to_bf16(v[i]);
  return h;
}

// Tolerance of one attention call: the per-row kernel reads the cache exactly (1e-4: float exp
// and summation order); the tensor-core prefill kernel (16-bit cache, q_len >= 16, head_dim 64 or
// 128) rounds Q and the softmax weights to the cache's type: bf16 keeps 8 bits, f16 11. Measured
// on an H100 (2026-11-22): bf16 1.3e-3..1.9e-3, f16 1.6e-4..2.4e-4; the limits leave about 2x.
double attention_tolerance(DType t, const AttentionBatch& b) {
  const bool flash = t != DType::kF32 && b.max_q_len >= 16 && (b.head_dim == 64 || b.head_dim == 128);
  if (!flash) return 1e-4;
  return t == DType::kBF16 ? 4e-3 : 5e-4;
}

class CudaAttention : public CudaTest {
 protected:
  // Runs one problem through every cache type against the reference; d_bound, when > 0, replaces
  // max_ctx_len on the device call (a captured step passes a rounded-up bound).
  void check_attention(Problem& p, int d_bound = 0) {
    AttentionBatch d = p.host;
    d.q_offsets = upload(p.q_offsets);
    d.ctx_lens = upload(p.ctx_lens);
    d.slot_offsets = upload(p.slot_offsets);
    d.slots = upload(p.slots);
    if (d_bound > 0) d.max_ctx_len = d_bound;
    const float* dq = upload(p.q);
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
      SCOPED_TRACE(dtype_name(t));
      float* out = poisoned(p.q.size());
      std::vector<float> want(p.q.size());
      if (t == DType::kF32) {
        be_->attention(dq, upload(p.k_cache), upload(p.v_cache), d, out);
        ref::attention(p.q.data(), p.k_cache.data(), p.v_cache.data(), p.host, want.data());
      } else {
        const auto kh = to_half(t, p.k_cache), vh = to_half(t, p.v_cache);
        be_->attention_half(t, dq, upload(kh), upload(vh), d, out);
        ref::attention_half(t, p.q.data(), kh.data(), vh.data(), p.host, want.data());
      }
      const double err = rel_error(download(out, want.size()), want);
      EXPECT_LT(err, attention_tolerance(t, p.host));
      std::printf("  %-5s rel error %.2e (limit %.0e)\n", std::string(dtype_name(t)).c_str(), err,
                  attention_tolerance(t, p.host));
    }
  }
};

TEST_F(CudaAttention, StoreKvAllCacheTypes) {
  std::mt19937 rng(21);
  const int64_t kv_dim = 3 * 64, slots_n = 300, tokens = 57;
  std::vector<int32_t> perm(slots_n);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  const std::vector<int32_t> slots(perm.begin(), perm.begin() + tokens);
  const auto k = random_floats(rng, tokens * kv_dim), v = random_floats(rng, tokens * kv_dim);
  // f32: poisoned cache, stored rows must match, others stay NaN.
  float* kc = poisoned(slots_n * kv_dim);
  float* vc = poisoned(slots_n * kv_dim);
  be_->store_kv(kc, vc, upload(k), upload(v), upload(slots), tokens, kv_dim);
  std::vector<float> kw(slots_n * kv_dim, NAN), vw(slots_n * kv_dim, NAN);
  ref::store_kv(kw.data(), vw.data(), k.data(), v.data(), slots.data(), tokens, kv_dim);
  const auto kg = download(kc, kw.size()), vg = download(vc, vw.size());
  int mismatches = 0;
  for (size_t i = 0; i < kw.size(); ++i) {
    const bool same_k = (std::isnan(kw[i]) && std::isnan(kg[i])) || kw[i] == kg[i];
    const bool same_v = (std::isnan(vw[i]) && std::isnan(vg[i])) || vw[i] == vg[i];
    mismatches += !same_k + !same_v;
  }
  EXPECT_EQ(mismatches, 0);
  for (DType t : {DType::kF16, DType::kBF16}) {
    const std::vector<uint16_t> fill(slots_n * kv_dim, 0x7fff);
    uint16_t* hk = upload(fill);
    uint16_t* hv = upload(fill);
    be_->store_kv_half(t, hk, hv, upload(k), upload(v), upload(slots), tokens, kv_dim);
    std::vector<uint16_t> kw16 = fill, vw16 = fill;
    ref::store_kv_half(t, kw16.data(), vw16.data(), k.data(), v.data(), slots.data(), tokens, kv_dim);
    EXPECT_EQ(download(hk, fill.size()), kw16) << dtype_name(t);
    EXPECT_EQ(download(hv, fill.size()), vw16) << dtype_name(t);
  }
}

struct AttnCase {
  std::vector<Seq> seqs;
  int n_heads, n_kv_heads, head_dim;
};

std::vector<AttnCase> attention_cases() {
  return {
      {{{1, 1}}, 4, 4, 64},                                   // first token
      {{{1, 5000}}, 32, 8, 128},                              // one long decode: split-KV
      {{{1, 777}, {1, 1}, {1, 4097}, {1, 63}}, 9, 3, 64},     // ragged decode, GQA 3
      {{{37, 37}, {1, 200}, {100, 350}}, 8, 2, 128},          // mixed prefill / chunk / decode
      {{{129, 129}}, 6, 1, 80},                               // MQA, odd head_dim (masked lanes)
      {{{5, 300}, {3, 3}}, 4, 4, 256},                        // widest head
      {{{1, 2048}, {1, 1500}, {1, 999}, {1, 3000}, {1, 17}, {1, 1024}, {1, 2}, {1, 512}}, 32, 8, 128},
  };
}

std::string describe(const AttnCase& c) {
  std::string desc = fmt::format("heads={}/{} hd={} seqs:", c.n_heads, c.n_kv_heads, c.head_dim);
  for (const Seq& s : c.seqs) desc += fmt::format(" {}/{}", s.q_len, s.ctx_len);
  return desc;
}

TEST_F(CudaAttention, MatchesReferenceAllCacheTypes) {
  std::mt19937 rng(99);
  for (const AttnCase& c : attention_cases()) {
    SCOPED_TRACE(describe(c));
    std::printf("%s\n", describe(c).c_str());
    Problem p = make_problem(rng, c.seqs, c.n_heads, c.n_kv_heads, c.head_dim);
    check_attention(p);
  }
}

// The tensor-core prefill path: ragged q_len (tile tails, 1-row sequences among prefills),
// cached prefixes (chunked prefill: the first query row sits deep in the context), long prompts,
// GQA ratios 1/4/8 and MQA, both head sizes it covers.
TEST_F(CudaAttention, FlashPrefillRaggedGqaLongContexts) {
  const std::vector<AttnCase> cases = {
      {{{16, 16}}, 4, 4, 64},
      {{{65, 65}, {1, 300}, {127, 127}}, 8, 2, 128},
      {{{200, 1000}, {63, 63}, {300, 2100}}, 32, 8, 128},
      {{{1000, 1000}}, 8, 1, 128},
      {{{513, 4500}, {17, 17}}, 12, 12, 64},
      {{{2048, 2048}}, 4, 1, 64},
  };
  std::mt19937 rng(7);
  for (const AttnCase& c : cases) {
    SCOPED_TRACE(describe(c));
    std::printf("%s\n", describe(c).c_str());
    Problem p = make_problem(rng, c.seqs, c.n_heads, c.n_kv_heads, c.head_dim);
    check_attention(p);
  }
}

// A mixed step as the scheduler plans it: decode rows first (num_decode_seqs of them), then
// prefill chunks. The backend sends the decode rows to its decode kernel and the chunks to the
// tensor-core one (two launches into one output); the result must match the reference like a
// plain prefill batch does.
TEST_F(CudaAttention, MixedDecodeAndPrefillBatchSplitsAcrossKernels) {
  const std::vector<std::vector<Seq>> cases = {
      {{1, 300}, {1, 17}, {1, 1}, {64, 64}},
      {{1, 1500}, {1, 2100}, {1, 700}, {1, 33}, {1, 1000}, {200, 1000}, {300, 300}},
  };
  std::mt19937 rng(23);
  for (const auto& seqs : cases) {
    Problem p = make_problem(rng, seqs, 32, 8, 128);
    for (const Seq& sq : seqs) p.host.num_decode_seqs += sq.q_len == 1 ? 1 : 0;
    SCOPED_TRACE(p.host.num_decode_seqs);
    check_attention(p);
  }
}

// Split-KV under a captured step's bound: the device call gets max_ctx_len rounded far past the
// real lengths (more splits than most rows fill), and results must not change.
TEST_F(CudaAttention, SplitKvUnderContextBound) {
  const std::vector<AttnCase> cases = {
      {{{1, 552}}, 32, 8, 128},
      {{{1, 777}, {1, 1}, {1, 4097}, {1, 33}, {1, 64}}, 9, 3, 64},
      {{{1, 100}, {1, 3000}}, 32, 8, 128},
  };
  std::mt19937 rng(11);
  for (const AttnCase& c : cases) {
    for (int bound : {8192, 65536}) {
      SCOPED_TRACE(describe(c) + fmt::format(" bound {}", bound));
      Problem p = make_problem(rng, c.seqs, c.n_heads, c.n_kv_heads, c.head_dim);
      check_attention(p, bound);
    }
  }
}

// The GQA decode kernel (16-bit caches, head_dim 64 / 128, max_q_len < 16): batches from 1 to 300
// rows, ragged contexts including 1 and lengths that are no multiple of its 8-key steps or
// 256-slot tiles, GQA ratios 1, 2, 3 (padded to 4), 4, 6, 8 and 16 (two blocks per KV head), a
// few rows per sequence (chunk tails), with and without a captured step's rounded-up bound; both
// variants (the register-load default and the cp.async-pipelined one, picked by TANDEM_ATTN_DECODE).
TEST_F(CudaAttention, GqaDecodeRaggedBatches) {
  std::mt19937 rng(5);
  auto ragged = [&](int batch, int max_ctx) {
    std::uniform_int_distribution<int> len(1, max_ctx);
    std::vector<Seq> seqs;
    for (int i = 0; i < batch; ++i) seqs.push_back({1, i == 0 ? 1 : len(rng)});
    return seqs;
  };
  const std::vector<AttnCase> cases = {
      {{{1, 1}}, 32, 8, 128},
      {{{1, 257}}, 8, 8, 128},
      {{{1, 1000}, {1, 9}, {1, 4099}}, 16, 8, 64},
      {ragged(7, 3000), 12, 4, 128},
      {ragged(32, 1100), 32, 8, 128},
      {ragged(200, 1100), 32, 8, 128},
      {ragged(300, 600), 8, 1, 64},
      {ragged(64, 700), 24, 4, 64},
      {ragged(17, 900), 32, 2, 128},
      {{{4, 700}, {1, 1}, {7, 7}, {15, 520}}, 16, 2, 64},
      {{{3, 300}, {2, 2}, {1, 65}}, 32, 8, 128},
  };
  for (const char* kernel : {"pipelined", "registers"}) {
    setenv("TANDEM_ATTN_DECODE", kernel, 1);
    for (const AttnCase& c : cases) {
      for (int bound : {0, 8192}) {
        SCOPED_TRACE(fmt::format("{} kernel, {} bound {}", kernel, describe(c), bound));
        std::printf("%s: %s bound %d\n", kernel, describe(c).substr(0, 160).c_str(), bound);
        Problem p = make_problem(rng, c.seqs, c.n_heads, c.n_kv_heads, c.head_dim);
        check_attention(p, bound);
      }
    }
  }
  unsetenv("TANDEM_ATTN_DECODE");
}

// The per-(row, head) kernel still serves 16-bit decode rows when asked (TANDEM_ATTN_DECODE=legacy,
// the benchmark's comparison); it must stay correct there too.
TEST_F(CudaAttention, LegacyDecodeKernelOnRequest) {
  setenv("TANDEM_ATTN_DECODE", "legacy", 1);
  std::mt19937 rng(8);
  const std::vector<AttnCase> cases = {
      {{{1, 777}, {1, 1}, {1, 4097}, {1, 63}}, 32, 8, 128},
      {{{2, 300}, {1, 64}}, 8, 2, 64},
  };
  for (const AttnCase& c : cases) {
    SCOPED_TRACE(describe(c));
    Problem p = make_problem(rng, c.seqs, c.n_heads, c.n_kv_heads, c.head_dim);
    check_attention(p);
  }
  unsetenv("TANDEM_ATTN_DECODE");
}

// gather_slots / scatter_slots (PD transfers): device results vs the same copy on the host, over
// random distinct slots and row sizes that take the 16-byte, 4-byte and byte paths (a packed
// buffer 4 bytes off 16-byte alignment forces the narrower path for an aligned row size too).
using CudaSlotCopy = CudaTest;

TEST_F(CudaSlotCopy, GatherAndScatterMatchHostCopies) {
  std::mt19937 rng(21);
  struct Case {
    size_t row_bytes;
    size_t packed_offset;
  };
  const Case cases[] = {{768, 0}, {384, 0}, {16, 0}, {768, 4}, {36, 0}, {13, 0}, {1, 0}, {4608, 0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("row bytes {} packed offset {}", c.row_bytes, c.packed_offset));
    const size_t rb = c.row_bytes;
    const int32_t num_slots = 1000;
    std::vector<int32_t> perm(num_slots);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    const std::vector<int32_t> slots(perm.begin(), perm.begin() + 333);
    const int64_t n = static_cast<int64_t>(slots.size());
    std::vector<uint8_t> cache(num_slots * rb);
    for (auto& b : cache) b = static_cast<uint8_t>(rng());
    uint8_t* dcache = upload(cache);
    const int32_t* dslots = upload(slots);
    std::vector<uint8_t> poison(n * rb + c.packed_offset, 0xa5);
    uint8_t* dpacked = upload(poison) + c.packed_offset;

    be_->gather_slots(dcache, rb, dslots, n, dpacked);
    std::vector<uint8_t> want(n * rb);
    for (int64_t i = 0; i < n; ++i) std::memcpy(want.data() + i * rb, cache.data() + slots[i] * rb, rb);
    ASSERT_EQ(download(dpacked, n * rb), want);

    std::vector<uint8_t> src(n * rb);
    for (auto& b : src) b = static_cast<uint8_t>(rng());
    be_->copy_to_backend(dpacked, src.data(), src.size());
    be_->scatter_slots(dcache, rb, dslots, n, dpacked);
    std::vector<uint8_t> expect = cache;
    for (int64_t i = 0; i < n; ++i) std::memcpy(expect.data() + slots[i] * rb, src.data() + i * rb, rb);
    ASSERT_EQ(download(dcache, expect.size()), expect);
  }
}

TEST_F(CudaSlotCopy, PinnedStagingRoundTrips) {
  const size_t bytes = (64u << 20) + 3;
  auto* pinned = static_cast<uint8_t*>(be_->alloc_host_pinned(bytes));
  ASSERT_NE(pinned, nullptr);
  for (size_t i = 0; i < bytes; ++i) pinned[i] = static_cast<uint8_t>(i * 7 + 1);
  BackendBuffer d(*be_, bytes);
  be_->copy_to_backend(d.get(), pinned, bytes);
  std::vector<uint8_t> back(bytes);
  be_->copy_to_host(back.data(), d.get(), bytes);
  EXPECT_EQ(0, std::memcmp(back.data(), pinned, bytes));
  be_->free_host_pinned(pinned);
  EXPECT_EQ(be_->alloc_host_pinned(0), nullptr);
}

}  // namespace
}  // namespace tandem::kernels
