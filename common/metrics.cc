#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "common/check.h"

namespace tandem {
namespace {

bool valid_name(const std::string& s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Sample values and `le` bounds: Prometheus spells the special values +Inf, -Inf and NaN; other
// numbers use the shortest form that reads back exactly ("1", "0.005", "1e+21").
std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void append_escaped(std::string& out, const std::string& s, bool escape_quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (escape_quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// "name{labels} value\n", or "name value\n" without labels.
void append_sample(std::string& out, const std::string& name, const std::string& labels,
                   const std::string& value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

std::string_view type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

MetricFamily::MetricFamily(MetricType type, std::string name, std::string help,
                           std::vector<std::string> label_names)
    : type_(type), name_(std::move(name)), help_(std::move(help)),
      label_names_(std::move(label_names)) {
  CHECK(valid_name(name_, /*allow_colon=*/true),
        "metric name '{}' is not [a-zA-Z_:][a-zA-Z0-9_:]*", name_);
  for (const auto& l : label_names_) {
    CHECK(valid_name(l, false) && l.rfind("__", 0) != 0,
          "label name '{}' of metric '{}' is not [a-zA-Z_][a-zA-Z0-9_]* (or starts with __)", l,
          name_);
    CHECK(type_ != MetricType::kHistogram || l != "le",
          "histogram '{}' may not use the label name 'le' (reserved for buckets)", name_);
  }
}

void MetricFamily::check_label_count(const LabelValues& values) const {
  CHECK(values.size() == label_names_.size(), "metric '{}' takes {} label values, got {}", name_,
        label_names_.size(), values.size());
}

std::string MetricFamily::format_labels(const LabelValues& values) const {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += label_names_[i];
    out += "=\"";
    append_escaped(out, values[i], /*escape_quote=*/true);
    out += '"';
  }
  return out;
}

void MetricFamily::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_escaped(out, help_, /*escape_quote=*/false);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name(type_);
  out += '\n';
  render_samples(out);
}

namespace metrics_detail {

void CounterChild::inc(double v) {
  CHECK(v >= 0, "counter increment must be >= 0, got {}; use a Gauge for values that go down", v);
  value_.fetch_add(v, std::memory_order_relaxed);
}

HistogramChild::HistogramChild(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void HistogramChild::observe(double v) {
  // Bucket i counts bounds[i-1] < v <= bounds[i]; NaN lands in +Inf.
  size_t i = static_cast<size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), v) -
                                 bounds_->begin());
  if (std::isnan(v)) i = bounds_->size();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t HistogramChild::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) n += bucket(i);
  return n;
}

}  // namespace metrics_detail

Counter::Counter(std::string name, std::string help, std::vector<std::string> label_names)
    : LabeledFamily(MetricType::kCounter, std::move(name), std::move(help),
                    std::move(label_names)) {
  create_unlabeled_child();
}

void Counter::render_child(std::string& out, const std::string& labels, const Child& c) const {
  append_sample(out, name(), labels, format_number(c.value()));
}

Gauge::Gauge(std::string name, std::string help, std::vector<std::string> label_names)
    : LabeledFamily(MetricType::kGauge, std::move(name), std::move(help), std::move(label_names)) {
  create_unlabeled_child();
}

void Gauge::render_child(std::string& out, const std::string& labels, const Child& c) const {
  append_sample(out, name(), labels, format_number(c.value()));
}

Histogram::Histogram(std::string name, std::string help, std::vector<double> bounds,
                     std::vector<std::string> label_names)
    : LabeledFamily(MetricType::kHistogram, std::move(name), std::move(help),
                    std::move(label_names)),
      bounds_(std::move(bounds)) {
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
  for (size_t i = 0; i < bounds_.size(); ++i) {
    CHECK(std::isfinite(bounds_[i]), "histogram '{}' bucket {} is {}; bounds must be finite",
          this->name(), i, bounds_[i]);
    CHECK(i == 0 || bounds_[i - 1] < bounds_[i],
          "histogram '{}' bounds must increase strictly: bucket {} is {} after {}", this->name(), i,
          bounds_[i], bounds_[i - 1]);
  }
  create_unlabeled_child();
}

void Histogram::render_child(std::string& out, const std::string& labels, const Child& c) const {
  const std::string prefix = labels.empty() ? std::string() : labels + ",";
  const std::string bucket_name = name() + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += c.bucket(i);
    append_sample(out, bucket_name, prefix + "le=\"" + format_number(bounds_[i]) + "\"",
                  std::to_string(cumulative));
  }
  cumulative += c.bucket(bounds_.size());
  append_sample(out, bucket_name, prefix + "le=\"+Inf\"", std::to_string(cumulative));
  append_sample(out, name() + "_sum", labels, format_number(c.sum()));
  append_sample(out, name() + "_count", labels, std::to_string(cumulative));
}

std::vector<double> Histogram::default_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> Histogram::exponential_buckets(double start, double factor, int count) {
  CHECK(start > 0 && factor > 1 && count >= 1,
        "exponential_buckets needs start > 0, factor > 1, count >= 1; got {}, {}, {}", start,
        factor, count);
  std::vector<double> out;
  double b = start;
  for (int i = 0; i < count; ++i, b *= factor) out.push_back(b);
  return out;
}

MetricFamily* MetricsRegistry::find_locked(const std::string& name) const {
  for (const auto& f : families_) {
    if (f->name() == name) return f.get();
  }
  return nullptr;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  if (MetricFamily* f = find_locked(name)) {
    CHECK(f->type() == MetricType::kCounter && f->label_names() == label_names,
          "metric '{}' is already registered with another type or other labels", name);
    return static_cast<Counter&>(*f);
  }
  families_.push_back(std::make_unique<Counter>(name, help, std::move(label_names)));
  return static_cast<Counter&>(*families_.back());
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  if (MetricFamily* f = find_locked(name)) {
    CHECK(f->type() == MetricType::kGauge && f->label_names() == label_names,
          "metric '{}' is already registered with another type or other labels", name);
    return static_cast<Gauge&>(*f);
  }
  families_.push_back(std::make_unique<Gauge>(name, help, std::move(label_names)));
  return static_cast<Gauge&>(*families_.back());
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> bounds,
                                      std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  auto h = std::make_unique<Histogram>(name, help, std::move(bounds), std::move(label_names));
  if (MetricFamily* f = find_locked(name)) {
    CHECK(f->type() == MetricType::kHistogram && f->label_names() == h->label_names() &&
              static_cast<Histogram*>(f)->bounds() == h->bounds(),
          "metric '{}' is already registered with another type, labels or buckets", name);
    return static_cast<Histogram&>(*f);
  }
  families_.push_back(std::move(h));
  return static_cast<Histogram&>(*families_.back());
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& f : families_) f->render(out);
  return out;
}

}  // namespace tandem
