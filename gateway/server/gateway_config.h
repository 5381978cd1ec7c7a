// GatewayConfig: everything `tandem gateway` is configured with (YAML file < TANDEM_* environment
// < command-line flags; see cli/gateway_command.cc). Plain value type.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/routing/retry.h"

namespace tandem::gateway::server {

// A prefill worker of a PD gateway: its gRPC address and, optionally, its KV bootstrap port (else
// the port its GetServerInfo reports, else 8998).
struct PrefillWorkerConfig {
  std::string url;
  std::optional<uint16_t> bootstrap_port;
};

struct GatewayConfig {
  std::string host = "0.0.0.0";
  uint16_t port = 30000;
  int io_threads = 2;
  std::vector<std::string> worker_urls;  // "host:port" of each worker's gRPC service
  std::string policy = "cache_aware";    // routing policy (gateway/routing/policies)
  std::string cache_aware_mode = "approx";  // approx | kv_events (SubscribeKvEvents)
  // Prefill/decode disaggregation: the gateway routes every request to a (prefill, decode) pair
  // and serves through pairs only (worker_urls must be empty then).
  bool pd = false;
  std::vector<PrefillWorkerConfig> prefill_workers;
  std::vector<std::string> decode_urls;
  std::string prefill_policy = "cache_aware";  // the prompt's prefix decides where it is computed
  std::string decode_policy = "power_of_two";  // decode is about balancing running batches
  std::string tool_call_parser;          // hermes | qwen25 | llama3 | qwen3_coder; "": from the template
  std::string reasoning_parser;          // qwen3 | deepseek_r1 | none; "": from the template
  std::string api_key;                   // required as "Authorization: Bearer" when set
  std::string admin_key;                 // for /workers and /flush_cache (falls back to api_key)
  int max_concurrent_requests = 256;     // running at once; more wait in a queue...
  int max_queued_requests = 1024;        // ...of this size; beyond it 429
  std::chrono::milliseconds queue_timeout{30'000};     // a queued request gives up (429) after this
  std::chrono::milliseconds request_timeout{600'000};  // whole request (worker deadline)
  std::chrono::milliseconds health_interval{2'000};
  std::chrono::milliseconds health_timeout{2'000};
  std::chrono::milliseconds shutdown_grace{10'000};
  size_t max_body_bytes = 32u << 20;
  int64_t max_prompt_tokens = 0;  // 0: the model's context length
  routing::RetryConfig retry;
};

}  // namespace tandem::gateway::server
