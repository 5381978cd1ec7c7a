#include "cli/gateway_options.h"

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

namespace tandem::cli {

void add_gateway_options(CLI::App& cmd, GatewayOptions& o, bool with_workers) {
  gateway::server::GatewayConfig& c = o.config;
  cmd.add_option("-c,--config", o.config_file, "YAML file with any of these options (keys as "
                                                "the long flag names with '_' for '-')");
  cmd.add_option("--host", c.host, "HTTP address")->envname("TANDEM_HOST")->capture_default_str();
  cmd.add_option("--port", c.port, "HTTP port (OpenAI API)")->envname("TANDEM_PORT")
      ->capture_default_str();
  if (with_workers) {
    cmd.add_option("--worker-urls,--workers", c.worker_urls, "Workers' gRPC addresses host:port")
        ->envname("TANDEM_WORKER_URLS")->delimiter(',');
  }
  cmd.add_flag("--pd", c.pd,
               with_workers ? "Prefill/decode disaggregation: route every request to a prefill + "
                              "decode pair (workers from --prefill / --decode or the admin API)"
                            : "Start one prefill and one decode worker instead of one mixed worker")
      ->envname("TANDEM_PD");
  if (with_workers) {
    cmd.add_option("--prefill", o.prefill,
                   "PD prefill worker 'host:port[,bootstrap_port]' (repeat the flag; the "
                   "environment variable takes a space-separated list)")
        ->envname("TANDEM_PREFILL")->delimiter(' ');
    cmd.add_option("--decode,--decode-urls", c.decode_urls, "PD decode workers' gRPC addresses host:port")
        ->envname("TANDEM_DECODE")->delimiter(',');
  }
  cmd.add_option("--prefill-policy", c.prefill_policy, "PD: routing policy of the prefill pool")
      ->envname("TANDEM_PREFILL_POLICY")->capture_default_str();
  cmd.add_option("--decode-policy", c.decode_policy, "PD: routing policy of the decode pool")
      ->envname("TANDEM_DECODE_POLICY")->capture_default_str();
  cmd.add_option("--cache-aware-mode", c.cache_aware_mode,
                 "cache_aware learns worker caches by 'approx' (what it routed) or 'kv_events' "
                 "(the workers' radix-cache events)")
      ->envname("TANDEM_CACHE_AWARE_MODE")->check(CLI::IsMember({"approx", "kv_events"}))
      ->capture_default_str();
  cmd.add_option("--policy", c.policy,
                 "Routing: cache_aware, round_robin, random, power_of_two, consistent_hash")
      ->envname("TANDEM_POLICY")->capture_default_str();
  cmd.add_option("--tool-call-parser", c.tool_call_parser,
                 "hermes, qwen25, llama3 or qwen3_coder (default: guessed from the chat template)")
      ->envname("TANDEM_TOOL_CALL_PARSER")
      ->check(CLI::IsMember({"", "hermes", "qwen25", "llama3", "qwen3_coder"}));
  cmd.add_option("--reasoning-parser", c.reasoning_parser,
                 "qwen3, deepseek_r1 or none (default: qwen3 when the template uses <think>)")
      ->envname("TANDEM_REASONING_PARSER")->check(CLI::IsMember({"", "qwen3", "deepseek_r1", "none"}));
  cmd.add_option("--api-key", c.api_key, "Require 'Authorization: Bearer KEY' for inference")
      ->envname("TANDEM_API_KEY");
  cmd.add_option("--admin-key", c.admin_key, "Key for /workers and /flush_cache (default: api key)")
      ->envname("TANDEM_ADMIN_KEY");
  cmd.add_option("--max-concurrent-requests", c.max_concurrent_requests)
      ->envname("TANDEM_MAX_CONCURRENT_REQUESTS")->capture_default_str();
  cmd.add_option("--max-queued-requests", c.max_queued_requests, "Beyond this, 429")
      ->envname("TANDEM_MAX_QUEUED_REQUESTS")->capture_default_str();
  cmd.add_option("--queue-timeout", o.queue_timeout_s,
                 "Seconds a request may wait for one of the concurrent places before a 429")
      ->envname("TANDEM_QUEUE_TIMEOUT")->capture_default_str();
  cmd.add_option("--request-timeout", o.request_timeout_s, "Seconds per request")
      ->envname("TANDEM_REQUEST_TIMEOUT")->capture_default_str();
  cmd.add_option("--max-body-bytes", c.max_body_bytes)->envname("TANDEM_MAX_BODY_BYTES")
      ->capture_default_str();
  cmd.add_option("--max-prompt-tokens", c.max_prompt_tokens, "0 = the model's context")
      ->envname("TANDEM_MAX_PROMPT_TOKENS")->capture_default_str();
  cmd.add_option("--io-threads", c.io_threads)->envname("TANDEM_IO_THREADS")->capture_default_str();
  cmd.add_option("--shutdown-grace", o.shutdown_grace_s, "Seconds streams get to finish on SIGTERM")
      ->envname("TANDEM_SHUTDOWN_GRACE")->capture_default_str();
  cmd.add_option("--log-level", o.log_level, "trace|debug|info|warn|error|off")
      ->envname("TANDEM_LOG_LEVEL")->capture_default_str();
}

StatusOr<gateway::server::PrefillWorkerConfig> parse_prefill_entry(const std::string& entry) {
  gateway::server::PrefillWorkerConfig p;
  const size_t comma = entry.find(',');
  p.url = entry.substr(0, comma);
  if (p.url.find(':') == std::string::npos) {
    return invalid_argument("prefill worker '{}' must be host:port[,bootstrap_port]", entry);
  }
  if (comma != std::string::npos) {
    const std::string port = entry.substr(comma + 1);
    int value = 0;
    const bool digits = !port.empty() && port.size() <= 5 &&
                        port.find_first_not_of("0123456789") == std::string::npos;
    if (digits) value = std::stoi(port);
    if (!digits || value < 1 || value > 65535) {
      return invalid_argument("prefill worker '{}': bootstrap port '{}' must be a number from 1 to "
                              "65535 (or leave it out to use the port the worker reports)",
                              entry, port);
    }
    p.bootstrap_port = static_cast<uint16_t>(value);
  }
  return p;
}

Status apply_gateway_yaml(CLI::App& cmd, GatewayOptions& o) {
  YAML::Node root;
  if (!o.config_file.empty()) {
    try {
      root = YAML::LoadFile(o.config_file);
    } catch (const std::exception& e) {
      return invalid_argument("cannot read config file '{}': {}", o.config_file, e.what());
    }
  }
  return apply_gateway_yaml_map(cmd, o, root, o.config_file);
}

Status apply_gateway_yaml_map(CLI::App& cmd, GatewayOptions& o, const YAML::Node& root,
                              const std::string& where) {
  if (root.IsDefined() && !root.IsNull()) {
    if (!root.IsMap()) return invalid_argument("config '{}' must be a YAML map", where);
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      std::string flag = "--" + key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      CLI::Option* opt = nullptr;
      try {
        opt = cmd.get_option(flag);
      } catch (const CLI::OptionNotFound&) {
        return invalid_argument("config '{}': unknown key '{}'", where, key);
      }
      if (opt->count() > 0) continue;  // the command line or the environment set it
      try {
        if (kv.second.IsSequence()) {
          std::vector<std::string> values;
          for (const auto& v : kv.second) {
            if (v.IsMap() && v["url"]) {
              // prefill: [{url: host:port, bootstrap_port: 8998}]
              std::string entry = v["url"].as<std::string>();
              if (v["bootstrap_port"] && !v["bootstrap_port"].IsNull()) {
                entry += "," + v["bootstrap_port"].as<std::string>();
              }
              values.push_back(entry);
              continue;
            }
            values.push_back(v.as<std::string>());
          }
          for (const auto& v : values) opt->add_result(v);
        } else {
          opt->add_result(kv.second.as<std::string>());
        }
        opt->run_callback();
      } catch (const std::exception& e) {
        return invalid_argument("config '{}': bad value for '{}': {}", where, key, e.what());
      }
    }
  }
  o.config.prefill_workers.clear();
  for (const std::string& entry : o.prefill) {
    if (entry.empty()) continue;
    ASSIGN_OR_RETURN(gateway::server::PrefillWorkerConfig p, parse_prefill_entry(entry));
    o.config.prefill_workers.push_back(std::move(p));
  }
  if (!o.config.prefill_workers.empty() || !o.config.decode_urls.empty()) o.config.pd = true;
  o.config.request_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.request_timeout_s * 1000));
  if (!(o.queue_timeout_s >= 0)) return invalid_argument("--queue-timeout must be >= 0 seconds, got {}", o.queue_timeout_s);
  o.config.queue_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.queue_timeout_s * 1000));
  o.config.shutdown_grace = std::chrono::milliseconds(static_cast<int64_t>(o.shutdown_grace_s * 1000));
  return Status::Ok();
}

}  // namespace tandem::cli
