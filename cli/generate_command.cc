#include "cli/generate_command.h"

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/model_paths.h"
#include "cli/model_session.h"
#include "cli/engine_options.h"
#include "worker/service/engine.h"

namespace tandem::cli {

namespace {

struct GenerateOptions {
  EngineOptions engine;
  std::vector<std::string> prompts;
  std::string prompts_file;
  std::vector<std::string> chats;
  std::string system;
  int max_tokens = 128;
  float temperature = 0.0f;
  float top_p = 1.0f;
  int top_k = -1;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int64_t seed = -1;
  bool ignore_eos = false;
  bool quiet = false;
};

std::string chat_messages_json(const std::string& system, const std::string& user) {
  boost::json::array msgs;
  if (!system.empty()) msgs.push_back({{"role", "system"}, {"content", system}});
  msgs.push_back({{"role", "user"}, {"content", user}});
  return boost::json::serialize(msgs);
}

// Reads one prompt per non-empty line.
StatusOr<std::vector<std::string>> read_prompts(const std::string& path) {
  std::ifstream in(path);
  if (!in) return not_found("cannot open prompts file '{}'", path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Collects the engine's events for every request of one run; the main thread waits on it.
struct RunState {
  std::mutex mu;
  std::condition_variable done_cv;
  size_t open = 0;
  bool stream = false;
  std::vector<text::IncrementalDetokenizer> detok;
  std::vector<std::string> texts;
  std::vector<service::EngineEvent> finals;
  int64_t generated = 0;
  int64_t cached = 0;
  int64_t prompt = 0;
};

int run_generate(GenerateOptions o) {
  if (!o.prompts_file.empty()) {
    auto lines = read_prompts(o.prompts_file);
    if (!lines.ok()) {
      fmt::print(stderr, "tandem generate: {}\n", lines.status().to_string());
      return 1;
    }
    o.prompts.insert(o.prompts.end(), lines->begin(), lines->end());
  }
  if (o.prompts.empty() == o.chats.empty()) {
    fmt::print(stderr, "tandem generate: give --prompt TEXT / --prompts-file FILE or --chat TEXT "
                       "(each may repeat), not both\n");
    return 2;
  }
  auto session_or = open_model_session(o.engine.model, o.engine.threads, o.engine.kv_slots,
                                       o.engine.kv_dtype, o.engine.device, nullptr, false, o.engine.mem_fraction);
  if (!session_or.ok()) {
    fmt::print(stderr, "tandem generate: {}\n", session_or.status().to_string());
    return 1;
  }
  ModelSession& s = **session_or;
  if (!o.quiet) {
    fmt::print(stderr, "model: {}\n  {}\n  backend: {}\n", o.engine.model,
               s.loaded.model->config().summary(), s.backend->name());
  }

  sampling::SamplingParams params;
  params.max_new_tokens = o.max_tokens;
  params.temperature = o.temperature;
  params.top_p = o.top_p;
  params.top_k = o.top_k;
  params.min_p = o.min_p;
  params.repetition_penalty = o.repetition_penalty;
  params.frequency_penalty = o.frequency_penalty;
  params.presence_penalty = o.presence_penalty;
  params.ignore_eos = o.ignore_eos;
  if (o.seed >= 0) params.seed = static_cast<uint64_t>(o.seed);

  std::vector<std::vector<int32_t>> prompts;
  for (const std::string& p : o.prompts) {
    prompts.push_back(s.tokenizer->encode(p, /*add_special_tokens=*/true));
  }
  for (const std::string& c : o.chats) {
    auto ids = encode_chat(s, chat_messages_json(o.system, c));
    if (!ids.ok()) {
      fmt::print(stderr, "tandem generate: {}\n", ids.status().to_string());
      return 1;
    }
    prompts.push_back(std::move(*ids));
  }

  // Unseeded sampling differs run to run, like any serving endpoint; --seed makes it repeatable.
  const uint64_t base_seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  auto engine_or = service::Engine::create(*s.loaded.model, *s.kv,
                                           make_engine_config(o.engine, s.eos_ids, base_seed));
  if (!engine_or.ok()) {
    fmt::print(stderr, "tandem generate: {}\n", engine_or.status().to_string());
    return 1;
  }
  service::Engine& engine = **engine_or;

  // One request streams to stdout as it goes; several are printed whole, each under a header.
  RunState st;
  st.stream = prompts.size() == 1;
  st.texts.resize(prompts.size());
  st.finals.resize(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    st.detok.emplace_back(*s.tokenizer, /*skip_special_tokens=*/true);
  }
  engine.start();
  int rc = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < prompts.size(); ++i) {
    service::GenerateInput in;
    in.id = std::to_string(i);
    in.prompt = prompts[i];
    in.params = params;
    {
      std::lock_guard<std::mutex> lock(st.mu);
      st.open += 1;
      st.prompt += static_cast<int64_t>(in.prompt.size());
    }
    Status ok = engine.submit(std::move(in), [&st, i](service::EngineEvent&& ev) {
      std::lock_guard<std::mutex> lock(st.mu);
      std::string piece;
      if (!ev.terminal()) {
        piece = st.detok[i].push(ev.tokens.front());
      } else {
        piece = st.detok[i].finish();
        st.generated += ev.completion_tokens;
        st.cached += ev.cached_tokens;
      }
      if (st.stream) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
      } else {
        st.texts[i] += piece;
      }
      if (ev.terminal()) {
        st.finals[i] = std::move(ev);
        if (--st.open == 0) st.done_cv.notify_all();
      }
    });
    if (!ok.ok()) {
      fmt::print(stderr, "tandem generate: prompt {}: {}\n", i, ok.to_string());
      std::lock_guard<std::mutex> lock(st.mu);
      st.open -= 1;
      rc = 1;
    }
  }
  {
    std::unique_lock<std::mutex> lock(st.mu);
    st.done_cv.wait(lock, [&] { return st.open == 0; });
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const service::EngineLoad load = engine.load();
  engine.stop();

  if (st.stream) std::fputc('\n', stdout);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const service::EngineEvent& f = st.finals[i];
    if (!st.stream) fmt::print("=== [{}] ===\n{}\n", i, st.texts[i]);
    if (!f.error.empty()) {
      fmt::print(stderr, "tandem generate: prompt {}: {}\n", i, f.error);
      rc = 1;
    }
  }
  if (!o.quiet) {
    double ttft_sum = 0, ttft_max = 0;
    int ttft_n = 0;
    for (const service::EngineEvent& f : st.finals) {
      if (f.time_to_first_token) {
        const double t = std::chrono::duration<double>(*f.time_to_first_token).count();
        ttft_sum += t;
        ttft_max = std::max(ttft_max, t);
        ++ttft_n;
      }
    }
    // Decode rate: tokens after each request's first, over the time after the last first token.
    const double decode_s = std::max(1e-9, wall - ttft_max);
    fmt::print(stderr,
               "{} requests: prompt {} tokens ({} from the prefix cache), generated {} tokens in "
               "{:.3f} s ({:.1f} tok/s output), mean TTFT {:.3f} s, decode {:.1f} tok/s, {} engine "
               "steps\n",
               prompts.size(), st.prompt, st.cached, st.generated, wall,
               static_cast<double>(st.generated) / std::max(1e-9, wall),
               ttft_n ? ttft_sum / ttft_n : 0.0,
               static_cast<double>(st.generated - ttft_n) / decode_s, load.steps);
  }
  return rc;
}

}  // namespace

void add_generate_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "generate", "Run prompts through the engine (scheduler + model) on this machine");
  add_engine_options(*cmd, o->engine);
  cmd->add_option("--prompt,-p", o->prompts, "Raw prompt text (repeat for a batch)");
  cmd->add_option("--prompts-file", o->prompts_file, "File with one raw prompt per line");
  cmd->add_option("--chat", o->chats, "User message, run through the chat template (repeat for a batch)");
  cmd->add_option("--system", o->system, "System message for --chat");
  cmd->add_option("--max-tokens,-n", o->max_tokens, "Tokens to generate per prompt")
      ->envname("TANDEM_MAX_TOKENS")->capture_default_str();
  cmd->add_option("--temperature,-t", o->temperature, "0 = greedy")->envname("TANDEM_TEMPERATURE")
      ->capture_default_str();
  cmd->add_option("--top-p", o->top_p)->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "-1 = off")->capture_default_str();
  cmd->add_option("--min-p", o->min_p)->capture_default_str();
  cmd->add_option("--repetition-penalty", o->repetition_penalty)->capture_default_str();
  cmd->add_option("--frequency-penalty", o->frequency_penalty)->capture_default_str();
  cmd->add_option("--presence-penalty", o->presence_penalty)->capture_default_str();
  cmd->add_option("--seed", o->seed, "Sampling seed (-1: per-request default)")->capture_default_str();
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-sequence tokens");
  cmd->add_flag("--quiet,-q", o->quiet, "Print only the generated text");
  cmd->callback([o, &exit_code] { exit_code = run_generate(*o); });
}

}  // namespace tandem::cli
