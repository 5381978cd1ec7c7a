// The gateway's flags, each with a TANDEM_* environment variable and a key in the YAML file
// given with -c (precedence: flag > environment > YAML > default). Start-up only.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/server/gateway_config.h"

namespace CLI {
class App;
}
namespace YAML {
class Node;
}

namespace tandem::cli {

struct GatewayOptions {
  gateway::server::GatewayConfig config;
  std::string config_file;
  std::string log_level = "info";
  double request_timeout_s = 600;
  double queue_timeout_s = 30;
  double shutdown_grace_s = 10;
  std::vector<std::string> prefill;  // --prefill "URL[,BOOTSTRAP_PORT]" entries, parsed into config
};

// "host:port" or "host:port,bootstrap_port" → a prefill worker; kInvalidArgument otherwise.
StatusOr<gateway::server::PrefillWorkerConfig> parse_prefill_entry(const std::string& entry);

void add_gateway_options(CLI::App& cmd, GatewayOptions& o, bool with_workers);
// Applies the YAML file's keys to every option the command line and environment left unset.
Status apply_gateway_yaml(CLI::App& cmd, GatewayOptions& o);
// The same for a map already parsed (`where` names it in errors); `tandem up` passes the cluster
// file's `gateway:` section. An undefined or null node applies nothing.
Status apply_gateway_yaml_map(CLI::App& cmd, GatewayOptions& o, const YAML::Node& map,
                              const std::string& where);

}  // namespace tandem::cli
