// Row ops of the CPU backend vs the reference on random inputs (every ISA level under test),
// plus known-answer checks of the reference itself.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/reference/ops.h"
#include "kernels/reference/reference_backend.h"
#include "tests/kernels/kernel_test_util.h"

namespace tandem::kernels {
namespace {

using testing::isas_under_test;

// |got - want| <= rel * |want| + abs, element by element.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, double abs,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i) {
    if (!(std::fabs(got[i] - want[i]) <= rel * std::fabs(want[i]) + abs)) {
      ADD_FAILURE() << what << " at " << i << ": got " << got[i] << " want " << want[i];
      ++bad;
    }
  }
}

const int64_t kRows[] = {1, 3, 70};
const int64_t kDims[] = {1, 7, 64, 576, 1000};

TEST(RowOpsTest, RmsNorm) {
  std::mt19937 rng(1);
  for (CpuIsa isa : isas_under_test()) {
    auto be = make_cpu_backend(3, isa);
    for (int64_t rows : kRows) {
      for (int64_t dim : kDims) {
        const auto x = testing::random_activations(rng, rows * dim);
        const auto w = testing::random_floats(rng, dim, 0.5f, 1.5f);
        std::vector<float> got(x.size()), want(x.size());
        be->rms_norm(x.data(), w.data(), rows, dim, 1e-5f, got.data());
        ref::rms_norm(x.data(), w.data(), rows, dim, 1e-5f, want.data());
        expect_close(got, want, 1e-5, 1e-6, fmt::format("{} rms_norm {}x{}", cpu_isa_name(isa), rows, dim));
        // In place (x == out) gives the same.
        std::vector<float> inplace = x;
        be->rms_norm(inplace.data(), w.data(), rows, dim, 1e-5f, inplace.data());
        expect_close(inplace, got, 0, 0, "in place");
      }
    }
  }
}

TEST(RowOpsTest, AddRmsNorm) {
  std::mt19937 rng(2);
  for (CpuIsa isa : isas_under_test()) {
    auto be = make_cpu_backend(3, isa);
    for (int64_t rows : kRows) {
      for (int64_t dim : kDims) {
        const auto x = testing::random_activations(rng, rows * dim);
        const auto res0 = testing::random_activations(rng, rows * dim);
        const auto w = testing::random_floats(rng, dim, 0.5f, 1.5f);
        std::vector<float> res_got = res0, res_want = res0, got(x.size()), want(x.size());
        be->add_rms_norm(res_got.data(), x.data(), w.data(), rows, dim, 1e-6f, got.data());
        ref::add_rms_norm(res_want.data(), x.data(), w.data(), rows, dim, 1e-6f, want.data());
        const std::string what = fmt::format("{} add_rms_norm {}x{}", cpu_isa_name(isa), rows, dim);
        expect_close(res_got, res_want, 0, 0, what + " residual");
        expect_close(got, want, 1e-5, 1e-6, what);
      }
    }
  }
}

RopeConfig rope_config(int head_dim, int rotary_dim, bool neox, RopeScaling scaling) {
  RopeConfig c;
  c.head_dim = head_dim;
  c.rotary_dim = rotary_dim;
  c.theta = 10000.0f;
  c.neox = neox;
  c.scaling = scaling;
  if (scaling == RopeScaling::kLinear) c.factor = 4.0f;
  if (scaling == RopeScaling::kLlama3) {
    c.theta = 500000.0f;
    c.factor = 8.0f;
    c.original_max_positions = 8192;
  }
  return c;
}

TEST(RowOpsTest, RopeVariants) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> pos_dist(0, 9000);
  for (CpuIsa isa : isas_under_test()) {
    auto be = make_cpu_backend(3, isa);
    for (bool neox : {true, false}) {
      for (RopeScaling sc : {RopeScaling::kNone, RopeScaling::kLinear, RopeScaling::kLlama3}) {
        for (auto [hd, rot] : {std::pair{64, 64}, {128, 128}, {80, 80}, {64, 32}, {96, 24}}) {
          for (int64_t tokens : {1, 5, 300}) {
            const int heads = 3;
            const RopeConfig cfg = rope_config(hd, rot, neox, sc);
            std::vector<int32_t> pos(tokens);
            for (auto& p : pos) p = pos_dist(rng);
            pos[0] = 0;
            if (tokens > 2) pos[1] = 40000;  // past the cached table: computed per call
            const auto x = testing::random_floats(rng, tokens * heads * hd);
            std::vector<float> got = x, want = x;
            be->rope(got.data(), pos.data(), tokens, heads, cfg);
            ref::rope(want.data(), pos.data(), tokens, heads, cfg);
            expect_close(got, want, 0, 2e-6,
                         fmt::format("{} rope neox={} scaling={} hd={} rot={} tokens={}", cpu_isa_name(isa), neox,
                                     static_cast<int>(sc), hd, rot, tokens));
          }
        }
      }
    }
  }
}

TEST(RowOpsTest, SiluMulAndAdd) {
  std::mt19937 rng(4);
  for (CpuIsa isa : isas_under_test()) {
    auto be = make_cpu_backend(3, isa);
    for (int64_t rows : kRows) {
      for (int64_t ff : {1, 7, 64, 1536}) {
        auto gu = testing::random_floats(rng, rows * 2 * ff, -12.0f, 12.0f);
        gu[0] = -100.0f;  // exp overflow side
        std::vector<float> got(rows * ff), want(rows * ff);
        be->silu_mul(gu.data(), rows, ff, got.data());
        ref::silu_mul(gu.data(), rows, ff, want.data());
        expect_close(got, want, 2e-6, 1e-7, fmt::format("{} silu_mul {}x{}", cpu_isa_name(isa), rows, ff));
      }
    }
    for (int64_t n : {1, 15, 1000, 300000}) {
      const auto y = testing::random_floats(rng, n);
      auto got = testing::random_floats(rng, n);
      auto want = got;
      be->add(got.data(), y.data(), n);
      ref::add(want.data(), y.data(), n);
      expect_close(got, want, 0, 0, fmt::format("{} add {}", cpu_isa_name(isa), n));
    }
  }
}

TEST(RowOpsTest, StoreKvAndEmbed) {
  std::mt19937 rng(5);
  for (CpuIsa isa : isas_under_test()) {
    auto be = make_cpu_backend(3, isa);
    const int64_t kv_dim = 192, slots = 600, tokens = 300;
    std::vector<int32_t> slot_ids(slots);
    for (int i = 0; i < slots; ++i) slot_ids[i] = i;
    std::shuffle(slot_ids.begin(), slot_ids.end(), rng);
    const auto k = testing::random_floats(rng, tokens * kv_dim), v = testing::random_floats(rng, tokens * kv_dim);
    std::vector<float> kc(slots * kv_dim, 0.5f), vc(slots * kv_dim, 0.5f), kw = kc, vw = vc;
    be->store_kv(kc.data(), vc.data(), k.data(), v.data(), slot_ids.data(), tokens, kv_dim);
    ref::store_kv(kw.data(), vw.data(), k.data(), v.data(), slot_ids.data(), tokens, kv_dim);
    expect_close(kc, kw, 0, 0, "store_kv k");
    expect_close(vc, vw, 0, 0, "store_kv v");

    for (DType t : {DType::kQ8_0, DType::kQ4_1, DType::kQ6_K, DType::kF16, DType::kF32}) {
      const int64_t vocab = 100, dim = 256;
      testing::Weights table = testing::make_weights(t, vocab, dim, testing::random_floats(rng, vocab * dim));
      std::vector<int32_t> ids(150);
      for (auto& id : ids) id = static_cast<int32_t>(rng() % vocab);
      std::vector<float> got(ids.size() * dim), want(ids.size() * dim);
      be->embed(table.view, ids.data(), static_cast<int64_t>(ids.size()), got.data());
      ref::embed(table.view, ids.data(), static_cast<int64_t>(ids.size()), want.data());
      expect_close(got, want, 0, 0, fmt::format("{} embed {}", cpu_isa_name(isa), dtype_name(t)));
    }
  }
}

// Known answers for the reference itself, so a wrong oracle cannot bless wrong kernels.
TEST(ReferenceOpsTest, KnownAnswers) {
  {
    std::vector<float> x = {3.0f, -4.0f}, w = {1.0f, 2.0f}, out(2);
    ref::rms_norm(x.data(), w.data(), 1, 2, 0.0f, out.data());  // rms = sqrt(12.5)
    EXPECT_NEAR(out[0], 3.0 / std::sqrt(12.5), 1e-6);
    EXPECT_NEAR(out[1], -8.0 / std::sqrt(12.5), 1e-6);
  }
  {
    // Rotating the pair (1, 0) at position p by frequency theta^0 = 1 gives (cos p, sin p).
    for (bool neox : {true, false}) {
      RopeConfig c = rope_config(4, 4, neox, RopeScaling::kNone);
      std::vector<float> x = {1.0f, 0.0f, 0.0f, 0.0f};  // element 0 pairs with 2 (neox) or 1
      const int32_t pos = 3;
      ref::rope(x.data(), &pos, 1, 1, c);
      const int partner = neox ? 2 : 1;
      EXPECT_NEAR(x[0], std::cos(3.0), 1e-6);
      EXPECT_NEAR(x[partner], std::sin(3.0), 1e-6);
    }
    // Llama 3 scaling leaves high frequencies alone and divides low ones by `factor`.
    RopeConfig c = rope_config(128, 128, true, RopeScaling::kLlama3);
    std::vector<double> f(64), plain(64);
    ref::rope_frequencies(c, f.data());
    c.scaling = RopeScaling::kNone;
    ref::rope_frequencies(c, plain.data());
    EXPECT_DOUBLE_EQ(f[0], plain[0]);
    EXPECT_NEAR(f[63], plain[63] / 8.0, 1e-15);
  }
  {
    std::vector<float> gu = {0.0f, 2.0f, 5.0f, 3.0f}, out(2);
    ref::silu_mul(gu.data(), 1, 2, out.data());
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_NEAR(out[1], 2.0 / (1.0 + std::exp(-2.0)) * 3.0, 1e-6);
  }
}

TEST(ReferenceOpsTest, BackendWrapsReference) {
  auto be = ref::make_reference_backend();
  EXPECT_STREQ(be->name(), "reference");
  std::vector<float> x = {1.0f, 2.0f}, y = {3.0f, 4.0f};
  be->add(x.data(), y.data(), 2);
  EXPECT_EQ(x[0], 4.0f);
  EXPECT_EQ(x[1], 6.0f);
}

}  // namespace
}  // namespace tandem::kernels
