// Reading a GetTokenizer bundle: check the streamed SHA-256, then list and extract the zip entries
// (stored or deflated, as Python's zipfile writes them for SGLang workers). Limits mirror SMG's
// client: at most 50 entries, 500 MiB uncompressed, no absolute or ".." names.
// Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tandem::gateway::client {

struct ArchiveFile {
  std::string name;
  std::string data;
};

inline constexpr size_t kMaxArchiveEntries = 50;
inline constexpr uint64_t kMaxArchiveBytes = 500ull << 20;

// DATA_LOSS for a corrupt or truncated archive (naming the entry), INVALID_ARGUMENT for unsafe
// names or limits exceeded, UNIMPLEMENTED for a compression method other than stored/deflate.
StatusOr<std::vector<ArchiveFile>> read_zip(std::string_view zip);

// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);

}  // namespace tandem::gateway::client
