// ACCEPTANCE 26 at the model level: a tensor-parallel forward (ranks as threads, ThreadGroup test
// double) gives the single-device logits — the default model (quantized GGUF, 9 heads / 3 KV heads:
// uneven head groups at TP=2) and a small random f32 model (odd vocabulary: uneven LM-head shares;
// TP=4 > its 2 KV heads: replicated KV heads).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "tests/support/test_paths.h"
#include "tests/unit/model/model_test_support.h"
#include "worker/model/llama_weights.h"
#include "worker/model/tp_shard.h"
#include "worker/runtime/thread_group.h"

namespace tandem::testing {
namespace {

std::vector<std::vector<int32_t>> test_prompts(int32_t vocab) {
  std::vector<std::vector<int32_t>> prompts;
  uint32_t x = 12345;
  for (int len : {1, 7, 40, 13}) {
    std::vector<int32_t> p;
    for (int i = 0; i < len; ++i) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      p.push_back(static_cast<int32_t>(3 + x % (vocab - 3)));
    }
    prompts.push_back(p);
  }
  return prompts;
}

// Max |a - b| relative to max |a| over all steps and sequences.
double max_rel_diff(const std::vector<std::vector<std::vector<float>>>& a,
                    const std::vector<std::vector<std::vector<float>>>& b) {
  double diff = 0, scale = 1e-9;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t s = 0; s < a[i].size(); ++s) {
      for (size_t v = 0; v < a[i][s].size(); ++v) {
        diff = std::max(diff, static_cast<double>(std::fabs(a[i][s][v] - b[i][s][v])));
        scale = std::max(scale, static_cast<double>(std::fabs(a[i][s][v])));
      }
    }
  }
  return diff / scale;
}

struct Greedy {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<std::vector<float>>> logits;
};

TEST(TensorParallel, DefaultModelMatchesOneRank) {
  auto one = load_test_model(default_model_path(), kernels::make_cpu_backend(1));
  ASSERT_TRUE(one.ok()) << one.status().to_string();
  const auto prompts = test_prompts((*one)->config().vocab_size);
  const int steps = 6;
  Greedy ref;
  ref.tokens = greedy_batch(**one, prompts, steps, &ref.logits);
  for (int tp : {2, 3}) {
    runtime::ThreadGroupWorld world(tp);
    std::vector<Greedy> runs(tp);
    world.run([&](int rank) {
      auto m = load_test_model(default_model_path(), kernels::make_cpu_backend(1), &world.group(rank));
      ASSERT_TRUE(m.ok()) << m.status().to_string();
      EXPECT_EQ((*m)->model().shard().size, tp);
      runs[rank].tokens = greedy_batch(**m, prompts, steps, &runs[rank].logits);
    });
    for (int rank = 0; rank < tp; ++rank) {
      EXPECT_EQ(runs[rank].tokens, ref.tokens) << "tp " << tp << " rank " << rank;
      // Partial sums in a different order: float rounding only.
      EXPECT_LT(max_rel_diff(ref.logits, runs[rank].logits), 2e-3) << "tp " << tp << " rank " << rank;
      // Every rank ends with the same logits (the all-gather hands everyone every share).
      EXPECT_EQ(runs[rank].logits, runs[0].logits) << "tp " << tp << " rank " << rank;
    }
  }
}

// A Hugging Face-named checkpoint in memory: random f32 tensors.
class RandomWeights final : public model::WeightSource {
 public:
  explicit RandomWeights(const model::ModelConfig& c) {
    std::mt19937 rng(7);
    const int64_t h = c.hidden_size, q = c.q_dim(), kv = c.kv_dim(), ff = c.intermediate_size;
    add("model.embed_tokens.weight", {c.vocab_size, h}, rng, 1.0f);
    add("lm_head.weight", {c.vocab_size, h}, rng, 0.2f);
    add("model.norm.weight", {h}, rng, 0.1f, 1.0f);
    for (int i = 0; i < c.num_layers; ++i) {
      auto n = [&](const char* what) { return "model.layers." + std::to_string(i) + "." + what; };
      add(n("input_layernorm.weight"), {h}, rng, 0.1f, 1.0f);
      add(n("post_attention_layernorm.weight"), {h}, rng, 0.1f, 1.0f);
      add(n("self_attn.q_proj.weight"), {q, h}, rng, 0.2f);
      add(n("self_attn.k_proj.weight"), {kv, h}, rng, 0.2f);
      add(n("self_attn.v_proj.weight"), {kv, h}, rng, 0.2f);
      add(n("self_attn.q_proj.bias"), {q}, rng, 0.1f);
      add(n("self_attn.k_proj.bias"), {kv}, rng, 0.1f);
      add(n("self_attn.v_proj.bias"), {kv}, rng, 0.1f);
      add(n("self_attn.o_proj.weight"), {h, q}, rng, 0.2f);
      add(n("mlp.gate_proj.weight"), {ff, h}, rng, 0.2f);
      add(n("mlp.up_proj.weight"), {ff, h}, rng, 0.2f);
      add(n("mlp.down_proj.weight"), {h, ff}, rng, 0.2f);
    }
    for (auto& [name, t] : views_) list_.push_back(t);
  }
  const std::vector<TensorView>& tensors() const override { return list_; }
  const TensorView* find_tensor(std::string_view name) const override {
    auto it = views_.find(std::string(name));
    return it == views_.end() ? nullptr : &it->second;
  }

 private:
  void add(const std::string& name, std::vector<int64_t> shape, std::mt19937& rng, float scale, float mean = 0) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    auto& data = data_[name];
    std::normal_distribution<float> dist(mean, scale);
    data.resize(n);
    for (float& x : data) x = dist(rng);
    TensorView t;
    t.name = name;
    t.dtype = DType::kF32;
    t.shape = std::move(shape);
    t.data = data.data();
    t.nbytes = n * sizeof(float);
    views_[name] = t;
  }
  std::map<std::string, std::vector<float>> data_;
  std::map<std::string, TensorView> views_;
  std::vector<TensorView> list_;
};

model::ModelConfig small_config() {
  model::ModelConfig c;
  c.arch = "qwen2";
  c.format = model::CheckpointFormat::kHuggingFace;
  c.vocab_size = 101;  // odd: LM-head shares of 51 + 50, 26 + 25 × 3
  c.hidden_size = 64;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 16;
  c.intermediate_size = 96;
  c.max_position_embeddings = 256;
  c.qkv_bias = true;
  c.rope.head_dim = 16;
  c.rope.rotary_dim = 16;
  c.rope.theta = 10000;
  return c;
}

std::unique_ptr<TestModel> small_model(const model::ModelConfig& c, const RandomWeights& w, int rank, int size,
                                       runtime::ProcessGroup* group) {
  auto m = std::make_unique<TestModel>();
  m->backend = kernels::make_cpu_backend(1);
  auto shard = model::plan_tp_shard(c, rank, size);
  CHECK(shard.ok(), "{}", shard.status().to_string());
  auto weights = model::bind_llama_weights(c, w, *shard);
  CHECK(weights.ok(), "{}", weights.status().to_string());
  m->loaded.model = std::make_unique<model::LlamaModel>(c, std::move(*weights), *m->backend, *shard, group);
  return m;
}

TEST(TensorParallel, SmallModelUnevenVocabAndReplicatedKvHeads) {
  const model::ModelConfig c = small_config();
  ASSERT_TRUE(c.validate().ok());
  RandomWeights w(c);
  auto one = small_model(c, w, 0, 1, nullptr);
  const auto prompts = test_prompts(c.vocab_size);
  Greedy ref;
  ref.tokens = greedy_batch(*one, prompts, 5, &ref.logits);
  for (int tp : {2, 4}) {
    runtime::ThreadGroupWorld world(tp);
    std::vector<Greedy> runs(tp);
    world.run([&](int rank) {
      auto m = small_model(c, w, rank, tp, &world.group(rank));
      runs[rank].tokens = greedy_batch(*m, prompts, 5, &runs[rank].logits);
    });
    for (int rank = 0; rank < tp; ++rank) {
      EXPECT_EQ(runs[rank].tokens, ref.tokens) << "tp " << tp << " rank " << rank;
      EXPECT_LT(max_rel_diff(ref.logits, runs[rank].logits), 1e-4) << "tp " << tp << " rank " << rank;
    }
  }
}

TEST(TensorParallel, PlansSayWhyASplitIsImpossible) {
  const model::ModelConfig c = small_config();  // 4 heads, 2 KV heads
  auto four = model::plan_tp_shard(c, 3, 4);
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(four->kv_head_begin, 1);  // ranks 2 and 3 share KV head 1
  EXPECT_EQ(four->num_kv_heads, 1);
  EXPECT_EQ(four->head_begin, 3);
  auto three = model::plan_tp_shard(c, 0, 3);
  ASSERT_FALSE(three.ok());
  EXPECT_NE(three.status().message().find("cannot split 4 query / 2 KV heads over 3 ranks"), std::string::npos)
      << three.status().to_string();
  EXPECT_FALSE(model::plan_tp_shard(c, 2, 2).ok());
}

}  // namespace
}  // namespace tandem::testing
