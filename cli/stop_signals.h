// SIGINT/SIGTERM for long-running subcommands (worker, gateway, serve). The handler only writes
// the signal number into a self-pipe, so it is safe whichever thread the kernel picks (gRPC starts
// threads before main, so masking signals in main cannot steer delivery); the main thread waits.
#pragma once

#include "common/status.h"

namespace tandem::cli {

// Installs the handlers. Call once, early in the subcommand.
Status install_stop_signals();
// Blocks until SIGINT or SIGTERM arrives; returns its number.
int wait_for_stop_signal();
const char* stop_signal_name(int signo);

}  // namespace tandem::cli
