#include "bench/serving/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tandem::bench {
namespace {

constexpr double kEps = 1e-9;

RequestRecord ok(double ttft, double e2e, int64_t in, int64_t out, std::vector<double> itl) {
  RequestRecord r;
  r.success = true;
  r.ttft_s = ttft;
  r.e2e_s = e2e;
  r.input_tokens = in;
  r.output_tokens = out;
  r.itl_s = std::move(itl);
  return r;
}

TEST(PercentileTest, MatchesNumpyLinearInterpolation) {
  // numpy.percentile([4, 1, 3, 2], q) for q = 0, 25, 50, 99, 100.
  EXPECT_NEAR(percentile({4, 1, 3, 2}, 0), 1.0, kEps);
  EXPECT_NEAR(percentile({4, 1, 3, 2}, 25), 1.75, kEps);
  EXPECT_NEAR(percentile({4, 1, 3, 2}, 50), 2.5, kEps);
  EXPECT_NEAR(percentile({4, 1, 3, 2}, 99), 3.97, kEps);
  EXPECT_NEAR(percentile({4, 1, 3, 2}, 100), 4.0, kEps);
  EXPECT_NEAR(percentile({7}, 99), 7.0, kEps);
  EXPECT_EQ(percentile({}, 50), 0.0);
}

TEST(MetricsTest, SglangDefinitionsOnSyntheticTimestamps) {
  std::vector<RequestRecord> records;
  records.push_back(ok(0.1, 0.5, 10, 5, {0.1, 0.1, 0.1, 0.1}));
  records.push_back(ok(0.2, 1.0, 20, 3, {0.4, 0.4}));
  RequestRecord failed;
  failed.error = "HTTP 500";
  failed.e2e_s = 9.0;  // a failed request's times never count
  failed.input_tokens = 1000;
  records.push_back(failed);
  records.push_back(ok(0.3, 0.3, 30, 1, {}));  // one token: no TPOT sample

  const BenchMetrics m = compute_metrics(records, 2.0);
  EXPECT_EQ(m.completed, 3);
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.total_input_tokens, 60);
  EXPECT_EQ(m.total_output_tokens, 9);
  EXPECT_NEAR(m.request_throughput, 1.5, kEps);
  EXPECT_NEAR(m.input_throughput, 30.0, kEps);
  EXPECT_NEAR(m.output_throughput, 4.5, kEps);
  EXPECT_NEAR(m.total_throughput, 34.5, kEps);
  EXPECT_NEAR(m.concurrency, 0.9, kEps);  // (0.5 + 1.0 + 0.3) / 2

  EXPECT_NEAR(m.ttft_ms.mean, 200.0, kEps);
  EXPECT_NEAR(m.ttft_ms.median, 200.0, kEps);
  EXPECT_NEAR(m.ttft_ms.std, std::sqrt(20000.0 / 3.0), 1e-6);  // population std
  EXPECT_NEAR(m.ttft_ms.p99, 298.0, 1e-6);

  // TPOT = (e2e - ttft) / (out - 1): 100 ms and 400 ms.
  EXPECT_NEAR(m.tpot_ms.mean, 250.0, 1e-6);
  EXPECT_NEAR(m.tpot_ms.median, 250.0, 1e-6);
  EXPECT_NEAR(m.tpot_ms.p99, 397.0, 1e-6);

  // Every gap of every request: 100 x4, 400 x2.
  EXPECT_NEAR(m.itl_ms.mean, 200.0, 1e-6);
  EXPECT_NEAR(m.itl_ms.median, 100.0, 1e-6);
  EXPECT_NEAR(m.itl_ms.p90, 400.0, 1e-6);
  EXPECT_NEAR(m.itl_ms.max, 400.0, 1e-6);

  EXPECT_NEAR(m.e2e_ms.mean, 600.0, 1e-6);
  EXPECT_NEAR(m.e2e_ms.median, 500.0, 1e-6);
  EXPECT_NEAR(m.e2e_ms.p99, 990.0, 1e-6);
}

TEST(MetricsTest, AllFailedGivesZerosNotNan) {
  RequestRecord failed;
  failed.error = "refused";
  const BenchMetrics m = compute_metrics({failed, failed}, 1.0);
  EXPECT_EQ(m.completed, 0);
  EXPECT_EQ(m.failed, 2);
  EXPECT_EQ(m.request_throughput, 0.0);
  EXPECT_EQ(m.ttft_ms.mean, 0.0);
  EXPECT_EQ(m.itl_ms.p99, 0.0);
  EXPECT_FALSE(std::isnan(m.e2e_ms.std));
}

}  // namespace
}  // namespace tandem::bench
