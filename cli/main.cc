// The `tandem` binary: one executable, one subcommand per process role or tool.
#include <CLI/CLI.hpp>

#include "cli/bench_command.h"
#include "cli/generate_command.h"
#include "cli/gateway_command.h"
#include "cli/up_command.h"
#include "cli/worker_command.h"

int main(int argc, char** argv) {
  CLI::App app{"Tandem: a distributed LLM serving cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tandem 0.1.0");
  int exit_code = 0;
  tandem::cli::add_generate_command(app, exit_code);
  tandem::cli::add_worker_command(app, exit_code);
  tandem::cli::add_gateway_command(app, exit_code);
  tandem::cli::add_serve_command(app, exit_code);
  tandem::cli::add_up_command(app, exit_code);
  tandem::cli::add_bench_command(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
