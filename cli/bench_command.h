// `tandem bench serving`: load against any OpenAI-compatible endpoint, SGLang's /generate, or a
// worker's gRPC service directly (bench/serving/README.md). Flags follow SGLang's bench_serving.
#pragma once

namespace CLI {
class App;
}

namespace tandem::cli {

// Registers `bench` (with the `serving` subcommand) on `app`; the callback sets the exit code.
void add_bench_command(CLI::App& app, int& exit_code);

}  // namespace tandem::cli
