#include "bench/serving/report.h"

#include <boost/json.hpp>
#include <cmath>
#include <fmt/format.h>

namespace tandem::bench {

namespace json = boost::json;

namespace {

void line(std::FILE* out, std::string_view name, const std::string& value) {
  fmt::print(out, "{:<40}{:<10}\n", name, value);
}
void line(std::FILE* out, std::string_view name, double v) { line(out, name, fmt::format("{:.2f}", v)); }
void line(std::FILE* out, std::string_view name, int64_t v) { line(out, name, std::to_string(v)); }

void header(std::FILE* out, std::string_view title) { fmt::print(out, "{:-^50}\n", title); }

void dist_lines(std::FILE* out, std::string_view what, const Distribution& d) {
  line(out, fmt::format("Mean {} (ms):", what), d.mean);
  line(out, fmt::format("Median {} (ms):", what), d.median);
  line(out, fmt::format("P99 {} (ms):", what), d.p99);
}

void put_dist(json::object& o, std::string_view what, const Distribution& d) {
  o[fmt::format("mean_{}_ms", what)] = d.mean;
  o[fmt::format("median_{}_ms", what)] = d.median;
  o[fmt::format("std_{}_ms", what)] = d.std;
  o[fmt::format("p90_{}_ms", what)] = d.p90;
  o[fmt::format("p95_{}_ms", what)] = d.p95;
  o[fmt::format("p99_{}_ms", what)] = d.p99;
  o[fmt::format("max_{}_ms", what)] = d.max;
}

json::value rate_value(double r) { return std::isfinite(r) ? json::value(r) : json::value("inf"); }

}  // namespace

void print_summary(std::FILE* out, const BenchConfig& c, const BenchMetrics& m) {
  header(out, " Serving Benchmark Result ");
  line(out, "Backend:", c.backend);
  line(out, "Traffic request rate:", std::isfinite(c.request_rate) ? fmt::format("{}", c.request_rate) : "inf");
  line(out, "Max request concurrency:", c.max_concurrency > 0 ? std::to_string(c.max_concurrency) : "not set");
  line(out, "Successful requests:", m.completed);
  line(out, "Failed requests:", m.failed);
  line(out, "Benchmark duration (s):", m.duration_s);
  line(out, "Total input tokens:", m.total_input_tokens);
  line(out, "Total generated tokens:", m.total_output_tokens);
  line(out, "Request throughput (req/s):", m.request_throughput);
  line(out, "Input token throughput (tok/s):", m.input_throughput);
  line(out, "Output token throughput (tok/s):", m.output_throughput);
  line(out, "Total token throughput (tok/s):", m.total_throughput);
  line(out, "Concurrency:", m.concurrency);
  header(out, "End-to-End Latency");
  dist_lines(out, "E2E Latency", m.e2e_ms);
  header(out, "Time to First Token");
  dist_lines(out, "TTFT", m.ttft_ms);
  header(out, "Time per Output Token (excl. 1st token)");
  dist_lines(out, "TPOT", m.tpot_ms);
  header(out, "Inter-Token Latency");
  dist_lines(out, "ITL", m.itl_ms);
  fmt::print(out, "{:=^50}\n", "");
}

std::string result_json(const BenchConfig& c, const BenchMetrics& m, const std::vector<RequestRecord>& records,
                        bool details) {
  json::object o;
  o["backend"] = c.backend;
  o["target"] = c.target;
  o["model"] = c.model;
  o["dataset_name"] = c.dataset_name;
  if (!c.dataset_path.empty()) o["dataset_path"] = c.dataset_path;
  o["num_prompts"] = c.num_prompts;
  o["random_input_len"] = c.random_input_len;
  o["random_output_len"] = c.random_output_len;
  o["random_range_ratio"] = c.random_range_ratio;
  o["request_rate"] = rate_value(c.request_rate);
  o["max_concurrency"] = c.max_concurrency > 0 ? json::value(c.max_concurrency) : json::value(nullptr);
  o["seed"] = c.seed;
  o["stream"] = c.stream;
  o["client_threads"] = c.client_threads;
  o["text_prompt"] = c.text_prompt;
  o["duration"] = m.duration_s;
  o["completed"] = m.completed;
  o["failed"] = m.failed;
  o["total_input_tokens"] = m.total_input_tokens;
  o["total_output_tokens"] = m.total_output_tokens;
  o["request_throughput"] = m.request_throughput;
  o["input_throughput"] = m.input_throughput;
  o["output_throughput"] = m.output_throughput;
  o["total_throughput"] = m.total_throughput;
  o["concurrency"] = m.concurrency;
  put_dist(o, "e2e_latency", m.e2e_ms);
  put_dist(o, "ttft", m.ttft_ms);
  put_dist(o, "tpot", m.tpot_ms);
  put_dist(o, "itl", m.itl_ms);
  json::array errors;
  for (const RequestRecord& r : records) {
    if (!r.success) errors.emplace_back(r.error);
  }
  if (details) {
    json::array in, outl, ttft, e2e, itl, text;
    for (const RequestRecord& r : records) {
      in.emplace_back(r.input_tokens);
      outl.emplace_back(r.output_tokens);
      ttft.emplace_back(r.ttft_s);
      e2e.emplace_back(r.e2e_s);
      json::array gaps;
      for (double g : r.itl_s) gaps.emplace_back(g);
      itl.emplace_back(std::move(gaps));
      text.emplace_back(r.generated_text);
    }
    o["input_lens"] = std::move(in);
    o["output_lens"] = std::move(outl);
    o["ttfts"] = std::move(ttft);
    o["e2e_latencies"] = std::move(e2e);
    o["itls"] = std::move(itl);
    o["generated_texts"] = std::move(text);
  }
  o["errors"] = std::move(errors);
  return json::serialize(o);
}

}  // namespace tandem::bench
