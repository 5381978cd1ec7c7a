#include "cli/stop_signals.h"

#include <signal.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tandem::cli {

namespace {

int g_stop_pipe[2] = {-1, -1};

void on_stop_signal(int signo) {
  const unsigned char b = static_cast<unsigned char>(signo);
  [[maybe_unused]] ssize_t n = write(g_stop_pipe[1], &b, 1);  // async-signal-safe
}

}  // namespace

Status install_stop_signals() {
  if (g_stop_pipe[0] >= 0) return Status::Ok();
  if (pipe2(g_stop_pipe, O_CLOEXEC) != 0) {
    return internal_error("cannot create the signal pipe: {}", std::strerror(errno));
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return Status::Ok();
}

int wait_for_stop_signal() {
  unsigned char sig = 0;
  while (read(g_stop_pipe[0], &sig, 1) != 1) {
  }
  return sig;
}

const char* stop_signal_name(int signo) { return signo == SIGINT ? "SIGINT" : "SIGTERM"; }

}  // namespace tandem::cli
