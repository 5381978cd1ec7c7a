#include "worker/service/tokenizer_hf_export.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_set>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "worker/model/loader/gguf_file.h"

namespace tandem::service {

namespace json = boost::json;

namespace {

// Llama 3's split regex, as its tokenizer.json carries it (llama.cpp's "llama-bpe").
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

enum class PreKind { kGpt2, kDigitsThenGpt2, kLlama3 };

struct PreMapping {
  const char* name;
  PreKind kind;
};

// tokenizer.ggml.pre → the HF pre-tokenizer the model's own tokenizer.json has. Same names as the
// gateway's GGUF loader accepts for these three families; the gateway's tests check both agree.
constexpr PreMapping kPreMappings[] = {
    {"default", PreKind::kGpt2},          {"gpt2", PreKind::kGpt2},
    {"gpt-2", PreKind::kGpt2},            {"smollm", PreKind::kDigitsThenGpt2},
    {"starcoder", PreKind::kDigitsThenGpt2}, {"refact", PreKind::kDigitsThenGpt2},
    {"llama-bpe", PreKind::kLlama3},      {"llama3", PreKind::kLlama3},
    {"llama-v3", PreKind::kLlama3},
};

// GGUF token types (llama.cpp): 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
constexpr int64_t kTypeUnknown = 2, kTypeControl = 3, kTypeUserDefined = 4;

json::object byte_level(bool use_regex, bool add_prefix_space, bool trim_offsets) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", trim_offsets},
          {"use_regex", use_regex}};
}

json::value pre_tokenizer_json(PreKind kind) {
  switch (kind) {
    case PreKind::kGpt2:
      return byte_level(true, false, true);
    case PreKind::kDigitsThenGpt2:
      return json::object{{"type", "Sequence"},
                          {"pretokenizers",
                           json::array{json::object{{"type", "Digits"}, {"individual_digits", true}},
                                       byte_level(true, false, true)}}};
    case PreKind::kLlama3:
      return json::object{
          {"type", "Sequence"},
          {"pretokenizers",
           json::array{json::object{{"type", "Split"},
                                    {"pattern", json::object{{"Regex", kLlama3Regex}}},
                                    {"behavior", "Isolated"},
                                    {"invert", false}},
                       byte_level(false, false, true)}}};
  }
  return nullptr;
}

// Everything the export needs from the GGUF, read and checked once.
struct GgufTokenizerMeta {
  std::vector<std::string> tokens;
  std::vector<int64_t> types;  // empty: all normal
  std::vector<std::string> merges;
  std::string pre;
  std::optional<int64_t> bos, eos, unk, pad, eot, eom;
  bool add_bos = false, add_eos = false;
  std::optional<std::string> chat_template;
  std::optional<int64_t> context_length;
};

std::optional<int64_t> optional_int(const model::GgufFile& g, std::string_view key) {
  auto v = g.get_int(key);
  return v.ok() ? std::optional<int64_t>(*v) : std::nullopt;
}

StatusOr<GgufTokenizerMeta> read_meta(const model::GgufFile& g) {
  GgufTokenizerMeta m;
  const std::string& src = g.path();
  ASSIGN_OR_RETURN(std::string model, g.get_string("tokenizer.ggml.model"));
  if (model != "gpt2") {
    return unimplemented("{}: tokenizer.ggml.model '{}' has no HF export (only byte-level BPE, 'gpt2')", src, model);
  }
  m.pre = "default";  // llama.cpp's choice when a 'gpt2' vocabulary names no pre-tokenizer
  if (g.has("tokenizer.ggml.pre")) {
    ASSIGN_OR_RETURN(m.pre, g.get_string("tokenizer.ggml.pre"));
  }
  ASSIGN_OR_RETURN(m.tokens, g.get_string_array("tokenizer.ggml.tokens"));
  ASSIGN_OR_RETURN(m.merges, g.get_string_array("tokenizer.ggml.merges"));
  if (g.has("tokenizer.ggml.token_type")) {
    ASSIGN_OR_RETURN(m.types, g.get_int_array("tokenizer.ggml.token_type"));
    if (m.types.size() != m.tokens.size()) {
      return invalid_argument("{}: tokenizer.ggml.token_type has {} entries for {} tokens", src, m.types.size(),
                              m.tokens.size());
    }
  }
  const int64_t n = static_cast<int64_t>(m.tokens.size());
  for (auto [key, out] : {std::pair{"bos_token_id", &m.bos}, {"eos_token_id", &m.eos}, {"unknown_token_id", &m.unk},
                          {"padding_token_id", &m.pad}, {"eot_token_id", &m.eot}, {"eom_token_id", &m.eom}}) {
    *out = optional_int(g, fmt::format("tokenizer.ggml.{}", key));
    if (*out && (**out < 0 || **out >= n)) {
      spdlog::warn("{}: tokenizer.ggml.{} {} is outside the vocabulary ({} tokens); not exported", src, key, **out, n);
      out->reset();
    }
  }
  for (auto [key, out] :
       {std::pair{"tokenizer.ggml.add_bos_token", &m.add_bos}, {"tokenizer.ggml.add_eos_token", &m.add_eos}}) {
    if (!g.has(key)) continue;
    ASSIGN_OR_RETURN(*out, g.get_bool(key));
  }
  if (m.add_bos && !m.bos) return invalid_argument("{}: add_bos_token is set but there is no bos_token_id", src);
  if (m.add_eos && !m.eos) return invalid_argument("{}: add_eos_token is set but there is no eos_token_id", src);
  if (g.has("tokenizer.chat_template")) {
    ASSIGN_OR_RETURN(std::string t, g.get_string("tokenizer.chat_template"));
    m.chat_template = std::move(t);
  }
  if (auto arch = g.get_string("general.architecture"); arch.ok()) {
    m.context_length = optional_int(g, fmt::format("{}.context_length", *arch));
  }
  return m;
}

bool is_added(const GgufTokenizerMeta& m, size_t i) {
  if (m.types.empty()) return false;
  const int64_t t = m.types[i];
  return t == kTypeUnknown || t == kTypeControl || t == kTypeUserDefined;
}
bool is_special(const GgufTokenizerMeta& m, size_t i) {
  return !m.types.empty() && (m.types[i] == kTypeUnknown || m.types[i] == kTypeControl);
}

// HF's AddedToken fields; GGUF has no lstrip/rstrip/normalized flags, so the literal-match defaults.
json::object added_token_fields(const std::string& content, bool special) {
  return {{"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},    {"normalized", false},  {"special", special}};
}

json::value post_processor_json(const GgufTokenizerMeta& m) {
  json::object bl = byte_level(true, true, false);
  if (!m.add_bos && !m.add_eos) return bl;
  // TemplateProcessing: "<bos> $A <eos>" (single) and "<bos> $A <eos> <bos>:1 $B:1 <eos>:1" (pair).
  json::array single, pair;
  json::object specials;
  auto special = [&](int64_t id, int type_id) {
    const std::string& tok = m.tokens[static_cast<size_t>(id)];
    specials[tok] = json::object{{"id", tok}, {"ids", json::array{id}}, {"tokens", json::array{tok}}};
    return json::object{{"SpecialToken", json::object{{"id", tok}, {"type_id", type_id}}}};
  };
  auto sequence = [](const char* id, int type_id) {
    return json::object{{"Sequence", json::object{{"id", id}, {"type_id", type_id}}}};
  };
  for (int part = 0; part < 2; ++part) {
    json::array& out = part == 0 ? single : pair;
    for (int type_id = 0; type_id <= part; ++type_id) {
      if (m.add_bos) out.push_back(special(*m.bos, type_id));
      out.push_back(sequence(type_id == 0 ? "A" : "B", type_id));
      if (m.add_eos) out.push_back(special(*m.eos, type_id));
    }
  }
  json::object tp{{"type", "TemplateProcessing"}, {"single", std::move(single)}, {"pair", std::move(pair)},
                  {"special_tokens", std::move(specials)}};
  return json::object{{"type", "Sequence"}, {"processors", json::array{std::move(bl), std::move(tp)}}};
}

StatusOr<std::string> tokenizer_json(const GgufTokenizerMeta& m, PreKind kind, const std::string& src) {
  json::object vocab;
  vocab.reserve(m.tokens.size());
  // A duplicate token string keeps its last id, as a Python dict (and HF's loader) would.
  for (size_t i = 0; i < m.tokens.size(); ++i) vocab[m.tokens[i]] = static_cast<int64_t>(i);

  // HF refuses a merge whose parts or result are not in the vocabulary; Tandem's loader skips
  // such merges, so leaving them out keeps both tokenizers the same.
  json::array merges;
  merges.reserve(m.merges.size());
  size_t dropped = 0;
  for (size_t i = 0; i < m.merges.size(); ++i) {
    const std::string& s = m.merges[i];
    const size_t sp = s.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == s.size()) {
      return invalid_argument("{}: tokenizer.ggml.merges[{}] = '{}' is not 'left right'", src, i, s);
    }
    const std::string_view left(s.data(), sp), right(s.data() + sp + 1, s.size() - sp - 1);
    if (!vocab.contains(left) || !vocab.contains(right) || !vocab.contains(std::string(left) + std::string(right))) {
      ++dropped;
      continue;
    }
    merges.push_back(json::array{json::string(left), json::string(right)});
  }
  if (dropped > 0) spdlog::warn("{}: {} merges name tokens outside the vocabulary; not exported", src, dropped);

  json::array added;
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    if (!is_added(m, i)) continue;
    json::object a = added_token_fields(m.tokens[i], is_special(m, i));
    a.emplace("id", static_cast<int64_t>(i));
    added.push_back(std::move(a));
  }

  json::object model{{"type", "BPE"},
                     {"dropout", nullptr},
                     {"unk_token", nullptr},
                     {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr},
                     {"fuse_unk", false},
                     {"byte_fallback", false},
                     {"ignore_merges", kind == PreKind::kLlama3},
                     {"vocab", std::move(vocab)},
                     {"merges", std::move(merges)}};
  json::object root{{"version", "1.0"},
                    {"truncation", nullptr},
                    {"padding", nullptr},
                    {"added_tokens", std::move(added)},
                    {"normalizer", nullptr},
                    {"pre_tokenizer", pre_tokenizer_json(kind)},
                    {"post_processor", post_processor_json(m)},
                    {"decoder", byte_level(true, true, true)},
                    {"model", std::move(model)}};
  return json::serialize(root);
}

json::value token_or_null(const GgufTokenizerMeta& m, const std::optional<int64_t>& id) {
  if (!id) return nullptr;
  return json::string(m.tokens[static_cast<size_t>(*id)]);
}

std::string tokenizer_config_json(const GgufTokenizerMeta& m) {
  json::object decoder;
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    if (is_added(m, i)) decoder[std::to_string(i)] = added_token_fields(m.tokens[i], is_special(m, i));
  }
  json::object cfg{{"add_bos_token", m.add_bos},
                   {"add_eos_token", m.add_eos},
                   {"add_prefix_space", false},
                   {"added_tokens_decoder", std::move(decoder)},
                   {"bos_token", token_or_null(m, m.bos)},
                   {"eos_token", token_or_null(m, m.eos)},
                   {"pad_token", token_or_null(m, m.pad)},
                   {"unk_token", token_or_null(m, m.unk)},
                   {"clean_up_tokenization_spaces", false},
                   {"tokenizer_class", "PreTrainedTokenizerFast"}};
  if (m.chat_template) cfg["chat_template"] = *m.chat_template;
  if (m.context_length) cfg["model_max_length"] = *m.context_length;
  return json::serialize(cfg);
}

std::string special_tokens_map_json(const GgufTokenizerMeta& m) {
  json::object out;
  std::unordered_set<int64_t> named;
  for (auto [key, id] : {std::pair{"bos_token", m.bos}, {"eos_token", m.eos}, {"pad_token", m.pad},
                         {"unk_token", m.unk}}) {
    if (!id) continue;
    out[key] = token_or_null(m, id);
    named.insert(*id);
  }
  json::array extra;
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    if (is_special(m, i) && !named.contains(static_cast<int64_t>(i))) extra.push_back(json::string(m.tokens[i]));
  }
  if (!extra.empty()) out["additional_special_tokens"] = std::move(extra);
  return json::serialize(out);
}

std::string generation_config_json(const GgufTokenizerMeta& m) {
  json::object out;
  if (m.bos) out["bos_token_id"] = *m.bos;
  // Every id that ends a turn: HF lists them under eos_token_id (an int when there is one).
  json::array eos;
  for (const auto& id : {m.eos, m.eot, m.eom}) {
    if (id && std::find(eos.begin(), eos.end(), json::value(*id)) == eos.end()) eos.push_back(*id);
  }
  if (eos.size() == 1) {
    out["eos_token_id"] = eos[0];
  } else if (!eos.empty()) {
    out["eos_token_id"] = std::move(eos);
  }
  if (m.pad) out["pad_token_id"] = *m.pad;
  return json::serialize(out);
}

}  // namespace

std::vector<std::string> hf_pre_tokenizer_names() {
  std::vector<std::string> names;
  for (const PreMapping& p : kPreMappings) names.emplace_back(p.name);
  return names;
}

StatusOr<NamedFiles> export_hf_tokenizer(const model::GgufFile& gguf) {
  ASSIGN_OR_RETURN(GgufTokenizerMeta m, read_meta(gguf));
  std::optional<PreKind> kind;
  for (const PreMapping& p : kPreMappings) {
    if (m.pre == p.name) kind = p.kind;
  }
  if (!kind) {
    return unimplemented("{}: tokenizer.ggml.pre '{}' has no HF pre-tokenizer mapping (mapped: {})", gguf.path(),
                         m.pre, fmt::join(hf_pre_tokenizer_names(), ", "));
  }
  NamedFiles files;
  ASSIGN_OR_RETURN(std::string tj, tokenizer_json(m, *kind, gguf.path()));
  files.emplace_back("tokenizer.json", std::move(tj));
  files.emplace_back("tokenizer_config.json", tokenizer_config_json(m));
  files.emplace_back("special_tokens_map.json", special_tokens_map_json(m));
  files.emplace_back("generation_config.json", generation_config_json(m));
  return files;
}

}  // namespace tandem::service
