// `tandem gateway` (the OpenAI-compatible HTTP front over gRPC workers) and `tandem serve` (a
// gateway plus one worker process on this machine, zero configuration).
#pragma once

namespace CLI {
class App;
}

namespace tandem::cli {

void add_gateway_command(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);

}  // namespace tandem::cli
