// `tandem up -c cluster.yaml`: starts the topology a YAML file describes on this machine — each
// entry of `workers:` as a `tandem worker` child process, then the gateway in this process over
// their addresses (plus any `worker_urls` the gateway section lists) — and stops it all on
// SIGINT/SIGTERM. File format: deploy/README.md.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace CLI {
class App;
}
namespace YAML {
class Node;
}

namespace tandem::cli {

// The `tandem worker` argument lists for the `workers:` section (a YAML sequence of maps, keys
// being the worker's long flag names with '_' for '-'; `replicas: N` repeats an entry). Workers
// listen on 127.0.0.1 and port 0 unless the entry says otherwise; `default_log_level` applies
// where an entry sets none. kInvalidArgument, naming the entry and key, for a malformed section.
StatusOr<std::vector<std::vector<std::string>>> worker_args_from_yaml(
    const YAML::Node& workers, const std::string& default_log_level);

// The --role an argument list gives ("mixed" when none).
std::string worker_role_in(const std::vector<std::string>& args);
// A cluster is mixed (no roles) or PD (prefill and decode workers, at least one of each, no mixed
// ones: a PD gateway serves through pairs only). kInvalidArgument saying what is wrong otherwise.
Status check_roles(const std::vector<std::vector<std::string>>& worker_args, bool extra_mixed_urls);

// Registers the subcommand on `app`; the callback runs it and sets the exit code.
void add_up_command(CLI::App& app, int& exit_code);

}  // namespace tandem::cli
