#include "worker/service/tokenizer_bundle.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include "worker/model/loader/gguf_file.h"
#include "worker/service/tokenizer_hf_export.h"

namespace tandem::service {

namespace fs = std::filesystem;

namespace {

// The HF files a gateway may need, in archive order (absent ones are skipped).
constexpr const char* kHfFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                    "chat_template.jinja", "generation_config.json"};

void put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v & 0xffff));
  put16(s, static_cast<uint16_t>(v >> 16));
}

StatusOr<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return not_found("cannot read '{}'", p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& entries) {
  // Local headers + data, then the central directory, then its end record. No zip64: the bundle
  // is a tokenizer (MBs), far below the 4 GiB limit of the plain format.
  constexpr uint16_t kVersion = 20;
  constexpr uint16_t kUtf8Names = 1u << 11;
  constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible bytes
  std::string out, central;
  for (const auto& [name, data] : entries) {
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint32_t size = static_cast<uint32_t>(data.size());
    put32(out, 0x04034b50);
    put16(out, kVersion);
    put16(out, kUtf8Names);
    put16(out, 0);  // stored
    put16(out, 0);  // time
    put16(out, kDosDate1980);
    put32(out, crc);
    put32(out, size);
    put32(out, size);
    put16(out, static_cast<uint16_t>(name.size()));
    put16(out, 0);
    out += name;
    out += data;

    put32(central, 0x02014b50);
    put16(central, kVersion);
    put16(central, kVersion);
    put16(central, kUtf8Names);
    put16(central, 0);
    put16(central, 0);
    put16(central, kDosDate1980);
    put32(central, crc);
    put32(central, size);
    put32(central, size);
    put16(central, static_cast<uint16_t>(name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central += name;
  }
  const uint32_t central_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint16_t>(entries.size()));
  put16(out, static_cast<uint16_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, central_offset);
  put16(out, 0);
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  hex.reserve(len * 2);
  constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

StatusOr<TokenizerBundle> build_tokenizer_bundle(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const char* name : kHfFiles) {
      const fs::path p = fs::path(path) / name;
      if (!fs::exists(p, ec)) continue;
      ASSIGN_OR_RETURN(std::string data, read_file(p));
      entries.emplace_back(name, std::move(data));
    }
    if (entries.empty() || entries.front().first != "tokenizer.json") {
      return not_found("model directory '{}' has no tokenizer.json; GetTokenizer cannot serve a tokenizer", path);
    }
  } else if (fs::is_regular_file(path, ec)) {
    ASSIGN_OR_RETURN(std::unique_ptr<model::GgufFile> gguf, model::GgufFile::open(path));
    if (auto hf = export_hf_tokenizer(*gguf); hf.ok()) {
      entries = std::move(*hf);
    } else {
      spdlog::warn("GetTokenizer: {}; the bundle carries tokenizer.gguf only (Tandem's gateway reads it, "
                   "gateways that need HF files such as SMG will not)",
                   hf.status().to_string());
    }
    ASSIGN_OR_RETURN(std::string small, tokenizer_only_gguf(path));
    entries.emplace_back(std::string(kTokenizerGgufName), std::move(small));
  } else {
    return not_found("tokenizer path '{}' is neither a GGUF file nor a model directory", path);
  }
  TokenizerBundle b;
  for (const auto& e : entries) b.files.push_back(e.first);
  b.zip = zip_stored(entries);
  b.sha256_hex = sha256_hex(b.zip);
  return b;
}

}  // namespace tandem::service
