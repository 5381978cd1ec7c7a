#include "tests/unit/loader/safetensors_writer.h"

#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/dtype.h"

namespace tandem::model::testing {

namespace {
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}
}  // namespace

std::string build_safetensors_raw(const std::string& header_json, const std::string& data) {
  std::string header = header_json;
  while (header.size() % 8 != 0) header.push_back(' ');
  const uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + data;
}

std::string build_safetensors(const std::vector<StTensor>& tensors,
                              const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<std::string> entries;
  if (!metadata.empty()) {
    std::vector<std::string> kv;
    for (const auto& [k, v] : metadata) kv.push_back(quote(k) + ":" + quote(v));
    entries.push_back(fmt::format("\"__metadata__\":{{{}}}", fmt::join(kv, ",")));
  }
  std::string data;
  for (const StTensor& t : tensors) {
    entries.push_back(fmt::format("{}:{{\"dtype\":{},\"shape\":[{}],\"data_offsets\":[{},{}]}}", quote(t.name),
                                  quote(t.dtype), fmt::join(t.shape, ","), data.size(), data.size() + t.data.size()));
    data += t.data;
  }
  return build_safetensors_raw(fmt::format("{{{}}}", fmt::join(entries, ",")), data);
}

std::string build_index_json(const std::vector<std::pair<std::string, std::string>>& weight_map) {
  std::vector<std::string> kv;
  for (const auto& [k, v] : weight_map) kv.push_back(quote(k) + ": " + quote(v));
  return fmt::format("{{\n  \"metadata\": {{\"total_size\": 0}},\n  \"weight_map\": {{\n    {}\n  }}\n}}\n",
                     fmt::join(kv, ",\n    "));
}

std::string encode_floats(const std::vector<float>& values, const std::string& dtype) {
  std::string out;
  for (float f : values) {
    if (dtype == "F32") {
      out.append(reinterpret_cast<const char*>(&f), 4);
    } else {
      const uint16_t h = dtype == "F16" ? fp32_to_fp16(f) : fp32_to_bf16(f);
      out.append(reinterpret_cast<const char*>(&h), 2);
    }
  }
  return out;
}

}  // namespace tandem::model::testing
