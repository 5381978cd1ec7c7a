// Serving-engine benchmarks of the scheduler (issue #3), in process on the default model: the
// Engine (scheduler + model runner + samplers) driven the way the worker drives it. One JSON line
// per measurement. Workloads:
//   throughput     closed loop at each --concurrency: 2*C requests (>= 8), random prompts of
//                  --prompt-len tokens, --output-len tokens each (ignore_eos, greedy)
//   shared-prefix  --groups x --per-group requests; each group shares a --prefix-len prefix plus a
//                  16-token unique suffix; all arrive at once; run with the prefix cache on and off
//   tpot           --streams decoding requests while --long-prompts prompts of --long-len tokens
//                  arrive one per second; inter-token gaps of the streams with chunked prefill
//                  (--chunk) and without (chunk larger than the prompts)
// Usage: tandem_bench_scheduler --workload throughput|shared-prefix|tpot [--threads 2] ...
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/model_paths.h"
#include "kernels/backend.h"
#include "worker/model/model_loader.h"
#include "worker/service/engine.h"

using namespace tandem;
using SteadyClock = std::chrono::steady_clock;

namespace {

double secs(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

std::vector<int32_t> random_tokens(int32_t n, uint32_t seed) {
  std::vector<int32_t> out(n);
  uint32_t x = seed * 2654435761u + 7u;
  for (int32_t& t : out) {
    x = x * 1664525u + 1013904223u;
    t = 200 + static_cast<int32_t>((x >> 8) % 20000);
  }
  return out;
}

// Submits requests and records when each token arrived.
class Driver {
 public:
  Driver(model::LlamaModel& m, int32_t kv_slots, service::EngineConfig cfg) {
    const model::ModelConfig& c = m.config();
    kv_ = std::make_unique<runtime::KvCache>(c.num_layers, kv_slots, c.kv_dim(), DType::kF32);
    cfg.eos_token_ids = {0, 2};
    auto e = service::Engine::create(m, *kv_, std::move(cfg));
    if (!e.ok()) {
      fmt::print(stderr, "{}\n", e.status().to_string());
      std::exit(1);
    }
    engine_ = std::move(e).value();
    engine_->start();
  }
  ~Driver() { engine_->stop(); }

  void submit(const std::string& id, std::vector<int32_t> prompt, int32_t out_len) {
    service::GenerateInput in;
    in.id = id;
    in.prompt = std::move(prompt);
    in.params.temperature = 0.0f;
    in.params.max_new_tokens = out_len;
    in.params.ignore_eos = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Record& r = records_[id];
      r.submitted = SteadyClock::now();
      r.prompt = static_cast<int32_t>(in.prompt.size());
      ++open_;
    }
    Status st = engine_->submit(std::move(in), [this, id](service::EngineEvent&& ev) {
      std::lock_guard<std::mutex> lock(mu_);
      Record& r = records_[id];
      if (!ev.terminal()) {
        r.token_times.push_back(SteadyClock::now());
        return;
      }
      r.cached = ev.cached_tokens;
      r.done = true;
      --open_;
      cv_.notify_all();
    });
    if (!st.ok()) {
      fmt::print(stderr, "submit {}: {}\n", id, st.to_string());
      std::exit(1);
    }
  }
  // Blocks until at most `max_open` requests are unfinished.
  void wait_open(int max_open) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_ <= max_open; });
  }

  struct Record {
    SteadyClock::time_point submitted;
    std::vector<SteadyClock::time_point> token_times;
    int32_t prompt = 0;
    int32_t cached = 0;
    bool done = false;
  };
  std::map<std::string, Record> records() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }
  service::EngineLoad load() const { return engine_->load(); }

 private:
  std::unique_ptr<runtime::KvCache> kv_;
  std::unique_ptr<service::Engine> engine_;
  std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
  std::map<std::string, Record> records_;
};

struct Summary {
  double wall = 0, out_tok_s = 0, total_tok_s = 0, ttft_mean = 0, ttft_p50 = 0, tpot_mean = 0;
  int64_t output = 0, prompt = 0, cached = 0;
};

Summary summarize(const std::map<std::string, Driver::Record>& recs, SteadyClock::time_point t0,
                  SteadyClock::time_point t1) {
  Summary s;
  s.wall = secs(t1 - t0);
  std::vector<double> ttft, tpot;
  for (const auto& [id, r] : recs) {
    s.output += static_cast<int64_t>(r.token_times.size());
    s.prompt += r.prompt;
    s.cached += r.cached;
    if (r.token_times.empty()) continue;
    ttft.push_back(secs(r.token_times.front() - r.submitted));
    if (r.token_times.size() > 1) {
      tpot.push_back(secs(r.token_times.back() - r.token_times.front()) /
                     static_cast<double>(r.token_times.size() - 1));
    }
  }
  s.out_tok_s = static_cast<double>(s.output) / s.wall;
  s.total_tok_s = static_cast<double>(s.output + s.prompt) / s.wall;
  s.ttft_mean = mean(ttft);
  s.ttft_p50 = percentile(ttft, 0.5);
  s.tpot_mean = mean(tpot);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Scheduler / engine serving benchmarks"};
  std::string model_path = cli::default_model_path(), workload = "throughput";
  int threads = 2, prompt_len = 128, output_len = 64, groups = 16, per_group = 8, prefix_len = 512;
  int streams = 8, long_prompts = 4, long_len = 1536, chunk = 256, kv_slots = 65536;
  std::vector<int> concurrency = {1, 8, 32, 64};
  app.add_option("--model", model_path);
  app.add_option("--workload", workload)->check(CLI::IsMember({"throughput", "shared-prefix", "tpot"}));
  app.add_option("--threads", threads);
  app.add_option("--concurrency", concurrency)->delimiter(',');
  app.add_option("--prompt-len", prompt_len);
  app.add_option("--output-len", output_len);
  app.add_option("--groups", groups);
  app.add_option("--per-group", per_group);
  app.add_option("--prefix-len", prefix_len);
  app.add_option("--streams", streams);
  app.add_option("--long-prompts", long_prompts);
  app.add_option("--long-len", long_len);
  app.add_option("--chunk", chunk);
  app.add_option("--kv-slots", kv_slots);
  CLI11_PARSE(app, argc, argv);

  auto backend = kernels::make_cpu_backend(threads);
  auto loaded = model::load_model(model_path, *backend);
  if (!loaded.ok()) {
    fmt::print(stderr, "{}\n", loaded.status().to_string());
    return 1;
  }
  model::LlamaModel& m = *loaded->model;
  auto base_config = [&](int max_running, int chunk_size, bool prefix_cache) {
    service::EngineConfig c;
    c.scheduler.limits.max_running_requests = max_running;
    c.scheduler.limits.max_prefill_tokens_per_step = chunk_size;
    c.scheduler.prefix_cache = prefix_cache;
    return c;
  };

  if (workload == "throughput") {
    for (int conc : concurrency) {
      Driver d(m, kv_slots, base_config(conc, 2048, true));
      const int n = std::max(8, 2 * conc);
      const auto t0 = SteadyClock::now();
      for (int i = 0; i < n; ++i) {
        d.wait_open(conc - 1);
        d.submit(fmt::format("t{}", i), random_tokens(prompt_len, 1000 * conc + i), output_len);
      }
      d.wait_open(0);
      const Summary s = summarize(d.records(), t0, SteadyClock::now());
      fmt::print("{{\"workload\": \"throughput\", \"concurrency\": {}, \"requests\": {}, "
                 "\"prompt_len\": {}, \"output_len\": {}, \"threads\": {}, \"wall_s\": {:.3f}, "
                 "\"output_tok_s\": {:.1f}, \"total_tok_s\": {:.1f}, \"ttft_mean_s\": {:.3f}, "
                 "\"tpot_mean_ms\": {:.2f}}}\n",
                 conc, n, prompt_len, output_len, threads, s.wall, s.out_tok_s, s.total_tok_s,
                 s.ttft_mean, 1e3 * s.tpot_mean);
      std::fflush(stdout);
    }
  } else if (workload == "shared-prefix") {
    for (bool cache : {true, false}) {
      Driver d(m, kv_slots, base_config(64, 2048, cache));
      const auto t0 = SteadyClock::now();
      for (int g = 0; g < groups; ++g) {
        const std::vector<int32_t> prefix = random_tokens(prefix_len, 7000 + g);
        for (int j = 0; j < per_group; ++j) {
          std::vector<int32_t> p = prefix;
          const std::vector<int32_t> tail = random_tokens(16, 90000 + g * per_group + j);
          p.insert(p.end(), tail.begin(), tail.end());
          d.submit(fmt::format("g{}-{}", g, j), std::move(p), 16);
        }
      }
      d.wait_open(0);
      const Summary s = summarize(d.records(), t0, SteadyClock::now());
      fmt::print("{{\"workload\": \"shared-prefix\", \"prefix_cache\": {}, \"groups\": {}, "
                 "\"per_group\": {}, \"prefix_len\": {}, \"threads\": {}, \"wall_s\": {:.3f}, "
                 "\"total_tok_s\": {:.1f}, \"output_tok_s\": {:.1f}, \"ttft_mean_s\": {:.3f}, "
                 "\"ttft_p50_s\": {:.3f}, \"cached_prompt_tokens\": {}, \"prompt_tokens\": {}, "
                 "\"cache_hit_rate\": {:.3f}}}\n",
                 cache, groups, per_group, prefix_len, threads, s.wall, s.total_tok_s,
                 s.out_tok_s, s.ttft_mean, s.ttft_p50, s.cached, s.prompt,
                 d.load().cache_hit_rate);
      std::fflush(stdout);
    }
  } else {  // tpot
    for (int chunk_size : {chunk, long_len + 64}) {
      Driver d(m, kv_slots, base_config(64, chunk_size, true));
      for (int i = 0; i < streams; ++i) {
        d.submit(fmt::format("s{}", i), random_tokens(32, 300 + i), 1 << 30 >> 20);
      }
      // Let the streams reach steady decoding, then send one long prompt per second.
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const auto t0 = SteadyClock::now();
      for (int i = 0; i < long_prompts; ++i) {
        d.submit(fmt::format("long{}", i), random_tokens(long_len, 500 + i), 1);
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
      const auto t1 = SteadyClock::now();
      d.wait_open(0);
      std::vector<double> gaps;
      for (const auto& [id, r] : d.records()) {
        if (id[0] != 's') continue;
        for (size_t k = 1; k < r.token_times.size(); ++k) {
          if (r.token_times[k] >= t0 && r.token_times[k] <= t1) {
            gaps.push_back(1e3 * secs(r.token_times[k] - r.token_times[k - 1]));
          }
        }
      }
      fmt::print("{{\"workload\": \"tpot\", \"chunked_prefill_size\": {}, \"streams\": {}, "
                 "\"long_prompts\": {}, \"long_len\": {}, \"threads\": {}, \"gaps\": {}, "
                 "\"itl_mean_ms\": {:.1f}, \"itl_p50_ms\": {:.1f}, \"itl_p99_ms\": {:.1f}, "
                 "\"itl_max_ms\": {:.1f}}}\n",
                 chunk_size, streams, long_prompts, long_len, threads, gaps.size(), mean(gaps),
                 percentile(gaps, 0.5), percentile(gaps, 0.99),
                 gaps.empty() ? 0.0 : *std::max_element(gaps.begin(), gaps.end()));
      std::fflush(stdout);
    }
  }
  return 0;
}
