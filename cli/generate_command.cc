#include "cli/generate_command.h"

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/model_paths.h"
#include "cli/model_session.h"
#include "worker/runtime/generator.h"

namespace tandem::cli {

namespace {

struct GenerateOptions {
  std::string model;
  std::vector<std::string> prompts;
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
  int threads = 0;
  int kv_slots = 16384;
  std::string kv_dtype = "f32";
  bool quiet = false;
};

std::string chat_messages_json(const std::string& system, const std::string& user) {
  boost::json::array msgs;
  if (!system.empty()) msgs.push_back({{"role", "system"}, {"content", system}});
  msgs.push_back({{"role", "user"}, {"content", user}});
  return boost::json::serialize(msgs);
}

int run_generate(const GenerateOptions& o) {
  if (o.prompts.empty() == o.chats.empty()) {
    fmt::print(stderr, "tandem generate: give --prompt TEXT or --chat TEXT (each may repeat), not both\n");
    return 2;
  }
  auto session_or = open_model_session(o.model, o.threads, o.kv_slots, o.kv_dtype);
  if (!session_or.ok()) {
    fmt::print(stderr, "tandem generate: {}\n", session_or.status().to_string());
    return 1;
  }
  ModelSession& s = **session_or;
  if (!o.quiet) {
    fmt::print(stderr, "model: {}\n  {}\n  backend: {}\n", o.model, s.loaded.model->config().summary(),
               s.backend->name());
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

  std::vector<runtime::GenerateRequest> requests;
  for (const std::string& p : o.prompts) {
    requests.push_back({s.tokenizer->encode(p, /*add_special_tokens=*/true), params});
  }
  for (const std::string& c : o.chats) {
    auto ids = encode_chat(s, chat_messages_json(o.system, c));
    if (!ids.ok()) {
      fmt::print(stderr, "tandem generate: {}\n", ids.status().to_string());
      return 1;
    }
    requests.push_back({std::move(*ids), params});
  }

  // One request streams to stdout as it goes; several are printed whole, each under a header.
  const bool stream = requests.size() == 1;
  std::vector<text::IncrementalDetokenizer> detok;
  std::vector<std::string> texts(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) detok.emplace_back(*s.tokenizer, /*skip_special_tokens=*/true);
  // Unseeded sampling differs run to run, like any serving endpoint; --seed makes it repeatable.
  const uint64_t base_seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  runtime::Generator gen(*s.loaded.model, *s.kv, s.eos_ids, base_seed);
  auto stats = gen.run(requests, [&](const runtime::TokenEvent& ev) {
    std::string piece = detok[ev.request].push(ev.sample.token);
    if (ev.finish != sampling::FinishReason::kNone) piece += detok[ev.request].finish();
    if (stream) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    } else {
      texts[ev.request] += piece;
    }
  });
  if (!stats.ok()) {
    fmt::print(stderr, "\ntandem generate: {}\n", stats.status().to_string());
    return 1;
  }
  if (stream) {
    std::fputc('\n', stdout);
  } else {
    for (size_t i = 0; i < texts.size(); ++i) fmt::print("=== [{}] ===\n{}\n", i, texts[i]);
  }
  const runtime::GenerateStats& st = *stats;
  if (!o.quiet) {
    const int64_t decode_tokens = st.generated_tokens - static_cast<int64_t>(requests.size());
    fmt::print(stderr,
               "prompt: {} tokens in {:.3f} s ({:.1f} tok/s) | generated: {} tokens, decode {:.1f} tok/s "
               "over {} steps ({:.2f} ms/step, batch {})\n",
               st.prompt_tokens, st.prefill_seconds, st.prompt_tokens / std::max(1e-9, st.prefill_seconds),
               st.generated_tokens, decode_tokens / std::max(1e-9, st.decode_seconds), st.decode_steps,
               1e3 * st.decode_seconds / std::max(1, st.decode_steps), requests.size());
  }
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<GenerateOptions>();
  o->model = default_model_path();
  CLI::App* cmd = app.add_subcommand("generate", "Run prompts through the engine on this machine");
  cmd->add_option("--model,-m", o->model, "Model: a .gguf file or a Hugging Face directory")
      ->envname("TANDEM_MODEL")->capture_default_str();
  cmd->add_option("--prompt,-p", o->prompts, "Raw prompt text (repeat for a batch)");
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
  cmd->add_option("--threads", o->threads, "Compute threads (0 = all cores)")->envname("TANDEM_THREADS")
      ->capture_default_str();
  cmd->add_option("--kv-slots", o->kv_slots, "KV cache capacity in tokens")->envname("TANDEM_KV_SLOTS")
      ->capture_default_str();
  cmd->add_option("--kv-dtype", o->kv_dtype, "KV cache element type: f32, f16 or bf16")
      ->envname("TANDEM_KV_DTYPE")->capture_default_str();
  cmd->add_flag("--quiet,-q", o->quiet, "Print only the generated text");
  cmd->callback([o, &exit_code] { exit_code = run_generate(*o); });
}

}  // namespace tandem::cli
