// `tandem worker`: load a model, run the engine, serve SGLang's scheduler gRPC protocol until
// SIGINT/SIGTERM. Prints "tandem worker listening on HOST:PORT (grpc)" on stdout once ready (tests
// and `tandem serve` wait for that line); a --role prefill worker prints
// "tandem worker listening on HOST:PORT (grpc), bootstrap HOST:BPORT" (its ZeroMQ KV endpoint).
#pragma once

namespace CLI {
class App;
}

namespace tandem::cli {

// Registers the subcommand on `app`; the callback runs it and sets the exit code.
void add_worker_command(CLI::App& app, int& exit_code);

}  // namespace tandem::cli
