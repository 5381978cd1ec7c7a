// Runs a fuzz harness (linked in: fuzz_gguf.cc or fuzz_safetensors.cc) over its seed corpus
// tests/fuzz/corpus/<TANDEM_FUZZ_CORPUS>/ under any compiler, so CI exercises the harness code
// without libFuzzer. Besides each seed it replays every prefix and a fixed set of byte mutations;
// the harness CHECKs its invariants (an abort fails the test), and ASan builds catch stray reads.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/test_paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void run(const std::string& bytes) {
  // A heap copy of exactly this size, so out-of-bounds reads are visible to ASan.
  std::vector<uint8_t> buf(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(buf.data(), buf.size());
}

TEST(FuzzCorpus, ReplaysSeedsPrefixesAndMutations) {
  const std::filesystem::path dir = tandem::testing::source_dir() + "/tests/fuzz/corpus/" TANDEM_FUZZ_CORPUS;
  std::vector<std::filesystem::path> seeds;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file()) seeds.push_back(it->path());
  }
  ASSERT_GE(seeds.size(), 2u) << "seed corpus missing or too small: " << dir;
  std::mt19937_64 rng(1);
  for (const auto& path : seeds) {
    SCOPED_TRACE(path.string());
    std::ifstream in(path, std::ios::binary);
    const std::string seed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(seed.empty());
    run(seed);
    for (size_t n = 0; n < seed.size(); ++n) run(seed.substr(0, n));
    for (int i = 0; i < 500; ++i) {
      std::string m = seed;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) m[rng() % m.size()] = static_cast<char>(rng());
      run(m);
    }
  }
}

}  // namespace
