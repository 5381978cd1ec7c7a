// The GetTokenizer bundle: a zip our client reads back, whose tokenizer-only GGUF our loader
// accepts and which tokenizes exactly like the full model file.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "gateway/client/tokenizer_archive.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "sglang_scheduler.grpc.pb.h"
#include "tests/support/test_paths.h"
#include "tests/unit/service/fake_engine.h"
#include "worker/model/loader/gguf_file.h"
#include "worker/service/tokenizer_bundle.h"
#include "worker/service/worker_server.h"

namespace tandem::service {
namespace {

TEST(TokenizerBundle, ZipRoundTripsThroughTheClientReader) {
  const std::string zip = zip_stored({{"a.txt", "hello"}, {"dir/b.json", std::string(1000, 'x')}});
  auto files = gateway::client::read_zip(zip);
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].name, "a.txt");
  EXPECT_EQ((*files)[0].data, "hello");
  EXPECT_EQ((*files)[1].data.size(), 1000u);
  std::string corrupt = zip;
  corrupt[35] ^= 1;  // a byte of "hello": the CRC must catch it
  EXPECT_EQ(gateway::client::read_zip(corrupt).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenizerBundle, UnsafeNamesAreRefused) {
  EXPECT_EQ(gateway::client::read_zip(zip_stored({{"../evil", "x"}})).status().code(), StatusCode::kInvalidArgument);
}

TEST(TokenizerBundle, HfDirectorySendsTheTokenizerFilesPresent) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / fmt::format("tandem-bundle-{}", getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << "{\"model\": {}}";
  std::ofstream(dir / "chat_template.jinja") << "{{ messages }}";
  std::ofstream(dir / "model.safetensors") << "weights, not for the gateway";
  auto b = build_tokenizer_bundle(dir.string());
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->files, (std::vector<std::string>{"tokenizer.json", "chat_template.jinja"}));
  auto files = gateway::client::read_zip(b->zip);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[1].data, "{{ messages }}");
  EXPECT_EQ(b->sha256_hex, gateway::client::sha256_hex(b->zip));
  std::filesystem::remove(dir / "tokenizer.json");
  EXPECT_EQ(build_tokenizer_bundle(dir.string()).status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(TokenizerBundle, GgufBundleOverGrpcLoadsAndEncodesLikeTheModel) {
  const std::string model = tandem::testing::default_model_path();
  ASSERT_TRUE(std::ifstream(model).good()) << "default model missing at " << model << "; run scripts/setup.sh";
  testing::FakeEngine engine;
  WorkerInfo info;
  info.tokenizer_path = model;
  auto server = start_worker_server("127.0.0.1", 0, engine, info);
  ASSERT_TRUE(server.ok());
  auto stub = ::sglang::grpc::scheduler::SglangScheduler::NewStub(
      grpc::CreateChannel(fmt::format("127.0.0.1:{}", (*server)->port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto reader = stub->GetTokenizer(&ctx, {});
  ::smg::grpc::common::GetTokenizerChunk chunk;
  std::string data, sha;
  int chunks = 0;
  while (reader->Read(&chunk)) {
    EXPECT_TRUE(sha.empty()) << "only the last chunk carries the sha256";
    data += chunk.data();
    sha = chunk.sha256();
    ++chunks;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_GT(chunks, 1);  // MBs of vocabulary: several 1 MiB chunks
  EXPECT_EQ(sha, gateway::client::sha256_hex(data));

  auto files = gateway::client::read_zip(data);
  ASSERT_TRUE(files.ok()) << files.status().to_string();
  // HF files for HF-only gateways (SMG), then the GGUF Tandem's gateway prefers.
  ASSERT_EQ(files->size(), 5u);
  EXPECT_EQ((*files)[0].name, "tokenizer.json");
  EXPECT_EQ((*files)[3].name, "generation_config.json");
  EXPECT_EQ((*files)[4].name, kTokenizerGgufName);
  const std::string& gguf_bytes = (*files)[4].data;
  EXPECT_LT(gguf_bytes.size(), 20u << 20) << "weights must not travel";

  auto small = model::GgufFile::open_from_memory(gguf_bytes.data(), gguf_bytes.size(), "bundle");
  ASSERT_TRUE(small.ok()) << small.status().to_string();
  EXPECT_TRUE((*small)->tensors().empty());
  auto full = model::GgufFile::open(model);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ((*small)->keys().size(), (*full)->keys().size());
  auto tok_small = text::load_tokenizer_from_gguf(**small);
  auto tok_full = text::load_tokenizer_from_gguf(**full);
  ASSERT_TRUE(tok_small.ok()) << tok_small.status().to_string();
  ASSERT_TRUE(tok_full.ok());
  const std::string text = "The capital of France is Paris. <|im_start|>user\nhi";
  EXPECT_EQ((*tok_small)->encode(text, true), (*tok_full)->encode(text, true));
  EXPECT_EQ((*tok_small)->vocab_size(), 49152);
  (*server)->shutdown(std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace tandem::service
