// `tandem gateway` (the OpenAI-compatible HTTP front over gRPC workers) and `tandem serve` (a
// gateway plus one worker process on this machine, zero configuration).
#pragma once

#include <chrono>
#include <string>

namespace CLI {
class App;
}

namespace tandem::cli {

struct GatewayOptions;

// How long `serve` and `up` wait for a worker child's "listening on" line (model load included).
inline constexpr std::chrono::milliseconds kWorkerStartTimeout{300'000};

// Starts the gateway in this process, prints "<banner> listening on http://HOST:PORT (OpenAI API
// under /v1)", serves until SIGINT/SIGTERM (install_stop_signals first), then shuts down
// gracefully. Returns the exit code. Main thread.
int serve_gateway(GatewayOptions& o, const std::string& banner);

void add_gateway_command(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);

}  // namespace tandem::cli
