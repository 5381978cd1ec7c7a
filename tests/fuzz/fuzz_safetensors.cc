// libFuzzer harness for one safetensors shard image. Invariants (CHECKed): a failure carries a
// message; every view lies inside the input and has numel * element size bytes.
#include <cstddef>
#include <cstdint>

#include "common/check.h"
#include "worker/model/loader/safetensors_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tandem::model::SafetensorsCheckpoint;
  auto c = SafetensorsCheckpoint::open_from_memory(data, size, "fuzz.safetensors");
  if (!c.ok()) {
    CHECK(!c.status().message().empty(), "error without a message");
    return 0;
  }
  size_t sink = 0;
  for (const tandem::TensorView& t : (*c)->tensors()) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    CHECK(p >= data && t.nbytes <= size && static_cast<size_t>(p - data) <= size - t.nbytes,
          "tensor '{}' ({} bytes) lies outside the {}-byte input", t.name, t.nbytes, size);
    CHECK(static_cast<size_t>(t.numel()) * static_cast<size_t>(tandem::dtype_info(t.dtype).block_bytes) == t.nbytes,
          "tensor '{}' has {} bytes for {} elements", t.name, t.nbytes, t.numel());
    CHECK((*c)->find_tensor(t.name) == &t, "find_tensor('{}') misses", t.name);
    if (t.nbytes > 0) sink += p[0] + p[t.nbytes - 1];
  }
  volatile size_t keep = sink;
  (void)keep;
  return 0;
}
