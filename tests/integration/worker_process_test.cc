// `tandem worker` as users run it: the real binary on port 0 with the default model, driven through
// gateway::client::WorkerClient. Covers the ready line, GetTokenizer → a working tokenizer, a
// greedy generation, cancellation freeing the KV pool, and graceful SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "gateway/client/worker_client.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "sglang_scheduler.pb.h"
#include "tests/support/test_paths.h"
#include "worker/model/loader/gguf_file.h"

namespace tandem {
namespace {

namespace pb = ::sglang::grpc::scheduler;
using gateway::client::WorkerClient;

std::string tandem_binary() {
  const char* b = std::getenv("TANDEM_BUILD_DIR");
  return std::string(b ? b : "build") + "/cli/tandem";
}

// A child process whose stdout we read line by line until the ready line.
class WorkerProcess {
 public:
  ~WorkerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // Returns "host:port" from "tandem worker listening on HOST:PORT (grpc)", or "" on timeout/exit.
  std::string start(std::vector<std::string> args, std::chrono::seconds timeout) {
    int fds[2];
    if (pipe(fds) != 0) return "";
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string buf;
    const std::regex ready(R"(tandem worker listening on (\S+):(\d+) \(grpc\))");
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char chunk[256];
      const ssize_t n = read(out_, chunk, sizeof(chunk));
      if (n <= 0) return "";  // exited
      buf.append(chunk, static_cast<size_t>(n));
      std::smatch m;
      if (std::regex_search(buf, m, ready)) return m[1].str() + ":" + m[2].str();
    }
    return "";
  }

  // SIGTERM and wait; the exit status, or -1 if it did not exit within `timeout`.
  int terminate(std::chrono::seconds timeout) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

TEST(WorkerProcess, ServesGenerateCancelsAndShutsDownGracefully) {
  const std::string model = tandem::testing::default_model_path();
  ASSERT_TRUE(std::ifstream(model).good()) << "default model missing at " << model << "; run scripts/setup.sh";
  WorkerProcess proc;
  const std::string target = proc.start({tandem_binary(), "worker", "--model", model, "--port", "0", "--threads",
                                         "2", "--kv-slots", "4096", "--shutdown-grace", "0.5", "--log-level", "warn"},
                                        std::chrono::seconds(120));
  ASSERT_FALSE(target.empty()) << "no ready line from " << tandem_binary();
  auto client = WorkerClient::connect(target);

  auto health = client->health_check().get();
  ASSERT_TRUE(health.ok()) << health.status().to_string();
  EXPECT_TRUE(health->healthy());
  auto info = client->get_model_info().get();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->vocab_size(), 49152);
  EXPECT_GT(info->max_context_length(), 0);

  // The gateway path: the tokenizer comes from the worker, not from a local copy.
  auto files = client->get_tokenizer().get();
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  // The HF files made from the GGUF (for SMG), then the tokenizer-only GGUF our gateway loads.
  ASSERT_EQ(files->files.size(), 5u);
  ASSERT_EQ(files->files.back().name, "tokenizer.gguf");
  const std::string& gguf_bytes = files->files.back().data;
  auto gguf = model::GgufFile::open_from_memory(gguf_bytes.data(), gguf_bytes.size(), "bundle");
  ASSERT_TRUE(gguf.ok()) << gguf.status().to_string();
  auto tok = text::load_tokenizer_from_gguf(**gguf);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();

  // Greedy generation.
  pb::GenerateRequest req;
  req.set_request_id("int-1");
  for (int32_t id : (*tok)->encode("The capital of France is", true)) req.mutable_tokenized()->add_input_ids(id);
  req.mutable_sampling_params()->set_temperature(0.0f);
  req.mutable_sampling_params()->set_max_new_tokens(8);
  req.set_stream(true);
  std::mutex mu;
  std::vector<int32_t> streamed;
  pb::GenerateComplete complete;
  std::promise<Status> done;
  auto stream = client->generate(
      req,
      [&](pb::GenerateResponse&& r) {
        std::lock_guard<std::mutex> lk(mu);
        if (r.has_chunk()) {
          for (uint32_t t : r.chunk().token_ids()) streamed.push_back(static_cast<int32_t>(t));
        } else {
          complete = r.complete();
        }
      },
      [&](Status st) { done.set_value(st); });
  Status st = done.get_future().get();
  ASSERT_TRUE(st.ok()) << st.to_string();
  {
    std::lock_guard<std::mutex> lk(mu);
    std::vector<int32_t> output(complete.output_ids().begin(), complete.output_ids().end());
    EXPECT_EQ(streamed, output) << "chunks must add up to the Complete's output";
    EXPECT_FALSE(output.empty());
    EXPECT_TRUE(complete.finish_reason() == "length" || complete.finish_reason() == "stop");
    const std::string text = (*tok)->decode(output, true);
    EXPECT_NE(text.find("Paris"), std::string::npos) << "greedy continuation: '" << text << "'";
  }

  // Cancel a long generation mid-stream: the worker must abort it and give its slots back.
  pb::GenerateRequest long_req = req;
  long_req.set_request_id("int-2");
  long_req.mutable_sampling_params()->set_max_new_tokens(2000);
  long_req.mutable_sampling_params()->set_ignore_eos(true);
  std::promise<void> three_chunks;
  std::atomic<int> chunks{0};
  std::promise<Status> cancelled;
  auto long_stream = client->generate(
      long_req,
      [&](pb::GenerateResponse&& r) {
        if (r.has_chunk() && ++chunks == 3) three_chunks.set_value();
      },
      [&](Status s) { cancelled.set_value(s); });
  ASSERT_EQ(three_chunks.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  long_stream->cancel();
  EXPECT_EQ(cancelled.get_future().get().code(), StatusCode::kCancelled);

  bool idle = false;
  for (int i = 0; i < 200 && !idle; ++i) {
    auto loads = client->get_loads({"all"}).get();
    ASSERT_TRUE(loads.ok());
    idle = loads->loads(0).num_running_reqs() == 0 && loads->loads(0).num_waiting_reqs() == 0;
    if (!idle) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(idle) << "the cancelled request is still running";
  // Only the radix cache holds slots now: flushing it (refused while anything is live) empties the pool.
  auto flush = client->flush_cache(5.0f).get();
  ASSERT_TRUE(flush.ok());
  EXPECT_TRUE(flush->success()) << flush->message();
  auto loads = client->get_loads().get();
  ASSERT_TRUE(loads.ok());
  EXPECT_EQ(loads->loads(0).num_used_tokens(), 0);
  EXPECT_EQ(loads->loads(0).max_total_num_tokens(), 4096);

  // SIGTERM with a stream still generating: the stream ends (cancelled after the grace period)
  // and the process exits 0.
  long_req.set_request_id("int-3");
  std::promise<void> first_chunk;
  std::atomic<bool> got_first{false};
  std::promise<Status> ended;
  auto live = client->generate(
      long_req,
      [&](pb::GenerateResponse&&) {
        if (!got_first.exchange(true)) first_chunk.set_value();
      },
      [&](Status s) { ended.set_value(s); });
  ASSERT_EQ(first_chunk.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(proc.terminate(std::chrono::seconds(30)), 0);
  auto ended_f = ended.get_future();
  ASSERT_EQ(ended_f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(ended_f.get().ok()) << "a 2000-token request cannot have finished within the grace period";
}

}  // namespace
}  // namespace tandem
