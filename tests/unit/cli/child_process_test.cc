// ChildProcess with a launcher (what `tandem serve --tp N` does with mpirun): the launcher gets
// this executable's real path and the subcommand's arguments. A shell stands in for mpirun: it
// records its arguments, prints a listening line, and waits to be stopped.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "cli/child_process.h"

namespace tandem::cli {
namespace {

std::string self_path() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

TEST(FindOnPath, FindsShellAndRejectsMissing) {
  const auto sh = find_on_path("sh");
  ASSERT_TRUE(sh.has_value());
  EXPECT_EQ(access(sh->c_str(), X_OK), 0);
  EXPECT_EQ(sh->back(), 'h');
  EXPECT_FALSE(find_on_path("tandem-no-such-program-xyz").has_value());
  EXPECT_FALSE(find_on_path("/nonexistent/dir/mpirun").has_value());
  EXPECT_FALSE(find_on_path("").has_value());
  EXPECT_EQ(find_on_path(*sh), sh);  // a path is checked as is
}

TEST(ChildProcessLauncher, LauncherGetsTheRealExecutableAndArguments) {
  const std::string record = ::testing::TempDir() + "/launcher_args_" + std::to_string(getpid());
  const auto sh = find_on_path("sh");
  ASSERT_TRUE(sh.has_value());
  // sh -c SCRIPT ARG0 ARGS...: $0 is this binary's path, $@ the worker arguments.
  const std::string script = "echo \"$0 $*\" > '" + record + "'; echo 'fake listening on 127.0.0.1:4321'; exec sleep 30";
  auto child = ChildProcess::spawn({"worker", "--tp", "2"}, "launched worker", {*sh, "-c", script});
  ASSERT_TRUE(child.ok()) << child.status().to_string();
  auto address = (*child)->wait_for_address(std::chrono::seconds(20));
  ASSERT_TRUE(address.ok()) << address.status().to_string();
  EXPECT_EQ(*address, "127.0.0.1:4321");
  (*child)->terminate(std::chrono::milliseconds(2000));
  std::ifstream in(record);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), self_path() + " worker --tp 2\n");
  std::remove(record.c_str());
}

}  // namespace
}  // namespace tandem::cli
