// libFuzzer harness for GgufFile: parse arbitrary bytes, then use everything that opened.
// Invariants (CHECKed, so a violation aborts and the fuzzer keeps the input): a failure carries a
// message; every tensor view lies inside the input; find_tensor finds each tensor.
#include <cstddef>
#include <cstdint>

#include "common/check.h"
#include "worker/model/loader/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tandem::model::GgufFile;
  auto f = GgufFile::open_from_memory(data, size, "fuzz.gguf");
  if (!f.ok()) {
    CHECK(!f.status().message().empty(), "error without a message");
    return 0;
  }
  size_t sink = 0;
  for (const std::string& k : (*f)->keys()) {
    sink += (*f)->get_value(k).ok();
    sink += (*f)->get_int(k).ok();
    sink += (*f)->get_float(k).ok();
    sink += (*f)->get_bool(k).ok();
    sink += (*f)->get_string(k).ok();
    if (auto a = (*f)->get_string_array(k); a.ok()) sink += a->size();
    if (auto a = (*f)->get_int_array(k); a.ok()) sink += a->size();
    if (auto a = (*f)->get_float_array(k); a.ok()) sink += a->size();
  }
  for (const tandem::TensorView& t : (*f)->tensors()) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    CHECK(p >= data && t.nbytes <= size && static_cast<size_t>(p - data) <= size - t.nbytes,
          "tensor '{}' ({} bytes) lies outside the {}-byte input", t.name, t.nbytes, size);
    CHECK((*f)->find_tensor(t.name) == &t, "find_tensor('{}') misses", t.name);
    if (t.nbytes > 0) sink += p[0] + p[t.nbytes - 1];
  }
  volatile size_t keep = sink;
  (void)keep;
  return 0;
}
