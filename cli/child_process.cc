#include "cli/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace tandem::cli {

using Clock = std::chrono::steady_clock;

std::string listening_address(const std::string& line) {
  const std::string marker = "listening on ";
  const size_t at = line.find(marker);
  if (at == std::string::npos) return "";
  std::string addr = line.substr(at + marker.size());
  addr = addr.substr(0, addr.find_first_of(" \r\n"));
  if (const size_t scheme = addr.find("://"); scheme != std::string::npos) {
    addr = addr.substr(scheme + 3);
  }
  if (addr.find(':') == std::string::npos) return "";
  // A worker bound to every interface is reached through loopback from this host.
  if (addr.rfind("0.0.0.0:", 0) == 0) addr = "127.0.0.1" + addr.substr(7);
  return addr;
}

std::optional<std::string> find_on_path(const std::string& program) {
  if (program.empty()) return std::nullopt;
  if (program.find('/') != std::string::npos) {
    return access(program.c_str(), X_OK) == 0 ? std::optional<std::string>(program) : std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::spawn(std::vector<std::string> args,
                                                            std::string label,
                                                            std::vector<std::string> launcher) {
  std::string program = "/proc/self/exe";
  if (launcher.empty()) {
    args.insert(args.begin(), "tandem");  // argv[0], what ps shows; the binary is /proc/self/exe
  } else {
    char self[4096];
    const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
      return internal_error("cannot resolve this executable's path for {}: {}", label, std::strerror(errno));
    }
    args.insert(args.begin(), std::string(self, static_cast<size_t>(len)));
    args.insert(args.begin(), launcher.begin(), launcher.end());
    program = launcher[0];
  }
  // argv is built before fork: between fork and exec only async-signal-safe calls are allowed
  // (gRPC or the gateway may have threads running).
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    return internal_error("cannot create a pipe for {}: {}", label, std::strerror(errno));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(out[0]);
    close(out[1]);
    return internal_error("cannot fork {}: {}", label, std::strerror(err));
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);  // dup2 clears close-on-exec on the copy
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);  // the parent died before prctl took effect
    // Our stop-signal handlers would be reset by exec anyway; a blocked mask would not.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, out[0], std::move(label)));
}

ChildProcess::~ChildProcess() { terminate(kDefaultGrace); }

std::optional<uint16_t> bootstrap_port_in(const std::string& line) {
  const std::string marker = "bootstrap ";
  const size_t at = line.find(marker);
  if (at == std::string::npos) return std::nullopt;
  std::string addr = line.substr(at + marker.size());
  addr = addr.substr(0, addr.find_first_of(" \r\n,)"));
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  const std::string digits = addr.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const int port = std::stoi(digits);
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

StatusOr<std::string> ChildProcess::wait_for_address(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::string buffer;
  std::string address;
  bool eof = false;
  while (address.empty() && !eof) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{out_fd_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (ready < 0 && errno != EINTR) {
      return internal_error("cannot read the output of {}: {}", label_, std::strerror(errno));
    }
    if (ready <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(out_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while (address.empty() && (nl = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, nl + 1);
      buffer.erase(0, nl + 1);
      std::fputs(line.c_str(), stdout);
      address = listening_address(line);
      if (!address.empty()) bootstrap_port_ = bootstrap_port_in(line);
    }
  }
  std::fflush(stdout);
  if (!address.empty()) {
    pending_ = std::move(buffer);
    relay_ = std::thread([this] { relay(); });
    return address;
  }
  if (!buffer.empty()) std::fputs(buffer.c_str(), stdout);
  if (eof) {
    // Its output ended: it is exiting. Give it a moment so the exit code is its own.
    try_reap(std::chrono::milliseconds(2000));
    const int status = terminate(std::chrono::milliseconds(1000));
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return make_status(StatusCode::kUnavailable,
                       "{} exited with code {} before listening; see its messages above (is the "
                       "model path right?)",
                       label_, code);
  }
  terminate(std::chrono::milliseconds(2000));
  return make_status(StatusCode::kDeadlineExceeded,
                     "{} printed no 'listening on' line within {} s; stopped it", label_,
                     timeout.count() / 1000.0);
}

void ChildProcess::relay() {
  if (!pending_.empty()) std::fwrite(pending_.data(), 1, pending_.size(), stdout);
  std::fflush(stdout);
  char chunk[4096];
  while (true) {
    const ssize_t n = read(out_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::fwrite(chunk, 1, static_cast<size_t>(n), stdout);
    std::fflush(stdout);
  }
  // Unexpected when nobody asked it to stop: say so, since the gateway will see it fail.
  if (!stopping_) std::fprintf(stderr, "%s exited (its output ended)\n", label_.c_str());
}

void ChildProcess::request_stop() {
  stopping_ = true;
  if (!reaped_) kill(pid_, SIGTERM);  // a zombie not yet reaped ignores it harmlessly
}

bool ChildProcess::try_reap(std::chrono::milliseconds wait) {
  if (reaped_) return true;
  const Clock::time_point give_up = Clock::now() + wait;
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_ || done < 0) {  // < 0: not our child any more; nothing to wait for
      reaped_ = true;
      wait_status_ = done == pid_ ? status : 0;
      return true;
    }
    if (Clock::now() >= give_up) return false;
    usleep(20'000);
  }
}

int ChildProcess::terminate(std::chrono::milliseconds grace) {
  stopping_ = true;
  if (!try_reap(std::chrono::milliseconds(0))) {
    kill(pid_, SIGTERM);
    if (!try_reap(grace)) {
      std::fprintf(stderr, "%s did not stop within %.1f s of SIGTERM; killing it\n",
                   label_.c_str(), grace.count() / 1000.0);
      kill(pid_, SIGKILL);
      int status = 0;
      wait_status_ = waitpid(pid_, &status, 0) == pid_ ? status : 0;
      reaped_ = true;
    }
  }
  // The child is gone, so the pipe reaches end-of-file and the relay ends.
  if (relay_.joinable()) relay_.join();
  if (out_fd_ >= 0) {
    close(out_fd_);
    out_fd_ = -1;
  }
  return wait_status_;
}

int cores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

int threads_per_rank(int threads, int tp) { return tp > 1 && threads == 0 ? std::max(1, cores() / tp) : threads; }

// The mpirun command line that starts a TP worker of `tp` ranks on this host (Open MPI flags).
// --oversubscribe: a container may report fewer slots than cores; --bind-to none: Open MPI pins
// each rank of a small job to one core, which would put all of a rank's compute threads on it; as
// root Open MPI refuses to run without --allow-run-as-root; when ranks x threads exceed the cores,
// waiting ranks must yield.
StatusOr<std::vector<std::string>> mpirun_launcher(const std::string& mpirun, int tp, int threads) {
  const std::optional<std::string> path = find_on_path(mpirun);
  if (!path) {
    return invalid_argument("--tp {} starts the worker as an MPI job, but '{}' is not an executable on PATH; install "
                            "Open MPI (Debian: openmpi-bin) or give its path with --mpirun",
                            tp, mpirun);
  }
  std::vector<std::string> launcher = {*path, "-np", std::to_string(tp), "--oversubscribe", "--bind-to", "none"};
  if (geteuid() == 0) launcher.push_back("--allow-run-as-root");
  if (tp * threads > cores()) {
    launcher.insert(launcher.end(), {"--mca", "mpi_yield_when_idle", "1"});
  }
  return launcher;
}


}  // namespace tandem::cli
