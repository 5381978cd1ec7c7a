#include "cli/up_command.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/child_process.h"
#include "cli/gateway_command.h"
#include "cli/gateway_options.h"
#include "cli/stop_signals.h"
#include "common/logging.h"

namespace tandem::cli {

namespace {

bool is_yaml_bool(const std::string& v) {
  static const char* kWords[] = {"true", "false", "True", "False", "TRUE", "FALSE",
                                 "yes",  "no",    "Yes",  "No",    "on",   "off"};
  return std::find_if(std::begin(kWords), std::end(kWords),
                      [&](const char* w) { return v == w; }) != std::end(kWords);
}

}  // namespace

StatusOr<std::vector<std::vector<std::string>>> worker_args_from_yaml(
    const YAML::Node& workers, const std::string& default_log_level) {
  if (!workers.IsDefined() || !workers.IsSequence() || workers.size() == 0) {
    return invalid_argument(
        "'workers' must be a non-empty list of worker option maps, e.g. workers: [{{model: "
        "m.gguf, port: 0}}]");
  }
  std::vector<std::vector<std::string>> out;
  for (size_t i = 0; i < workers.size(); ++i) {
    const YAML::Node& entry = workers[i];
    if (!entry.IsMap()) {
      return invalid_argument("workers[{}] must be a map of worker options", i);
    }
    std::vector<std::string> args = {"worker"};
    bool has_host = false, has_port = false, has_log_level = false;
    int replicas = 1;
    for (const auto& kv : entry) {
      const std::string key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) {
        return invalid_argument("workers[{}].{} must be a single value", i, key);
      }
      std::string value = kv.second.as<std::string>();
      if (value.rfind("~/", 0) == 0 && std::getenv("HOME") != nullptr) {
        value = std::string(std::getenv("HOME")) + value.substr(1);  // no shell to expand it
      }
      if (key == "replicas") {
        try {
          replicas = std::stoi(value);
        } catch (const std::exception&) {
          replicas = 0;
        }
        if (replicas < 1 || replicas > 64) {
          return invalid_argument("workers[{}].replicas is '{}'; give a count from 1 to 64", i,
                                  value);
        }
        continue;
      }
      std::string flag = "--" + key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      has_host |= key == "host";
      has_port |= key == "port";
      has_log_level |= key == "log_level";
      if (is_yaml_bool(value)) {
        // Booleans are the worker's switches (disable_radix_cache: true): present or absent.
        if (kv.second.as<bool>()) args.push_back(flag);
        continue;
      }
      args.push_back(flag);
      args.push_back(value);
    }
    if (replicas > 1 && has_port) {
      // Several copies of one entry cannot share a fixed port; 0 picks a free one each.
      const auto it = std::find(args.begin(), args.end(), "--port");
      if (it + 1 != args.end() && *(it + 1) != "0") {
        return invalid_argument("workers[{}] has replicas: {} and port: {}; use port: 0 so each "
                                "copy gets its own port",
                                i, replicas, *(it + 1));
      }
    }
    const auto role_it = std::find(args.begin(), args.end(), "--role");
    const std::string role = role_it != args.end() && role_it + 1 != args.end() ? *(role_it + 1) : "mixed";
    if (role != "mixed" && role != "prefill" && role != "decode") {
      return invalid_argument("workers[{}].role is '{}'; use mixed, prefill or decode", i, role);
    }
    const auto bport_it = std::find(args.begin(), args.end(), "--bootstrap-port");
    if (bport_it != args.end() && role != "prefill") {
      return invalid_argument("workers[{}] has a bootstrap_port but role {}; only prefill workers "
                              "take one", i, role);
    }
    if (role == "prefill" && bport_it == args.end()) {
      args.insert(args.end(), {"--bootstrap-port", "0"});  // any free port; read from its banner
    } else if (replicas > 1 && bport_it != args.end() && bport_it + 1 != args.end() &&
               *(bport_it + 1) != "0") {
      return invalid_argument("workers[{}] has replicas: {} and bootstrap_port: {}; use 0 (or "
                              "leave it out) so each copy gets its own port",
                              i, replicas, *(bport_it + 1));
    }
    if (!has_host) args.insert(args.end(), {"--host", "127.0.0.1"});
    if (!has_port) args.insert(args.end(), {"--port", "0"});
    if (!has_log_level) args.insert(args.end(), {"--log-level", default_log_level});
    for (int r = 0; r < replicas; ++r) out.push_back(args);
  }
  return out;
}

std::string worker_role_in(const std::vector<std::string>& args) {
  const auto it = std::find(args.begin(), args.end(), "--role");
  return it != args.end() && it + 1 != args.end() ? *(it + 1) : "mixed";
}

Status check_roles(const std::vector<std::vector<std::string>>& worker_args, bool extra_mixed_urls) {
  size_t mixed = extra_mixed_urls ? 1 : 0, prefill = 0, decode = 0;
  for (const auto& args : worker_args) {
    const std::string role = worker_role_in(args);
    mixed += role == "mixed";
    prefill += role == "prefill";
    decode += role == "decode";
  }
  if (prefill + decode == 0) return Status::Ok();
  if (mixed > 0) {
    return invalid_argument("the cluster mixes role mixed workers with prefill/decode ones; a PD "
                            "gateway serves through pairs only, so give every worker a role "
                            "prefill or decode (or none)");
  }
  if (prefill == 0 || decode == 0) {
    return invalid_argument("a PD cluster needs at least one prefill and one decode worker; the "
                            "file has {} prefill and {} decode",
                            prefill, decode);
  }
  return Status::Ok();
}

namespace {

int run_up(CLI::App& cmd, GatewayOptions& o) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(o.config_file);
  } catch (const std::exception& e) {
    fmt::print(stderr, "tandem up: cannot read cluster file '{}': {}\n", o.config_file, e.what());
    return 2;
  }
  if (!root.IsMap()) {
    fmt::print(stderr, "tandem up: cluster file '{}' must be a YAML map with 'workers' and "
                       "'gateway'\n", o.config_file);
    return 2;
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (key != "workers" && key != "gateway") {
      fmt::print(stderr, "tandem up: cluster file '{}': unknown top-level key '{}' (expected "
                         "'workers' and 'gateway')\n", o.config_file, key);
      return 2;
    }
  }
  if (Status st = apply_gateway_yaml_map(cmd, o, root["gateway"], o.config_file + ": gateway");
      !st.ok()) {
    fmt::print(stderr, "tandem up: {}\n", st.to_string());
    return 2;
  }
  auto worker_args = worker_args_from_yaml(root["workers"], o.log_level);
  if (!worker_args.ok()) {
    fmt::print(stderr, "tandem up: cluster file '{}': {}\n", o.config_file,
               worker_args.status().to_string());
    return 2;
  }
  if (Status st = check_roles(*worker_args, !o.config.worker_urls.empty()); !st.ok()) {
    fmt::print(stderr, "tandem up: cluster file '{}': {}\n", o.config_file, st.to_string());
    return 2;
  }
  init_logging(o.log_level, "up");
  if (Status st = install_stop_signals(); !st.ok()) {
    fmt::print(stderr, "tandem up: {}\n", st.to_string());
    return 1;
  }

  // All workers load their models at once; then each one's address is collected in order.
  std::vector<std::unique_ptr<ChildProcess>> children;
  const std::vector<std::vector<std::string>>& child_args = *worker_args;
  for (size_t i = 0; i < worker_args->size(); ++i) {
    // A worker with `tp: N` (N > 1) is an MPI job: mpirun -np N tandem worker --tp N ...
    std::vector<std::string>& args = (*worker_args)[i];
    int tp = 1, threads = 0;
    size_t threads_at = 0;  // index of --threads' value, 0 = not given
    for (size_t a = 0; a + 1 < args.size(); ++a) {
      if (args[a] == "--tp") tp = std::atoi(args[a + 1].c_str());
      if (args[a] == "--threads") threads = std::atoi(args[(threads_at = a + 1)].c_str());
    }
    std::vector<std::string> launcher;
    if (tp > 1) {
      auto l = mpirun_launcher("mpirun", tp, threads_per_rank(threads, tp));
      if (!l.ok()) {
        fmt::print(stderr, "tandem up: worker {}: {}\n", i, l.status().to_string());
        return 2;
      }
      launcher = std::move(l).value();
      // --threads 0 (all cores) per rank would oversubscribe: each rank gets its share.
      const std::string per_rank = std::to_string(threads_per_rank(threads, tp));
      if (threads_at) {
        args[threads_at] = per_rank;
      } else {
        args.insert(args.end(), {"--threads", per_rank});
      }
    }
    auto child = ChildProcess::spawn(args, fmt::format("worker {}", i), launcher);
    if (!child.ok()) {
      fmt::print(stderr, "tandem up: {}\n", child.status().to_string());
      return 1;  // the children already started are stopped by their destructors
    }
    children.push_back(std::move(child).value());
  }
  for (auto& child : children) {
    auto address = child->wait_for_address(kWorkerStartTimeout);
    if (!address.ok()) {
      fmt::print(stderr, "tandem up: {}; stopping the other workers\n",
                 address.status().to_string());
      for (auto& c : children) c->request_stop();
      return 1;
    }
    const std::string role = worker_role_in(child_args[&child - &children[0]]);
    if (role == "prefill") {
      gateway::server::PrefillWorkerConfig p;
      p.url = *address;
      p.bootstrap_port = child->bootstrap_port();  // else the gateway asks GetServerInfo
      o.config.prefill_workers.push_back(p);
      o.config.pd = true;
    } else if (role == "decode") {
      o.config.decode_urls.push_back(*address);
      o.config.pd = true;
    } else {
      o.config.worker_urls.push_back(*address);
    }
  }
  const int code = serve_gateway(o, "tandem up");
  for (auto& child : children) child->request_stop();  // all stop in parallel
  for (auto& child : children) child->terminate(ChildProcess::kDefaultGrace);
  return code;
}

}  // namespace

void add_up_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<GatewayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "up", "Start the workers and the gateway a cluster YAML file describes (see deploy/)");
  add_gateway_options(*cmd, *o, /*with_workers=*/true);
  cmd->get_option("--config")->required()->description(
      "Cluster YAML: 'workers' (list of worker option maps) and 'gateway' (gateway options); "
      "gateway flags given here override the file");
  cmd->callback([cmd, o, &exit_code] { exit_code = run_up(*cmd, *o); });
}

}  // namespace tandem::cli
