// Backend::sample_rows on CUDA against its host version (kernels/reference/sample_rows.cc) on fresh
// random rows: the edited rows and the edits' raw values are bit-equal, greedy tokens equal, logprobs
// within 1e-4, and drawn tokens equal except where the device's expf rounds a weight differently
// from the host's (allowed: under 1% of draws).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "cuda_test_util.h"

namespace tandem::kernels::testing {
namespace {

struct Batch {
  std::vector<float> logits;
  std::vector<SampleRow> rows;
  std::vector<LogitEdit> edits;
};

Batch random_batch(std::mt19937& gen, int64_t vocab, int n) {
  Batch b;
  std::normal_distribution<float> logit(0.0f, 2.5f);
  b.logits.resize(static_cast<size_t>(vocab) * n);
  for (float& x : b.logits) x = logit(gen);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(vocab) - 1);
  const int32_t ks[] = {0, 1, 5, 50, 1000};
  const float ps[] = {1.0f, 0.9f, 0.5f};
  for (int r = 0; r < n; ++r) {
    SampleRow row;
    row.logit_row = n - 1 - r;  // rows need not be in buffer order
    row.greedy = r % 5 == 0;
    row.temperature = 0.5f + static_cast<float>(u01(gen));
    row.top_k = ks[gen() % 5];
    row.top_p = ps[gen() % 3];
    row.min_p = gen() % 3 == 0 ? 0.05f : 0.0f;
    row.want_logprob = gen() % 2;
    row.u = u01(gen);
    row.edit_begin = static_cast<int32_t>(b.edits.size());
    for (int kind = 0; kind < 4; ++kind) {
      // Distinct tokens per kind (kAdd may repeat one: applied in order).
      std::vector<int32_t> ids;
      for (int i = 0; i < 6; ++i) ids.push_back(tok(gen));
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      if (kind == 2) ids.push_back(ids.front());
      for (int32_t id : ids) {
        const float v = kind == 0 ? 1.3f : kind == 3 ? 0.0f : static_cast<float>(u01(gen) * 4 - 2);
        b.edits.push_back({id, static_cast<LogitEditKind>(kind), v, 0.0f});
      }
    }
    row.edit_end = static_cast<int32_t>(b.edits.size());
    b.rows.push_back(row);
  }
  return b;
}

class CudaSampleRowsTest : public CudaTest {
 protected:
  // Runs the batch on the device and on the host; returns the number of drawn tokens that differ.
  int compare(Batch b, int64_t vocab) {
    const int n = static_cast<int>(b.rows.size());
    float* d_logits = upload(b.logits);
    SampleRow* d_rows = upload(b.rows);
    LogitEdit* d_edits = upload(b.edits);
    SampledToken* d_out = upload(std::vector<SampledToken>(n));
    be_->sample_rows(d_logits, vocab, d_rows, n, d_edits, d_out);
    const auto got = download(d_out, n);
    const auto got_logits = download(d_logits, b.logits.size());
    const auto got_edits = download(d_edits, b.edits.size());
    std::vector<SampledToken> want(n);
    sample_rows_host(b.logits.data(), vocab, b.rows.data(), n, b.edits.data(), want.data());
    EXPECT_EQ(0, std::memcmp(got_logits.data(), b.logits.data(), b.logits.size() * sizeof(float)))
        << "edited rows differ";
    for (size_t e = 0; e < b.edits.size(); ++e) {
      EXPECT_EQ(got_edits[e].raw, b.edits[e].raw) << "edit " << e;
    }
    int differ = 0;
    for (int r = 0; r < n; ++r) {
      const SampleRow& row = b.rows[r];
      EXPECT_GE(got[r].token, 0);
      if (row.greedy) {
        EXPECT_EQ(got[r].token, want[r].token) << "greedy row " << r;
      } else if (got[r].token != want[r].token) {
        ++differ;
      }
      if (row.want_logprob && got[r].token == want[r].token) {
        EXPECT_NEAR(got[r].logprob, want[r].logprob, 1e-4) << "row " << r;
      }
    }
    return differ;
  }
};

TEST_F(CudaSampleRowsTest, MatchesTheHostVersionOverVocabulariesAndParameters) {
  std::mt19937 gen(2026);
  int drawn = 0, differ = 0;
  for (int64_t vocab : {int64_t{50}, int64_t{1000}, int64_t{49152}, int64_t{128256}, int64_t{151936}}) {
    for (int trial = 0; trial < 6; ++trial) {
      Batch b = random_batch(gen, vocab, 12);
      for (const SampleRow& r : b.rows) drawn += !r.greedy;
      differ += compare(std::move(b), vocab);
    }
  }
  EXPECT_LE(differ * 100, drawn) << differ << " of " << drawn << " drawn tokens differ from the host version";
}

TEST_F(CudaSampleRowsTest, CutsInsideATieLikeTheHost) {
  // 3000 tokens tie at the top; top-k = 1500 and top-p = 0.3 cut inside the tie: the lowest ids win.
  const int64_t vocab = 40000;
  Batch b;
  b.logits.assign(vocab * 4, -3.0f);
  for (int r = 0; r < 4; ++r) {
    for (int64_t i = 0; i < 3000; ++i) b.logits[r * vocab + i * 7 + 11] = 2.0f;
    SampleRow row;
    row.logit_row = r;
    row.top_k = r % 2 == 0 ? 1500 : 0;
    row.top_p = r % 2 == 1 ? 0.3f : 1.0f;
    row.u = 0.999 - 0.1 * r;
    b.rows.push_back(row);
  }
  EXPECT_EQ(compare(std::move(b), vocab), 0);
}

TEST_F(CudaSampleRowsTest, AnUnusableRowGivesMinusOne) {
  Batch b;
  b.logits.assign(2 * 300, -std::numeric_limits<float>::infinity());
  b.logits[17] = std::numeric_limits<float>::quiet_NaN();
  for (int r = 0; r < 2; ++r) {
    SampleRow row;
    row.logit_row = r;
    row.greedy = r;
    b.rows.push_back(row);
  }
  SampledToken* d_out = upload(std::vector<SampledToken>(2));
  be_->sample_rows(upload(b.logits), 300, upload(b.rows), 2, nullptr, d_out);
  for (const SampledToken& t : download(d_out, 2)) EXPECT_EQ(t.token, -1);
}

}  // namespace
}  // namespace tandem::kernels::testing
