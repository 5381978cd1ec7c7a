// Test support: builds safetensors images (header JSON written by hand, tensors laid out back to
// back in the given order, header padded with spaces to 8 bytes like the upstream writer).
// Thread model: free functions, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tandem::model::testing {

struct StTensor {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16", "I8", ...
  std::vector<int64_t> shape;
  std::string data;  // raw little-endian bytes
};

std::string build_safetensors(const std::vector<StTensor>& tensors,
                              const std::vector<std::pair<std::string, std::string>>& metadata = {});

// An image whose header is exactly `header_json` (padded with spaces) followed by `data`.
std::string build_safetensors_raw(const std::string& header_json, const std::string& data);

// model.safetensors.index.json text for (tensor name, shard file) pairs.
std::string build_index_json(const std::vector<std::pair<std::string, std::string>>& weight_map);

// Raw bytes of float values in the given dtype ("F32", "F16", "BF16").
std::string encode_floats(const std::vector<float>& values, const std::string& dtype);

}  // namespace tandem::model::testing
