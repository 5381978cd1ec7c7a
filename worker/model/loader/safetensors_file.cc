#include "worker/model/loader/safetensors_file.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "worker/model/loader/byte_reader.h"
#include "worker/model/loader/safetensors_parse.h"

namespace tandem::model {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kIndexSuffix = ".safetensors.index.json";
constexpr std::string_view kShardSuffix = ".safetensors";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string label_of(const std::string& file) { return fmt::format("safetensors '{}'", file); }

}  // namespace

StatusOr<std::unique_ptr<SafetensorsCheckpoint>> SafetensorsCheckpoint::open(const std::string& path) {
  std::unique_ptr<SafetensorsCheckpoint> c(new SafetensorsCheckpoint());
  c->path_ = path;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    return not_found("safetensors checkpoint '{}' not found{}", path, ec ? ": " + ec.message() : "");
  }
  if (fs::is_directory(st)) {
    RETURN_IF_ERROR(c->open_directory(path));
  } else if (ends_with(path, ".index.json")) {
    RETURN_IF_ERROR(c->open_index(path));
  } else {
    RETURN_IF_ERROR(c->add_shard(path));
  }
  RETURN_IF_ERROR(c->build_index());
  return c;
}

StatusOr<std::unique_ptr<SafetensorsCheckpoint>> SafetensorsCheckpoint::open_from_memory(const void* data,
                                                                                         size_t size,
                                                                                         std::string name) {
  std::unique_ptr<SafetensorsCheckpoint> c(new SafetensorsCheckpoint());
  c->path_ = std::move(name);
  RETURN_IF_ERROR(c->add_image(static_cast<const uint8_t*>(data), size, c->path_));
  RETURN_IF_ERROR(c->build_index());
  return c;
}

const TensorView* SafetensorsCheckpoint::find_tensor(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsCheckpoint::open_directory(const std::string& dir) {
  const fs::path d(dir);
  std::error_code ec;
  if (fs::is_regular_file(d / "model.safetensors.index.json", ec)) {
    return open_index((d / "model.safetensors.index.json").string());
  }
  if (fs::is_regular_file(d / "model.safetensors", ec)) return add_shard((d / "model.safetensors").string());

  std::vector<std::string> indexes;
  std::vector<std::string> shards;
  for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!it->is_regular_file(ec)) continue;
    if (ends_with(name, kIndexSuffix)) indexes.push_back(it->path().string());
    if (ends_with(name, kShardSuffix)) shards.push_back(it->path().string());
  }
  if (ec) return not_found("cannot list safetensors checkpoint directory '{}': {}", dir, ec.message());
  if (indexes.size() == 1) return open_index(indexes[0]);
  if (indexes.size() > 1) {
    return invalid_argument("'{}' holds {} *{} files and no model.safetensors.index.json; pass the index to use",
                            dir, indexes.size(), kIndexSuffix);
  }
  if (shards.empty()) {
    return not_found("no model.safetensors, model.safetensors.index.json or *.safetensors files in '{}'", dir);
  }
  std::sort(shards.begin(), shards.end());
  for (const std::string& s : shards) RETURN_IF_ERROR(add_shard(s));
  return Status::Ok();
}

Status SafetensorsCheckpoint::open_index(const std::string& index_path) {
  const std::string label = label_of(index_path);
  ASSIGN_OR_RETURN(MmapFile index, MmapFile::open(index_path));
  if (index.size() > kMaxSafetensorsHeaderBytes) {
    return data_loss("{}: index of {} bytes is over the {}-byte limit", label, grouped(index.size()),
                     grouped(kMaxSafetensorsHeaderBytes));
  }
  std::vector<std::pair<std::string, std::string>> weight_map;
  RETURN_IF_ERROR(parse_safetensors_index(
      std::string_view(reinterpret_cast<const char*>(index.data()), index.size()), label, &weight_map));

  // Shards in order of first mention, each loaded once.
  const fs::path dir = fs::path(index_path).parent_path();
  std::vector<std::string> files;
  std::unordered_map<std::string, size_t> shard_index;
  for (const auto& [tensor, file] : weight_map) {
    if (shard_index.emplace(file, files.size()).second) files.push_back(file);
  }
  for (const std::string& file : files) {
    const std::string shard_path = (dir / file).string();
    std::error_code ec;
    if (!fs::exists(shard_path, ec)) {
      const auto listed = std::count_if(weight_map.begin(), weight_map.end(),
                                        [&](const auto& kv) { return kv.second == file; });
      return not_found("{}: shard '{}' (holding {} of the index's tensors) not found at '{}'; download every "
                       "shard the index lists",
                       label, file, listed, shard_path);
    }
    RETURN_IF_ERROR(add_shard(shard_path));
  }
  RETURN_IF_ERROR(build_index());
  for (const auto& [tensor, file] : weight_map) {
    const TensorView* t = find_tensor(tensor);
    const size_t want = shard_index.at(file);
    if (!t || shard_of_[static_cast<size_t>(t - tensors_.data())] != want) {
      return data_loss("{}: tensor '{}' is listed in shard '{}' but that file does not contain it; the index "
                       "and the shards do not match, download them again",
                       label, tensor, file);
    }
  }
  return Status::Ok();
}

Status SafetensorsCheckpoint::add_shard(const std::string& file) {
  ASSIGN_OR_RETURN(MmapFile map, MmapFile::open(file));
  maps_.push_back(std::move(map));  // the mapping's address survives the move
  return add_image(maps_.back().data(), maps_.back().size(), file);
}

Status SafetensorsCheckpoint::add_image(const uint8_t* data, size_t size, const std::string& file) {
  RETURN_IF_ERROR(parse_safetensors_shard(data, size, label_of(file), &tensors_));
  shard_of_.resize(tensors_.size(), shard_paths_.size());
  shard_paths_.push_back(file);
  return Status::Ok();
}

Status SafetensorsCheckpoint::build_index() {
  by_name_.clear();
  by_name_.reserve(tensors_.size());
  for (size_t i = 0; i < tensors_.size(); ++i) {
    auto [it, fresh] = by_name_.emplace(tensors_[i].name, i);
    if (!fresh) {
      const std::string& a = shard_paths_[shard_of_[it->second]];
      const std::string& b = shard_paths_[shard_of_[i]];
      if (a == b) {
        return data_loss("{}: tensor '{}' appears twice in the header; the file is corrupt", label_of(a),
                         tensors_[i].name);
      }
      return data_loss("tensor '{}' appears in both '{}' and '{}'; a checkpoint holds each tensor once", tensors_[i].name,
                       a, b);
    }
  }
  return Status::Ok();
}

}  // namespace tandem::model
