// ChildProcess: a `tandem` subcommand (normally `tandem worker --port 0 ...`) run as a child of
// this process. The child's stdout comes through a pipe: it is scanned for the
// "... listening on HOST:PORT ..." line the worker prints once it serves, and every line
// (before and after) is relayed to our stdout so its messages stay visible. The child gets
// SIGTERM when this process dies (PR_SET_PDEATHSIG), so a killed `tandem serve`/`tandem up`
// leaves no orphaned workers behind.
//
// Threads: spawn, wait_for_address and terminate from one thread (the CLI's main thread: the
// parent-death signal is tied to the thread that forked). The relay runs on its own thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace tandem::cli {

class ChildProcess {
 public:
  // Forks and execs this executable (/proc/self/exe) with `args` (args[0] is the subcommand,
  // e.g. "worker"). `label` names the child in messages ("worker 1"). With a `launcher` (e.g.
  // {"/usr/bin/mpirun", "-np", "2"}) the child is launcher[0] (a path: resolve it beforehand, as
  // find_on_path does), run with launcher[1..], this
  // executable's resolved path and `args`: a launcher starts its own processes, so they need the
  // real path, not /proc/self/exe. The launcher must relay its children's stdout (mpirun does).
  static StatusOr<std::unique_ptr<ChildProcess>> spawn(std::vector<std::string> args,
                                                       std::string label,
                                                       std::vector<std::string> launcher = {});
  ~ChildProcess();  // terminate(kDefaultGrace) if still running

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads the child's output until its "listening on HOST:PORT" line and returns "HOST:PORT"
  // (a wildcard host 0.0.0.0 is given as 127.0.0.1, the address this host can dial). Starts
  // relaying the rest of the output. kUnavailable when the child exits first, kDeadlineExceeded
  // after `timeout`. Call once.
  StatusOr<std::string> wait_for_address(std::chrono::milliseconds timeout);

  // Sends SIGTERM without waiting, so several children stop in parallel; terminate() then reaps.
  void request_stop();

  // SIGTERM, then SIGKILL if the child is still alive after `grace`; reaps it and joins the
  // relay. Returns the child's wait status (as waitpid gives it). Idempotent.
  int terminate(std::chrono::milliseconds grace);

  // A prefill worker's KV bootstrap port, from its listening line ("..., bootstrap HOST:PORT");
  // nullopt for other workers. Valid after wait_for_address succeeded.
  std::optional<uint16_t> bootstrap_port() const { return bootstrap_port_; }

  pid_t pid() const { return pid_; }
  const std::string& label() const { return label_; }

  static constexpr std::chrono::milliseconds kDefaultGrace{10'000};

 private:
  ChildProcess(pid_t pid, int out_fd, std::string label)
      : pid_(pid), out_fd_(out_fd), label_(std::move(label)) {}
  void relay();  // copies the remaining output to stdout, on relay_
  // Waits up to `wait` for the child to exit, without signalling it; true once reaped.
  bool try_reap(std::chrono::milliseconds wait);

  pid_t pid_;
  int out_fd_;               // read end of the child's stdout pipe
  std::string label_;
  std::string pending_;      // output read past the listening line, relayed first
  std::thread relay_;
  std::atomic<bool> stopping_{false};  // terminate() began: the output ending is expected
  std::optional<uint16_t> bootstrap_port_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

// The full path of `program` (a name looked up in $PATH, or a path checked as is); nullopt when no
// executable file is found.
std::optional<std::string> find_on_path(const std::string& program);

// "HOST:PORT" from a line containing "listening on HOST:PORT" (an optional scheme such as
// "http://" is dropped, 0.0.0.0 becomes 127.0.0.1); empty when the line has none.
std::string listening_address(const std::string& line);
// The port of "bootstrap HOST:PORT" in a prefill worker's listening line; nullopt when absent.
std::optional<uint16_t> bootstrap_port_in(const std::string& line);

// Tensor-parallel worker children (serve --tp, up with `tp:`): the mpirun command line that starts
// `tp` ranks on this host, and the compute threads per rank (`threads` 0 = the cores shared out).
int threads_per_rank(int threads, int tp);
StatusOr<std::vector<std::string>> mpirun_launcher(const std::string& mpirun, int tp, int threads);

}  // namespace tandem::cli
