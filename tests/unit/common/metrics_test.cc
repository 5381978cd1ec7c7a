#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace tandem {
namespace {

TEST(MetricsTest, RendersCountersAndGaugesExactly) {
  MetricsRegistry r;
  Counter& requests = r.counter("tandem_requests_total", "Requests finished.", {"worker", "code"});
  Gauge& running = r.gauge("tandem_running", "Requests running now.");
  requests.with_labels({"w1", "200"}).inc();
  requests.with_labels({"w0", "200"}).inc(2);
  requests.with_labels({"w1", "200"}).inc(0.5);
  running.set(3);
  running.dec();
  EXPECT_EQ(r.render(),
            "# HELP tandem_requests_total Requests finished.\n"
            "# TYPE tandem_requests_total counter\n"
            "tandem_requests_total{worker=\"w0\",code=\"200\"} 2\n"
            "tandem_requests_total{worker=\"w1\",code=\"200\"} 1.5\n"
            "# HELP tandem_running Requests running now.\n"
            "# TYPE tandem_running gauge\n"
            "tandem_running 2\n");
}

TEST(MetricsTest, UnlabeledMetricsRenderZeroBeforeFirstUse) {
  MetricsRegistry r;
  r.counter("a_total", "A.");
  r.counter("b_total", "B.", {"x"});
  EXPECT_EQ(r.render(),
            "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n"
            "# HELP b_total B.\n# TYPE b_total counter\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  Gauge& g = r.gauge("g", "Line one\nback\\slash \"quoted\"", {"path"});
  g.with_labels({"C:\\dir \"x\"\nnext"}).set(-1.25);
  EXPECT_EQ(r.render(),
            "# HELP g Line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} -1.25\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry r;
  Histogram& h = r.histogram("ttft_seconds", "Time to first token.", {0.1, 0.5, 1}, {"model"});
  auto& m = h.with_labels({"smol"});
  for (double v : {0.05, 0.1, 0.3, 0.7, 2.0}) m.observe(v);
  EXPECT_EQ(m.count(), 5u);
  EXPECT_EQ(r.render(),
            "# HELP ttft_seconds Time to first token.\n"
            "# TYPE ttft_seconds histogram\n"
            "ttft_seconds_bucket{model=\"smol\",le=\"0.1\"} 2\n"
            "ttft_seconds_bucket{model=\"smol\",le=\"0.5\"} 3\n"
            "ttft_seconds_bucket{model=\"smol\",le=\"1\"} 4\n"
            "ttft_seconds_bucket{model=\"smol\",le=\"+Inf\"} 5\n"
            "ttft_seconds_sum{model=\"smol\"} 3.15\n"
            "ttft_seconds_count{model=\"smol\"} 5\n");
}

TEST(MetricsTest, UnlabeledHistogramAndSpecialValues) {
  MetricsRegistry r;
  Histogram& h = r.histogram("lat", "L.", {1, 2, INFINITY});  // trailing +Inf is implicit
  EXPECT_EQ(h.bounds().size(), 2u);
  h.observe(5);
  Gauge& g = r.gauge("inf_gauge", "I.");
  g.set(INFINITY);
  EXPECT_EQ(r.render(),
            "# HELP lat L.\n# TYPE lat histogram\n"
            "lat_bucket{le=\"1\"} 0\n"
            "lat_bucket{le=\"2\"} 0\n"
            "lat_bucket{le=\"+Inf\"} 1\n"
            "lat_sum 5\n"
            "lat_count 1\n"
            "# HELP inf_gauge I.\n# TYPE inf_gauge gauge\ninf_gauge +Inf\n");
}

TEST(MetricsTest, ReRegisteringReturnsTheSameFamily) {
  MetricsRegistry r;
  Counter& a = r.counter("x_total", "X.", {"k"});
  Counter& b = r.counter("x_total", "X again.", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.with_labels({"1"}), &b.with_labels({"1"}));
  EXPECT_DEATH(r.gauge("x_total", "X."), "already registered");
  EXPECT_DEATH(r.counter("x_total", "X.", {"other"}), "already registered");
}

TEST(MetricsTest, MisuseFailsChecks) {
  MetricsRegistry r;
  EXPECT_DEATH(r.counter("bad name", "B."), "metric name");
  EXPECT_DEATH(r.counter("ok_total", "O.", {"__reserved"}), "label name");
  EXPECT_DEATH(r.histogram("h", "H.", {1, 1}), "increase strictly");
  EXPECT_DEATH(r.histogram("h2", "H.", {1}, {"le"}), "reserved");
  Counter& c = r.counter("c_total", "C.", {"a", "b"});
  EXPECT_DEATH(c.with_labels({"only-one"}), "takes 2 label values, got 1");
  Counter& u = r.counter("u_total", "U.");
  EXPECT_DEATH(u.inc(-1), "must be >= 0");
}

TEST(MetricsTest, BucketHelpers) {
  EXPECT_EQ(Histogram::default_buckets().size(), 11u);
  EXPECT_EQ(Histogram::exponential_buckets(0.001, 2, 4), (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry r;
  Counter& c = r.counter("n_total", "N.", {"t"});
  Histogram& h = r.histogram("v", "V.", {10});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto& mine = c.with_labels({std::to_string(t % 2)});
      for (int i = 0; i < 10000; ++i) {
        mine.inc();
        h.observe(i % 20);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.with_labels({"0"}).value(), 20000);
  EXPECT_EQ(c.with_labels({"1"}).value(), 20000);
  auto& hc = h.with_labels({});
  EXPECT_EQ(hc.count(), 40000u);
  EXPECT_EQ(hc.bucket(0), 22000u);  // 0..10 of every 20
}

}  // namespace
}  // namespace tandem
