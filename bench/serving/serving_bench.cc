#include "bench/serving/serving_bench.h"

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "bench/serving/backend.h"
#include "bench/serving/dataset.h"
#include "bench/serving/http_client.h"
#include "bench/serving/metrics.h"
#include "bench/serving/report.h"
#include "bench/serving/runner.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "worker/model/loader/gguf_file.h"

namespace tandem::bench {

namespace {

constexpr size_t kErrorsPrinted = 5;

struct LoadedTokenizer {
  std::unique_ptr<model::GgufFile> gguf;  // kept open while the tokenizer lives
  std::unique_ptr<text::Tokenizer> tokenizer;
};

StatusOr<LoadedTokenizer> load_tokenizer(const std::string& path) {
  LoadedTokenizer out;
  if (std::filesystem::is_directory(path)) {
    ASSIGN_OR_RETURN(out.tokenizer, text::load_tokenizer_from_hf_dir(path));
    return out;
  }
  ASSIGN_OR_RETURN(out.gguf, model::GgufFile::open(path));
  ASSIGN_OR_RETURN(out.tokenizer, text::load_tokenizer_from_gguf(*out.gguf));
  return out;
}

StatusOr<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open --dataset-path '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StatusOr<std::vector<BenchPrompt>> make_prompts(const ServingBenchOptions& o, const text::Tokenizer& tok) {
  if (o.dataset_name == "random") {
    return make_random_prompts(tok, {o.num_prompts, o.random_input_len, o.random_output_len,
                                     o.random_range_ratio, o.seed});
  }
  if (o.dataset_name == "generated-shared-prefix") {
    return make_shared_prefix_prompts(tok, {o.gsp_num_groups, o.gsp_prompts_per_group, o.gsp_system_prompt_len,
                                            o.gsp_question_len, o.gsp_output_len, o.seed});
  }
  if (o.dataset_name == "sharegpt") {
    if (o.dataset_path.empty()) return invalid_argument("--dataset-name sharegpt needs --dataset-path FILE.json");
    ASSIGN_OR_RETURN(std::string text, read_file(o.dataset_path));
    ASSIGN_OR_RETURN(std::vector<ShareGptPair> pairs, parse_sharegpt(text, o.dataset_path));
    return make_sharegpt_prompts(tok, std::move(pairs), {o.num_prompts, o.sharegpt_output_len, o.seed});
  }
  return invalid_argument("unknown --dataset-name '{}': use random, generated-shared-prefix or sharegpt",
                          o.dataset_name);
}

// The first model GET /v1/models lists (what SGLang's client does when --model is not given).
StatusOr<std::string> served_model(const ParsedUrl& url) {
  ASSIGN_OR_RETURN(std::string body, http_get(url.host, url.port, url.path + "/v1/models"));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  const boost::json::value* data = !ec && v.is_object() ? v.get_object().if_contains("data") : nullptr;
  if (data && data->is_array() && !data->get_array().empty() && data->get_array()[0].is_object()) {
    if (const boost::json::value* id = data->get_array()[0].get_object().if_contains("id"); id && id->is_string()) {
      return std::string(id->get_string());
    }
  }
  return invalid_argument("GET {}/v1/models listed no model ({}); pass --model NAME", url.path,
                          body.substr(0, 200));
}

void count_missing_output_tokens(std::vector<RequestRecord>& records, const text::Tokenizer& tok) {
  for (RequestRecord& r : records) {
    if (r.output_tokens < 0) {
      // The server reported no usage: count the text, as SGLang does without usage.
      r.output_tokens = static_cast<int64_t>(tok.encode(r.generated_text, false).size());
    }
  }
}

}  // namespace

Status run_serving_bench(const ServingBenchOptions& o) {
  ASSIGN_OR_RETURN(BackendKind kind, parse_backend_kind(o.backend));
  if (!(o.request_rate > 0)) return invalid_argument("--request-rate must be > 0 (or inf), got {}", o.request_rate);
  if (o.max_concurrency < 0) return invalid_argument("--max-concurrency must be >= 0, got {}", o.max_concurrency);

  BackendOptions b;
  b.kind = kind;
  b.stream = !o.disable_stream;
  b.text_prompt = o.text_prompt;
  b.model = o.model;
  b.worker = o.worker;
  b.request_timeout_s = o.request_timeout_s;
  std::string target = o.worker;
  if (kind != BackendKind::kGrpc) {
    if (o.base_url.empty()) return invalid_argument("--backend {} needs --base-url http://host:port", o.backend);
    ASSIGN_OR_RETURN(ParsedUrl url, parse_base_url(o.base_url));
    b.host = url.host;
    b.port = url.port;
    b.path_prefix = url.path;
    target = o.base_url;
    if (b.model.empty()) {
      ASSIGN_OR_RETURN(b.model, served_model(url));
    }
  }
  ASSIGN_OR_RETURN(BackendFactory factory, make_backend_factory(b));

  const std::string tokenizer_path = o.tokenizer;
  ASSIGN_OR_RETURN(LoadedTokenizer tok, load_tokenizer(tokenizer_path));
  ASSIGN_OR_RETURN(std::vector<BenchPrompt> prompts, make_prompts(o, *tok.tokenizer));

  if (o.warmup_requests > 0) {
    // One short request first (as SGLang does): fails fast on a wrong URL/model, and takes
    // connection set-up out of the measured run.
    std::vector<BenchPrompt> warm(static_cast<size_t>(o.warmup_requests), prompts.front());
    for (BenchPrompt& p : warm) p.output_len = std::min<int64_t>(p.output_len, 16);
    RunResult w = run_benchmark(warm, factory, {std::numeric_limits<double>::infinity(), 1, o.seed, 1, false});
    if (!w.records[0].success) {
      return make_status(StatusCode::kUnavailable, "the warm-up request to {} ({}) failed: {}", target, o.backend,
                         w.records[0].error);
    }
  }

  BenchConfig config{o.backend, target, b.model, o.dataset_name, o.dataset_path,
                     static_cast<int64_t>(prompts.size()), o.random_input_len, o.random_output_len,
                     o.random_range_ratio, o.request_rate, o.max_concurrency, o.seed, !o.disable_stream,
                     o.client_threads, o.text_prompt};
  fmt::print("#prompts: {}  backend: {}  target: {}  model: {}  request rate: {}  max concurrency: {}\n",
             prompts.size(), o.backend, target, b.model, o.request_rate, o.max_concurrency);
  std::fflush(stdout);

  RunOptions run{o.request_rate, o.max_concurrency, o.seed, o.client_threads, !o.disable_progress};
  RunResult result = run_benchmark(prompts, factory, run);
  count_missing_output_tokens(result.records, *tok.tokenizer);
  const BenchMetrics metrics = compute_metrics(result.records, result.duration_s);

  size_t printed = 0;
  for (const RequestRecord& r : result.records) {
    if (!r.success && printed++ < kErrorsPrinted) fmt::print(stderr, "request failed: {}\n", r.error);
  }
  print_summary(stdout, config, metrics);
  if (!o.output_file.empty()) {
    std::ofstream out(o.output_file, std::ios::binary | std::ios::trunc);
    out << result_json(config, metrics, result.records, o.output_details) << "\n";
    if (!out) return internal_error("cannot write --output-file '{}'", o.output_file);
  }
  return Status::Ok();
}

}  // namespace tandem::bench
