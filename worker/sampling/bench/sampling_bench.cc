// Micro-benchmark of one sampling step (SequenceSampler::sample) for one sequence on the CPU.
//   tandem_bench_sampling [--benchmark_filter=...]
// Logit rows are synthetic, seeded, in two shapes:
//   peaked: N(0, 2) noise with 16 tokens lifted to +8..+12 (a confident LM step: the nucleus at
//           top_p 0.9 holds a handful of tokens)
//   flat:   N(0, 1) noise only (an uncertain step: the nucleus holds a large part of the vocab; the
//           worst case for top-p)
// Penalties stay neutral so that sample() leaves the row untouched and iterations are identical.
// Two yardsticks run beside it: BM_ReadRow (one vectorized max pass over the row: the floor for
// anything that looks at every logit) and BM_NaiveTopP09Temp07 (the textbook way: std::exp over the row, sort
// the whole vocabulary, cumulative sum, draw).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "worker/sampling/logit_math.h"
#include "worker/sampling/sequence_sampler.h"

namespace tandem::sampling {
namespace {

enum Shape : int64_t { kPeaked = 0, kFlat = 1 };

std::vector<float> make_logits(int32_t vocab, Shape shape) {
  std::mt19937 gen(1234);
  std::normal_distribution<float> noise(0.0f, shape == kPeaked ? 2.0f : 1.0f);
  std::vector<float> logits(vocab);
  for (float& l : logits) l = noise(gen);
  if (shape == kPeaked) {
    std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
    for (int i = 0; i < 16; ++i) logits[pick(gen)] = 8.0f + 0.25f * static_cast<float>(i);
  }
  return logits;
}

void run(benchmark::State& state, const SamplingParams& params) {
  const auto vocab = static_cast<int32_t>(state.range(0));
  const auto shape = static_cast<Shape>(state.range(1));
  std::vector<float> logits = make_logits(vocab, shape);
  const std::vector<int32_t> prompt = {1, 2, 3};
  SequenceSampler sampler(params, prompt, {0}, /*fallback_seed=*/7);
  for (auto _ : state) {
    SampleResult r = sampler.sample(logits.data(), vocab);
    benchmark::DoNotOptimize(r.token);
  }
  state.SetLabel(shape == kPeaked ? "peaked" : "flat");
}

void BM_Greedy(benchmark::State& state) {
  SamplingParams p;
  p.temperature = 0.0f;
  run(state, p);
}

void BM_TopP09Temp07(benchmark::State& state) {
  SamplingParams p;
  p.temperature = 0.7f;
  p.top_p = 0.9f;
  run(state, p);
}

void BM_Temp10(benchmark::State& state) {
  SamplingParams p;  // plain softmax sampling over the whole vocabulary
  run(state, p);
}

void BM_TopK50Temp07(benchmark::State& state) {
  SamplingParams p;
  p.temperature = 0.7f;
  p.top_k = 50;
  run(state, p);
}

void BM_TopP09Temp07Logprobs5(benchmark::State& state) {
  SamplingParams p;
  p.temperature = 0.7f;
  p.top_p = 0.9f;
  p.return_logprob = true;
  p.top_logprobs = 5;
  run(state, p);
}

void BM_ReadRow(benchmark::State& state) {
  const auto vocab = static_cast<int32_t>(state.range(0));
  const std::vector<float> logits = make_logits(vocab, static_cast<Shape>(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(max_logit(logits.data(), vocab));
}

void BM_NaiveTopP09Temp07(benchmark::State& state) {
  const auto vocab = static_cast<int32_t>(state.range(0));
  const std::vector<float> logits = make_logits(vocab, static_cast<Shape>(state.range(1)));
  std::vector<int32_t> ids(vocab);
  std::vector<float> probs(vocab);
  std::mt19937_64 gen(7);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (auto _ : state) {
    const float max = *std::max_element(logits.begin(), logits.end());
    double z = 0.0;
    for (int32_t i = 0; i < vocab; ++i) z += probs[i] = std::exp((logits[i] - max) / 0.7f);
    std::iota(ids.begin(), ids.end(), 0);
    std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return probs[a] > probs[b]; });
    double mass = 0.0;
    int32_t keep = 0;
    while (keep < vocab && mass < 0.9 * z) mass += probs[ids[keep++]];
    const double target = uniform(gen) * mass;
    double cum = 0.0;
    int32_t token = ids[keep - 1];
    for (int32_t j = 0; j < keep; ++j) {
      cum += probs[ids[j]];
      if (cum > target) {
        token = ids[j];
        break;
      }
    }
    benchmark::DoNotOptimize(token);
  }
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int64_t vocab : {49152, 151936}) {
    for (int64_t shape : {kPeaked, kFlat}) b->Args({vocab, shape});
  }
  b->ArgNames({"vocab", "flat"})->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Greedy)->Apply(shapes);
BENCHMARK(BM_TopP09Temp07)->Apply(shapes);
BENCHMARK(BM_Temp10)->Apply(shapes);
BENCHMARK(BM_TopK50Temp07)->Apply(shapes);
BENCHMARK(BM_TopP09Temp07Logprobs5)->Apply(shapes);
BENCHMARK(BM_ReadRow)->Apply(shapes);
BENCHMARK(BM_NaiveTopP09Temp07)->Apply(shapes);

}  // namespace
}  // namespace tandem::sampling

BENCHMARK_MAIN();
