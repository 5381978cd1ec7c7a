// The two JSON documents of a safetensors checkpoint, parsed defensively (Boost.JSON stays inside
// safetensors_parse.cc so its heavy headers reach no other file).
//
//   shard:  u64 N (little-endian) | N bytes of JSON {name: {dtype, shape, data_offsets: [b, e]},
//           "__metadata__": {str: str}} | data (offsets relative to its start)
//   index:  {"metadata": {...}, "weight_map": {tensor name: shard file name}}
//
// Thread model: free functions without shared state; call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/tensor_view.h"

namespace tandem::model {

// Headers past this are not real checkpoints (Llama-405B's largest shard header is ~100 KB).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Appends one view per tensor of the shard image [data, data + size) to *out, in header order;
// views point into the image. `label` ("safetensors '<path>'") starts every error message.
// Errors: DATA_LOSS (truncated, corrupt, bad JSON), UNIMPLEMENTED (a dtype other than
// F32/F16/BF16, naming the tensor).
Status parse_safetensors_shard(const uint8_t* data, size_t size, const std::string& label,
                               std::vector<TensorView>* out);

// (tensor name, shard file name) pairs of an index's weight_map, in document order. Shard names
// must be plain file names (no '/', not '..'), since they are joined to the index's directory.
Status parse_safetensors_index(std::string_view json, const std::string& label,
                               std::vector<std::pair<std::string, std::string>>* weight_map);

}  // namespace tandem::model
