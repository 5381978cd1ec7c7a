// Prometheus metrics: Counter, Gauge and Histogram families with fixed label names, and the
// registry that renders them in the text exposition format 0.0.4 for GET /metrics.
//
// The registry is an ordinary object: the process (gateway or worker) owns one and passes it to
// the components that record metrics; there is no global instance.
//
// Usage: register once at start-up, keep the child reference, update it on the hot path:
//   auto& requests = registry.counter("tandem_requests_total", "Requests served", {"worker"});
//   Counter::Child& w0 = requests.with_labels({"w0"});   // stable for the registry's life
//   w0.inc();
//
// Thread model: everything is thread-safe. Updates are lock-free atomics; with_labels() and
// registration take a mutex, so look children up once rather than per update. render() may run
// during updates; each sample is read atomically, but a histogram's buckets, sum and count are
// not one snapshot (Prometheus tolerates this; counts are derived from the buckets so _count
// always equals the +Inf bucket).
//
// Misuse (a bad metric or label name, a label count that does not match, re-registering a name
// with another type, labels or buckets, a negative counter increment) is a programming error and
// fails a CHECK.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tandem {

using LabelValues = std::vector<std::string>;

enum class MetricType { kCounter, kGauge, kHistogram };

class MetricFamily {
 public:
  MetricFamily(MetricType type, std::string name, std::string help,
               std::vector<std::string> label_names);
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  MetricType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends the HELP and TYPE lines and every sample line.
  void render(std::string& out) const;

 protected:
  virtual void render_samples(std::string& out) const = 0;
  // `a="x",b="y"` for the given values (escaped), in label-name order.
  std::string format_labels(const LabelValues& values) const;
  void check_label_count(const LabelValues& values) const;

 private:
  const MetricType type_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
};

// The label-values -> child table every family type shares. Children are created on first use
// and live as long as the family, so references handed out stay valid.
template <typename ChildT>
class LabeledFamily : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;
  ChildT& with_labels(const LabelValues& values) {
    check_label_count(values);
    std::lock_guard lock(mu_);
    auto it = children_.find(values);
    if (it == children_.end()) it = children_.emplace(values, new_child()).first;
    return *it->second;
  }

 protected:
  virtual std::unique_ptr<ChildT> new_child() const = 0;
  virtual void render_child(std::string& out, const std::string& labels,
                            const ChildT& child) const = 0;
  void render_samples(std::string& out) const override {
    std::lock_guard lock(mu_);
    for (const auto& [values, child] : children_) render_child(out, format_labels(values), *child);
  }
  // An unlabeled family has exactly one child, created up front so it renders 0 before use.
  void create_unlabeled_child() {
    if (label_names().empty()) with_labels({});
  }

 private:
  mutable std::mutex mu_;
  std::map<LabelValues, std::unique_ptr<ChildT>> children_;  // guarded by mu_
};

namespace metrics_detail {
class CounterChild {
 public:
  void inc(double v = 1.0);  // v >= 0
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class GaugeChild {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0) { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1.0) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class HistogramChild {
 public:
  explicit HistogramChild(const std::vector<double>* bounds);
  void observe(double v);
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // Non-cumulative count of bucket i; i == bounds.size() is the +Inf overflow bucket.
  uint64_t bucket(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }

 private:
  const std::vector<double>* bounds_;  // owned by the family
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};
}  // namespace metrics_detail

class Counter final : public LabeledFamily<metrics_detail::CounterChild> {
 public:
  using Child = metrics_detail::CounterChild;
  Counter(std::string name, std::string help, std::vector<std::string> label_names);
  // Unlabeled families only (a CHECK enforces the label count).
  void inc(double v = 1.0) { with_labels({}).inc(v); }
  double value() { return with_labels({}).value(); }

 private:
  std::unique_ptr<Child> new_child() const override { return std::make_unique<Child>(); }
  void render_child(std::string& out, const std::string& labels, const Child& c) const override;
};

class Gauge final : public LabeledFamily<metrics_detail::GaugeChild> {
 public:
  using Child = metrics_detail::GaugeChild;
  Gauge(std::string name, std::string help, std::vector<std::string> label_names);
  void set(double v) { with_labels({}).set(v); }
  void inc(double v = 1.0) { with_labels({}).inc(v); }
  void dec(double v = 1.0) { with_labels({}).dec(v); }
  double value() { return with_labels({}).value(); }

 private:
  std::unique_ptr<Child> new_child() const override { return std::make_unique<Child>(); }
  void render_child(std::string& out, const std::string& labels, const Child& c) const override;
};

class Histogram final : public LabeledFamily<metrics_detail::HistogramChild> {
 public:
  using Child = metrics_detail::HistogramChild;
  // `bounds`: finite, strictly increasing upper bounds; +Inf is implicit (a trailing +Inf is
  // accepted and dropped).
  Histogram(std::string name, std::string help, std::vector<double> bounds,
            std::vector<std::string> label_names);
  void observe(double v) { with_labels({}).observe(v); }
  const std::vector<double>& bounds() const { return bounds_; }

  // Prometheus' client defaults: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 (seconds).
  static std::vector<double> default_buckets();
  // start, start*factor, ... (count bounds); start > 0, factor > 1, count >= 1.
  static std::vector<double> exponential_buckets(double start, double factor, int count);

 private:
  std::unique_ptr<Child> new_child() const override { return std::make_unique<Child>(&bounds_); }
  void render_child(std::string& out, const std::string& labels, const Child& c) const override;
  std::vector<double> bounds_;
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering an existing name with the same type and labels (and buckets) returns the
  // existing family, so two components may share one metric.
  Counter& counter(const std::string& name, const std::string& help,
                   std::vector<std::string> label_names = {});
  Gauge& gauge(const std::string& name, const std::string& help,
               std::vector<std::string> label_names = {});
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                       std::vector<std::string> label_names = {});

  // Text exposition format 0.0.4, families in registration order, children sorted by labels.
  std::string render() const;
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  MetricFamily* find_locked(const std::string& name) const;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_;  // guarded by mu_; never shrinks
};

}  // namespace tandem
