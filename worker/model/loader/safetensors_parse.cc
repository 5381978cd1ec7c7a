#include "worker/model/loader/safetensors_parse.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "worker/model/loader/byte_reader.h"

namespace tandem::model {

namespace json = boost::json;

namespace {

// JSON nesting beyond this is hostile: a real header is two levels deep.
constexpr unsigned kMaxJsonDepth = 16;

struct DtypeName {
  std::string_view name;
  std::optional<DType> dtype;  // nullopt: a safetensors dtype Tandem does not load
};
constexpr DtypeName kDtypes[] = {
    {"F32", DType::kF32},    {"F16", DType::kF16},      {"BF16", DType::kBF16},      {"F64", std::nullopt},
    {"I8", std::nullopt},    {"U8", std::nullopt},      {"I16", std::nullopt},       {"U16", std::nullopt},
    {"I32", std::nullopt},   {"U32", std::nullopt},     {"I64", std::nullopt},       {"U64", std::nullopt},
    {"BOOL", std::nullopt},  {"F8_E4M3", std::nullopt}, {"F8_E5M2", std::nullopt},   {"F8_E8M0", std::nullopt},
    {"F4", std::nullopt},    {"F6_E2M3", std::nullopt}, {"F6_E3M2", std::nullopt},   {"C64", std::nullopt},
};

Status parse_json(std::string_view text, const std::string& label, std::string_view what, json::value* out) {
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  json::error_code ec;
  try {
    *out = json::parse(json::string_view(text.data(), text.size()), ec, json::storage_ptr(), opts);
  } catch (const std::exception& e) {  // allocation failure: Boost's only throw on this path
    return data_loss("{}: cannot parse the {}: {}", label, what, e.what());
  }
  if (ec) return data_loss("{}: the {} is not valid JSON: {}; the file is corrupt", label, what, ec.message());
  return Status::Ok();
}

// A non-negative JSON integer (int64 or uint64 storage), else nullopt.
std::optional<uint64_t> as_count(const json::value& v) {
  if (v.is_int64()) {
    if (v.get_int64() < 0) return std::nullopt;
    return static_cast<uint64_t>(v.get_int64());
  }
  if (v.is_uint64()) return v.get_uint64();
  return std::nullopt;
}

Status parse_entry(std::string_view name, const json::value& entry, const std::string& label, size_t data_start,
                   size_t data_len, const uint8_t* data, TensorView* t) {
  t->name.assign(name.data(), name.size());
  const json::object* obj = entry.if_object();
  if (!obj) return data_loss("{}: entry '{}' is not a JSON object; the file is corrupt", label, name);
  const json::value* dtype_v = obj->if_contains("dtype");
  const json::value* shape_v = obj->if_contains("shape");
  const json::value* offsets_v = obj->if_contains("data_offsets");
  if (!dtype_v || !dtype_v->is_string() || !shape_v || !shape_v->is_array() || !offsets_v ||
      !offsets_v->is_array()) {
    return data_loss("{}: tensor '{}' lacks a string 'dtype', an array 'shape' or an array 'data_offsets'; the "
                     "file is corrupt",
                     label, name);
  }
  const std::string_view dtype_name(dtype_v->get_string().data(), dtype_v->get_string().size());
  const DtypeName* known = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                        [&](const DtypeName& d) { return d.name == dtype_name; });
  if (known == std::end(kDtypes) || !known->dtype) {
    return unimplemented("{}: tensor '{}' has dtype {}{}, which Tandem does not load (F32, F16 and BF16 do); "
                         "convert the checkpoint to one of those",
                         label, name, dtype_name, known == std::end(kDtypes) ? " (unknown)" : "");
  }
  t->dtype = *known->dtype;

  uint64_t numel = 1;
  for (const json::value& d : shape_v->get_array()) {
    std::optional<uint64_t> n = as_count(d);
    if (!n || *n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(numel, *n, &numel) ||
        numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return data_loss("{}: tensor '{}' has a shape that is not a list of non-negative integers with an int64 "
                       "element count; the file is corrupt",
                       label, name);
    }
    t->shape.push_back(static_cast<int64_t>(*n));
  }
  const json::array& offsets = offsets_v->get_array();
  std::optional<uint64_t> begin = offsets.size() == 2 ? as_count(offsets[0]) : std::nullopt;
  std::optional<uint64_t> end = offsets.size() == 2 ? as_count(offsets[1]) : std::nullopt;
  if (!begin || !end || *begin > *end) {
    return data_loss("{}: tensor '{}' data_offsets must be two non-negative integers [begin, end] with "
                     "begin <= end; the file is corrupt",
                     label, name);
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_info(t->dtype).block_bytes), &nbytes)) {
    return data_loss("{}: tensor '{}' byte size overflows 64 bits; the file is corrupt", label, name);
  }
  if (*end - *begin != nbytes) {
    return data_loss("{}: tensor '{}' of shape {} and dtype {} needs {} bytes but its data_offsets [{}, {}] span {}; "
                     "the file is corrupt",
                     label, name, t->shape_string(), dtype_name, grouped(nbytes), *begin, *end,
                     grouped(*end - *begin));
  }
  if (*end > data_len) {
    // *begin <= *end <= data_len beyond this point, so data_start + *begin cannot overflow.
    return data_loss("{}: model file truncated: tensor '{}' needs {} bytes at offset {}, file has {}; the download "
                     "was cut short, fetch the file again",
                     label, name, grouped(nbytes), grouped(static_cast<uint64_t>(data_start) + *begin),
                     grouped(data_start + data_len));
  }
  t->nbytes = static_cast<size_t>(nbytes);
  t->data = data + data_start + *begin;
  return Status::Ok();
}

}  // namespace

Status parse_safetensors_shard(const uint8_t* data, size_t size, const std::string& label,
                               std::vector<TensorView>* out) {
  if (size < 8) {
    return data_loss("{}: file is {} bytes, too short for the 8-byte header length; it is empty or truncated",
                     label, size);
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, data, 8);
  if (header_len > kMaxSafetensorsHeaderBytes) {
    return data_loss("{}: header length {} is over the {}-byte limit; this is not a safetensors file or it is "
                     "corrupt",
                     label, grouped(header_len), grouped(kMaxSafetensorsHeaderBytes));
  }
  if (header_len > size - 8) {
    return data_loss("{}: header of {} bytes runs past the end of the {}-byte file; the file is truncated", label,
                     grouped(header_len), grouped(size));
  }
  json::value doc;
  RETURN_IF_ERROR(parse_json(std::string_view(reinterpret_cast<const char*>(data) + 8, header_len), label,
                             "header", &doc));
  const json::object* top = doc.if_object();
  if (!top) return data_loss("{}: header is not a JSON object; the file is corrupt", label);

  const size_t data_start = 8 + static_cast<size_t>(header_len);
  const size_t data_len = size - data_start;
  const size_t first = out->size();
  for (const json::key_value_pair& kv : *top) {
    const std::string_view name(kv.key().data(), kv.key().size());
    if (name == "__metadata__") {
      if (!kv.value().is_object()) return data_loss("{}: __metadata__ is not a JSON object; the file is corrupt", label);
      continue;
    }
    TensorView t;
    RETURN_IF_ERROR(parse_entry(name, kv.value(), label, data_start, data_len, data, &t));
    out->push_back(std::move(t));
  }

  // Overlapping tensors mean a corrupt header (or a hand-made file aliasing data): refuse both.
  std::vector<const TensorView*> by_offset;
  for (size_t i = first; i < out->size(); ++i) {
    if ((*out)[i].nbytes > 0) by_offset.push_back(&(*out)[i]);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorView* a, const TensorView* b) { return a->data < b->data; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorView* prev = by_offset[i - 1];
    if (static_cast<const uint8_t*>(prev->data) + prev->nbytes > by_offset[i]->data) {
      return data_loss("{}: tensors '{}' and '{}' overlap in the data section; the file is corrupt", label,
                       prev->name, by_offset[i]->name);
    }
  }
  return Status::Ok();
}

Status parse_safetensors_index(std::string_view text, const std::string& label,
                               std::vector<std::pair<std::string, std::string>>* weight_map) {
  json::value doc;
  RETURN_IF_ERROR(parse_json(text, label, "index", &doc));
  const json::object* top = doc.if_object();
  const json::value* map_v = top ? top->if_contains("weight_map") : nullptr;
  if (!map_v || !map_v->is_object()) {
    return data_loss("{}: expected a JSON object with a 'weight_map' object (tensor name -> shard file)", label);
  }
  for (const json::key_value_pair& kv : map_v->get_object()) {
    const json::string* shard = kv.value().if_string();
    if (!shard) {
      return data_loss("{}: weight_map entry '{}' is not a string shard file name", label,
                       std::string_view(kv.key().data(), kv.key().size()));
    }
    std::string file(shard->data(), shard->size());
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos) {
      return data_loss("{}: weight_map entry '{}' names shard '{}', which is not a plain file name in the index's "
                       "directory",
                       label, std::string_view(kv.key().data(), kv.key().size()), file);
    }
    weight_map->emplace_back(std::string(kv.key().data(), kv.key().size()), std::move(file));
  }
  return Status::Ok();
}

}  // namespace tandem::model
