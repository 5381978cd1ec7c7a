#include "tests/unit/tokenizer/tokenizer_test_data.h"

#include <boost/json.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "common/check.h"
#include "tests/support/test_paths.h"

namespace tandem::text::testing {
namespace json = boost::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CHECK(in.good(), "cannot open test data file {}", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<json::object> read_jsonl(const std::string& path) {
  std::vector<json::object> out;
  std::istringstream in(slurp(path));
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    CHECK(!ec && v.is_object(), "{}:{}: not a JSON object ({})", path, n, ec.message());
    out.push_back(std::move(v.get_object()));
  }
  return out;
}

std::vector<int32_t> ids_of(const json::value& v) {
  std::vector<int32_t> ids;
  for (const json::value& x : v.as_array()) ids.push_back(static_cast<int32_t>(x.to_number<int64_t>()));
  return ids;
}

// Minimal GGUF (v2/v3, little-endian) metadata reader.
class Reader {
 public:
  explicit Reader(const std::string& data) : d_(data.begin(), data.end()) {}
  bool ok() const { return ok_; }
  template <typename T>
  T pod() {
    T v{};
    if (pos_ + sizeof(T) > d_.size()) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, d_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = pod<uint64_t>();
    if (!ok_ || n > d_.size() - pos_) {
      ok_ = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(d_.data()) + pos_, n);
    pos_ += n;
    return s;
  }
  // Reads a scalar of GGUF type t as a json value (strings as json strings).
  json::value scalar(uint32_t t) {
    switch (t) {
      case 0: return pod<uint8_t>();
      case 1: return pod<int8_t>();
      case 2: return pod<uint16_t>();
      case 3: return pod<int16_t>();
      case 4: return pod<uint32_t>();
      case 5: return pod<int32_t>();
      case 6: return pod<float>();
      case 7: return pod<uint8_t>() != 0;
      case 8: return json::string(str());
      case 10: return pod<uint64_t>();
      case 11: return pod<int64_t>();
      case 12: return pod<double>();
      default: ok_ = false; return nullptr;
    }
  }

 private:
  std::vector<uint8_t> d_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string tokenizer_data_dir() { return tandem::testing::data_path("tokenizer"); }

std::string generated_dir() {
  if (const char* g = std::getenv("TANDEM_TEST_GEN_DIR"); g && *g) return std::string(g) + "/tokenizer";
  if (const char* b = std::getenv("TANDEM_BUILD_DIR"); b && *b) return std::string(b) + "/generated/tokenizer";
  return tandem::testing::source_dir() + "/build/generated/tokenizer";
}

std::string missing_generated(const std::string& variant) {
  const std::string path = generated_dir() + "/" + variant + "/tokenizer.json";
  if (std::filesystem::exists(path)) return "";
  return fmt::format(
      "missing generated file {}\n  It is too large to commit; regenerate it from the default model's GGUF with\n"
      "    python scripts/oracles/tokenizer/gen_smollm2_tokenizers.py --out {}\n"
      "  (pip install -r scripts/oracles/tokenizer/requirements.txt; set TANDEM_TEST_GEN_DIR to use another place)",
      path, generated_dir());
}

std::vector<OracleCase> load_oracle(const std::string& variant) {
  std::unordered_map<std::string, std::string> texts;
  for (const json::object& o : read_jsonl(tokenizer_data_dir() + "/corpus.jsonl")) {
    texts[std::string(o.at("name").as_string())] = std::string(o.at("text").as_string());
  }
  std::vector<OracleCase> cases;
  const std::string path = tokenizer_data_dir() + "/expected_" + variant + ".jsonl";
  for (const json::object& o : read_jsonl(path)) {
    OracleCase c;
    c.name = std::string(o.at("name").as_string());
    auto it = texts.find(c.name);
    CHECK(it != texts.end(), "{}: case '{}' is not in corpus.jsonl", path, c.name);
    c.text = it->second;
    c.ids = ids_of(o.at("ids"));
    c.ids_special = ids_of(o.at("ids_special"));
    c.roundtrip = o.at("roundtrip").as_bool();
    c.needs_nfc = o.contains("needs_nfc") && o.at("needs_nfc").as_bool();
    cases.push_back(std::move(c));
  }
  CHECK(!cases.empty(), "{} has no cases", path);
  return cases;
}

std::vector<DecodeCase> load_decode_cases(const std::string& family) {
  std::vector<DecodeCase> cases;
  for (const json::object& o : read_jsonl(tokenizer_data_dir() + "/decode_" + family + ".jsonl")) {
    cases.push_back({ids_of(o.at("ids")), std::string(o.at("text").as_string()), std::string(o.at("text_skip").as_string())});
  }
  return cases;
}

StatusOr<GgufTokenizerData> read_gguf_tokenizer(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open {}", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  Reader r(ss.str());
  if (r.pod<uint32_t>() != 0x46554747u) return invalid_argument("{}: not a GGUF file", path);
  const auto version = r.pod<uint32_t>();
  if (version < 2) return unimplemented("{}: GGUF v{} is not supported", path, version);
  r.pod<uint64_t>();  // tensor count
  const auto kv_count = r.pod<uint64_t>();
  GgufTokenizerData d;
  d.source = path;
  for (uint64_t k = 0; k < kv_count && r.ok(); ++k) {
    const std::string key = r.str();
    const auto type = r.pod<uint32_t>();
    json::value v;
    if (type == 9) {
      const auto et = r.pod<uint32_t>();
      const auto n = r.pod<uint64_t>();
      json::array arr;
      arr.reserve(n);
      for (uint64_t i = 0; i < n && r.ok(); ++i) arr.push_back(r.scalar(et));
      v = std::move(arr);
    } else {
      v = r.scalar(type);
    }
    if (!r.ok()) break;
    auto strings = [&] {
      std::vector<std::string> s;
      for (const json::value& x : v.as_array()) s.emplace_back(x.as_string());
      return s;
    };
    auto id = [&] { return static_cast<int32_t>(v.to_number<int64_t>()); };
    if (key == "tokenizer.ggml.model") d.model = std::string(v.as_string());
    else if (key == "tokenizer.ggml.pre") d.pre = std::string(v.as_string());
    else if (key == "tokenizer.ggml.tokens") d.tokens = strings();
    else if (key == "tokenizer.ggml.merges") d.merges = strings();
    else if (key == "tokenizer.ggml.token_type") {
      for (const json::value& x : v.as_array()) d.token_types.push_back(static_cast<int32_t>(x.to_number<int64_t>()));
    } else if (key == "tokenizer.ggml.scores") {
      for (const json::value& x : v.as_array()) d.scores.push_back(static_cast<float>(x.to_number<double>()));
    } else if (key == "tokenizer.ggml.bos_token_id") d.bos_id = id();
    else if (key == "tokenizer.ggml.eos_token_id") d.eos_id = id();
    else if (key == "tokenizer.ggml.unknown_token_id") d.unk_id = id();
    else if (key == "tokenizer.ggml.padding_token_id") d.pad_id = id();
    else if (key == "tokenizer.ggml.add_bos_token") d.add_bos = v.as_bool();
    else if (key == "tokenizer.ggml.add_eos_token") d.add_eos = v.as_bool();
    else if (key == "tokenizer.ggml.add_space_prefix") d.add_space_prefix = v.as_bool();
    else if (key == "tokenizer.chat_template") d.chat_template = std::string(v.as_string());
  }
  if (!r.ok()) return data_loss("{}: truncated or unsupported metadata", path);
  return d;
}

std::unique_ptr<Tokenizer> must_load_hf(const std::string& dir) {
  auto t = load_tokenizer_from_hf_dir(dir);
  CHECK(t.ok(), "loading {}: {}", dir, t.status().to_string());
  return std::move(*t);
}

std::unique_ptr<Tokenizer> must_load_gguf(const GgufTokenizerData& data) {
  auto t = load_tokenizer_from_gguf_data(data);
  CHECK(t.ok(), "loading {}: {}", data.source, t.status().to_string());
  return std::move(*t);
}

std::string describe_ids(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) s += ", ";
    s += fmt::format("{} '{}'", ids[i], tok.id_to_token(ids[i]));
  }
  return s + "]";
}

}  // namespace tandem::text::testing
