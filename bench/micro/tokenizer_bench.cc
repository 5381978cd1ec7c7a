// Tokenizer throughput (single thread): encode MB/s on the tokenizer test corpus, decode and
// streaming detokenization tokens/s. Peer: scripts/oracles/tokenizer/bench_tokenizers.py runs
// the same workloads through HF `tokenizers` on the same tokenizer.json.
//
//   TANDEM_BENCH_TOKENIZER_DIR=<dir with tokenizer.json>   (default: the generated SmolLM2 one)
//   tandem_bench_tokenizer --benchmark_min_time=2s
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/check.h"
#include "gateway/text/tokenizer/tokenizer.h"

namespace {

using tandem::text::Tokenizer;

std::string env_or(const char* name, const std::string& dflt) {
  const char* v = std::getenv(name);
  return v && *v ? v : dflt;
}

// Everyday text, as opposed to the corpus's stress cases (2,000-letter words, random Unicode).
bool is_ordinary(std::string_view name) {
  for (std::string_view n : {"prose", "python_code", "cpp_code", "json", "markdown", "contractions", "url_email",
                             "numbers_mixed", "chinese", "cyrillic", "accented_latin", "chat_markers"}) {
    if (name == n) return true;
  }
  return false;
}

struct Fixture {
  std::unique_ptr<Tokenizer> tok;
  std::vector<std::string> cases;  // corpus texts
  std::string document;            // the corpus texts joined, repeated to ~1 MiB
  std::string prose;               // only the ordinary-text cases, repeated to ~1 MiB
  size_t case_bytes = 0;

  Fixture() {
    const std::string src = env_or("TANDEM_SOURCE_DIR", ".");
    const std::string build = env_or("TANDEM_BUILD_DIR", src + "/build");
    const std::string dir = env_or("TANDEM_BENCH_TOKENIZER_DIR", build + "/generated/tokenizer/smollm2");
    auto t = tandem::text::load_tokenizer_from_hf_dir(dir);
    CHECK(t.ok(), "{} (run scripts/oracles/tokenizer/gen_smollm2_tokenizers.py or set TANDEM_BENCH_TOKENIZER_DIR)",
          t.status().to_string());
    tok = std::move(*t);
    std::ifstream in(src + "/tests/data/tokenizer/corpus.jsonl");
    CHECK(in.good(), "cannot read {}/tests/data/tokenizer/corpus.jsonl (set TANDEM_SOURCE_DIR)", src);
    std::string line, ordinary;
    while (std::getline(in, line)) {
      const boost::json::value v = boost::json::parse(line);
      cases.emplace_back(v.at("text").as_string());
      case_bytes += cases.back().size();
      if (is_ordinary(v.at("name").as_string())) ordinary += cases.back() + "\n";
    }
    std::string joined;
    for (const std::string& c : cases) joined += c + "\n";
    while (document.size() < (1u << 20)) document += joined;
    while (prose.size() < (1u << 20)) prose += ordinary;
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

void BM_EncodeCorpusCases(benchmark::State& state) {
  const Fixture& f = fixture();
  for (auto _ : state) {
    for (const std::string& c : f.cases) benchmark::DoNotOptimize(f.tok->encode(c, false));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.case_bytes));
}
BENCHMARK(BM_EncodeCorpusCases);

void BM_EncodeDocument(benchmark::State& state) {
  const Fixture& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(f.tok->encode(f.document, false));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.document.size()));
}
BENCHMARK(BM_EncodeDocument)->Unit(benchmark::kMillisecond);

void BM_EncodeProse(benchmark::State& state) {
  const Fixture& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(f.tok->encode(f.prose, false));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.prose.size()));
}
BENCHMARK(BM_EncodeProse)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  const Fixture& f = fixture();
  const std::vector<int32_t> ids = f.tok->encode(f.document, false);
  for (auto _ : state) benchmark::DoNotOptimize(f.tok->decode(ids, false));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

void BM_IncrementalDetokenize(benchmark::State& state) {
  const Fixture& f = fixture();
  const std::vector<int32_t> ids = f.tok->encode(f.document, false);
  for (auto _ : state) {
    tandem::text::IncrementalDetokenizer d(*f.tok, false);
    for (int32_t id : ids) benchmark::DoNotOptimize(d.push(id));
    benchmark::DoNotOptimize(d.finish());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}
BENCHMARK(BM_IncrementalDetokenize)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
