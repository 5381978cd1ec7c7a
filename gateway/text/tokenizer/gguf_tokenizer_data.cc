#include "gateway/text/tokenizer/gguf_tokenizer_data.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "gateway/text/tokenizer/bpe_model.h"
#include "gateway/text/tokenizer/pre_tokenizer.h"
#include "gateway/text/tokenizer/tokenizer.h"
#include "gateway/text/tokenizer/utf8.h"

namespace tandem::text {
namespace {

constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct PreEntry {
  const char* name;
  std::vector<const char*> regexes;
  bool ignore_merges;
};

const std::vector<PreEntry>& pre_table() {
  static const std::vector<PreEntry> table = {
      {"default", {kGpt2SplitRegex}, false},
      {"gpt-2", {kGpt2SplitRegex}, false},
      {"gpt2", {kGpt2SplitRegex}, false},
      {"llama-bpe", {kLlama3Regex}, true},
      {"llama3", {kLlama3Regex}, true},
      {"llama-v3", {kLlama3Regex}, true},
      {"qwen2", {kQwen2Regex}, false},
      {"deepseek-r1-qwen", {kQwen2Regex}, false},
      // StarCoder family (SmolLM2 included): every digit on its own, then GPT-2's regex.
      {"smollm", {R"(\p{N})", kGpt2SplitRegex}, false},
      {"starcoder", {R"(\p{N})", kGpt2SplitRegex}, false},
      {"refact", {R"(\p{N})", kGpt2SplitRegex}, false},
  };
  return table;
}

// Code point boundaries of s (invalid bytes count as one character each).
std::vector<size_t> char_boundaries(std::string_view s) {
  std::vector<size_t> b;
  size_t i = 0;
  while (i < s.size()) {
    b.push_back(i);
    const size_t len = utf8_sequence_length(s, i);
    i += len == 0 ? 1 : len;
  }
  b.push_back(s.size());
  return b;
}

}  // namespace

std::vector<std::string> known_gguf_pre_tokenizers() {
  std::vector<std::string> names;
  for (const PreEntry& e : pre_table()) names.emplace_back(e.name);
  return names;
}

StatusOr<GgufPreTokenizer> gguf_pre_tokenizer(std::string_view pre) {
  for (const PreEntry& e : pre_table()) {
    if (pre != e.name) continue;
    GgufPreTokenizer out;
    for (const char* re : e.regexes) {
      PreTokenizerStep s;
      s.kind = PreTokenizerStep::Kind::kSplit;
      s.regex = re;
      s.behavior = SplitBehavior::kIsolated;
      out.steps.push_back(std::move(s));
    }
    PreTokenizerStep bl;
    bl.kind = PreTokenizerStep::Kind::kByteLevel;
    bl.add_prefix_space = false;
    bl.use_regex = false;
    out.steps.push_back(std::move(bl));
    out.ignore_merges = e.ignore_merges;
    return out;
  }
  return unimplemented("tokenizer.ggml.pre '{}' is not supported; known pre-tokenizers: {}", pre,
                       fmt::join(known_gguf_pre_tokenizers(), ", "));
}

std::vector<std::pair<std::string, std::string>> merges_from_scores(const std::vector<std::string>& tokens,
                                                                    const std::vector<float>& scores) {
  TokenMap vocab;  // token -> id, the last duplicate winning (a Python dict built in order)
  for (size_t i = 0; i < tokens.size(); ++i) vocab.insert_or_assign(tokens[i], static_cast<int32_t>(i));
  struct Merge {
    std::string_view left, right;
    float score;
    size_t left_chars, right_chars;
  };
  // Python's dict(zip(tokens, scores)): keys in first-seen order, values from the last duplicate.
  std::unordered_map<std::string_view, float> score_of;
  std::vector<std::string_view> order;
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto [it, fresh] = score_of.insert_or_assign(tokens[i], scores[i]);
    if (fresh) order.push_back(tokens[i]);
  }
  std::vector<Merge> merges;
  std::vector<Merge> local;
  for (std::string_view token : order) {
    const std::vector<size_t> b = char_boundaries(token);
    const size_t nchars = b.size() - 1;
    local.clear();
    for (size_t k = 1; k < nchars; ++k) {
      const std::string_view l = token.substr(0, b[k]), r = token.substr(b[k]);
      if (vocab.find(l) != vocab.end() && vocab.find(r) != vocab.end()) {
        local.push_back({l, r, score_of[token], k, nchars - k});
      }
    }
    std::stable_sort(local.begin(), local.end(), [&](const Merge& x, const Merge& y) {
      const int32_t xl = vocab.find(x.left)->second, yl = vocab.find(y.left)->second;
      if (xl != yl) return xl < yl;
      return vocab.find(x.right)->second < vocab.find(y.right)->second;
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& x, const Merge& y) {
    if (x.score != y.score) return x.score > y.score;
    if (x.left_chars != y.left_chars) return x.left_chars > y.left_chars;
    return x.right_chars > y.right_chars;
  });
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (const Merge& m : merges) out.emplace_back(std::string(m.left), std::string(m.right));
  return out;
}

StatusOr<TokenizerSpec> tokenizer_spec_from_gguf(const GgufTokenizerData& d) {
  const std::string& src = d.source;
  const size_t n = d.tokens.size();
  if (n == 0) return invalid_argument("{}: tokenizer.ggml.tokens is missing or empty", src);
  if (!d.token_types.empty() && d.token_types.size() != n) {
    return invalid_argument("{}: tokenizer.ggml.token_type has {} entries for {} tokens", src, d.token_types.size(), n);
  }
  for (const auto& [name, id] : {std::pair{"bos", d.bos_id}, {"eos", d.eos_id}, {"unknown", d.unk_id}}) {
    if (id && (*id < 0 || static_cast<size_t>(*id) >= n)) {
      return invalid_argument("{}: tokenizer.ggml.{}_token_id {} is outside the vocabulary ({} tokens)", src, name,
                              *id, n);
    }
  }

  TokenizerSpec spec;
  spec.source = src;
  spec.model.vocab.reserve(n);
  for (size_t i = 0; i < n; ++i) spec.model.vocab.emplace_back(d.tokens[i], static_cast<int32_t>(i));
  for (size_t i = 0; i < d.token_types.size(); ++i) {
    const int32_t type = d.token_types[i];
    if (type == 2 || type == 3 || type == 4) {
      AddedTokenSpec a;
      a.id = static_cast<int32_t>(i);
      a.content = d.tokens[i];
      a.special = type != 4;
      spec.added_tokens.push_back(std::move(a));
    }
  }

  bool add_bos_default = false;
  if (d.model == "gpt2") {
    std::string pre = d.pre;
    if (pre.empty()) {
      spdlog::warn("{}: no tokenizer.ggml.pre; using the GPT-2 pre-tokenizer ('default'), as llama.cpp does", src);
      pre = "default";
    }
    auto p = gguf_pre_tokenizer(pre);
    if (!p.ok()) return p.status().with_context(src);
    spec.pre_tokenizer = std::move(p->steps);
    spec.model.ignore_merges = p->ignore_merges;
    if (d.merges.empty()) return invalid_argument("{}: tokenizer.ggml.merges is missing for a 'gpt2' tokenizer", src);
    spec.model.merges.reserve(d.merges.size());
    for (size_t i = 0; i < d.merges.size(); ++i) {
      const size_t sp = d.merges[i].find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 == d.merges[i].size()) {
        return invalid_argument("{}: tokenizer.ggml.merges[{}] = '{}' is not 'left right'", src, i, d.merges[i]);
      }
      spec.model.merges.emplace_back(d.merges[i].substr(0, sp), d.merges[i].substr(sp + 1));
    }
    spec.decoder.push_back(DecoderStep::of(DecoderStep::Kind::kByteLevel));
  } else if (d.model == "llama") {
    if (!d.merges.empty()) {
      for (const std::string& m : d.merges) {
        const size_t sp = m.find(' ');
        if (sp == std::string::npos) return invalid_argument("{}: merge '{}' is not 'left right'", src, m);
        spec.model.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
      }
    } else {
      if (d.scores.size() != n) {
        return invalid_argument("{}: a 'llama' tokenizer needs tokenizer.ggml.scores (one per token; got {} for {})",
                                src, d.scores.size(), n);
      }
      spec.model.merges = merges_from_scores(d.tokens, d.scores);
    }
    spec.model.byte_fallback = true;
    spec.model.fuse_unk = true;
    if (d.unk_id) spec.model.unk_token = d.tokens[*d.unk_id];
    const bool prefix = d.add_space_prefix.value_or(true);
    if (prefix) spec.normalizer.push_back(NormalizerStep::prepend("\u2581"));
    spec.normalizer.push_back(NormalizerStep::replace(" ", "\u2581"));
    spec.decoder.push_back(DecoderStep::replace("\u2581", " "));
    spec.decoder.push_back(DecoderStep::of(DecoderStep::Kind::kByteFallback));
    spec.decoder.push_back(DecoderStep::of(DecoderStep::Kind::kFuse));
    if (prefix) spec.decoder.push_back(DecoderStep::strip(" ", 1, 0));
    add_bos_default = true;  // llama.cpp's default for SentencePiece vocabularies
  } else {
    return unimplemented("{}: tokenizer.ggml.model '{}' is not supported (supported: gpt2, llama)", src, d.model);
  }
  spec.model.strict_merges = false;

  spec.bos_id = d.bos_id;
  spec.eos_id = d.eos_id;
  if (d.bos_id) spec.bos_token = d.tokens[*d.bos_id];
  if (d.eos_id) spec.eos_token = d.tokens[*d.eos_id];
  if (d.add_bos.value_or(add_bos_default)) {
    if (!d.bos_id) return invalid_argument("{}: add_bos_token is set but tokenizer.ggml.bos_token_id is missing", src);
    spec.prefix_ids.push_back(*d.bos_id);
  }
  if (d.add_eos.value_or(false)) {
    if (!d.eos_id) return invalid_argument("{}: add_eos_token is set but tokenizer.ggml.eos_token_id is missing", src);
    spec.suffix_ids.push_back(*d.eos_id);
  }
  spec.chat_template = d.chat_template;
  return spec;
}

StatusOr<std::unique_ptr<Tokenizer>> load_tokenizer_from_gguf_data(const GgufTokenizerData& data) {
  ASSIGN_OR_RETURN(TokenizerSpec spec, tokenizer_spec_from_gguf(data));
  return build_tokenizer(std::move(spec));
}

}  // namespace tandem::text
