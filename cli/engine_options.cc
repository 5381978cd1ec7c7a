#include "cli/engine_options.h"

#include <limits>

#include <CLI/CLI.hpp>

#include "cli/model_paths.h"

namespace tandem::cli {

void add_engine_options(CLI::App& cmd, EngineOptions& o) {
  o.model = default_model_path();
  cmd.add_option("--model,-m", o.model, "Model: a .gguf file or a Hugging Face directory")
      ->envname("TANDEM_MODEL")->capture_default_str();
  cmd.add_option("--device", o.device, "Compute device: cpu, cuda or cuda:N (GPU N)")
      ->envname("TANDEM_DEVICE")->capture_default_str();
  cmd.add_option("--threads", o.threads, "Compute threads (0 = all cores)")
      ->envname("TANDEM_THREADS")->capture_default_str();
  cmd.add_option("--kv-slots", o.kv_slots,
                 "KV cache capacity in tokens (0 = auto: 16384 on cpu; on cuda what fits --mem-fraction)")
      ->envname("TANDEM_KV_SLOTS")->check(CLI::Range(0, std::numeric_limits<int32_t>::max()))->capture_default_str();
  cmd.add_option("--mem-fraction", o.mem_fraction,
                 "GPU only, with --kv-slots 0: the share of the device's memory the weights and the KV cache may "
                 "take (the rest is left for activations, cuBLAS and CUDA graphs)")
      ->envname("TANDEM_MEM_FRACTION")->check(CLI::Range(0.05, 0.99))->capture_default_str();
  cmd.add_option("--kv-dtype", o.kv_dtype, "KV cache element type: f32, f16, bf16 or auto (f32 on cpu, bf16 on cuda)")
      ->envname("TANDEM_KV_DTYPE")->capture_default_str();
  cmd.add_option("--max-running-requests", o.max_running_requests,
                 "Requests decoded together at most (0 = auto: 64 on cpu, 256 on cuda)")
      ->check(CLI::Range(0, std::numeric_limits<int32_t>::max()))
      ->envname("TANDEM_MAX_RUNNING_REQUESTS")->capture_default_str();
  cmd.add_option("--chunked-prefill-size", o.chunked_prefill_size,
                 "Prompt tokens computed per step at most (long prompts span several steps)")
      ->envname("TANDEM_CHUNKED_PREFILL_SIZE")->capture_default_str();
  cmd.add_option("--schedule-policy", o.schedule_policy, "Admission order: fcfs, lpm or priority")
      ->envname("TANDEM_SCHEDULE_POLICY")->capture_default_str();
  cmd.add_option("--page-size", o.page_size, "Radix prefix-cache page size in tokens")
      ->envname("TANDEM_PAGE_SIZE")->capture_default_str();
  cmd.add_flag("--disable-radix-cache", o.disable_radix_cache,
               "Do not cache or reuse prompt prefixes")->envname("TANDEM_DISABLE_RADIX_CACHE");
  cmd.add_option("--context-length", o.context_length,
                 "Prompt + output limit per request (0 = the model's, capped by the KV cache)")
      ->envname("TANDEM_CONTEXT_LENGTH")->capture_default_str();
}

int32_t max_running_requests(const EngineOptions& o) {
  if (o.max_running_requests > 0) return o.max_running_requests;
  return o.device.rfind("cuda", 0) == 0 ? 256 : 64;
}

service::EngineConfig make_engine_config(const EngineOptions& o, std::vector<int32_t> eos_ids,
                                         uint64_t base_seed) {
  service::EngineConfig c;
  c.scheduler.page_size = o.page_size;
  c.scheduler.policy = o.schedule_policy;
  c.scheduler.prefix_cache = !o.disable_radix_cache;
  c.scheduler.limits.max_running_requests = max_running_requests(o);
  c.scheduler.limits.max_prefill_tokens_per_step = o.chunked_prefill_size;
  c.scheduler.limits.max_context_len = o.context_length;
  c.eos_token_ids = std::move(eos_ids);
  c.base_seed = base_seed;
  return c;
}

}  // namespace tandem::cli
