#include "gateway/client/tokenizer_archive.h"

#include <cstring>

#include <openssl/evp.h>
#include <zlib.h>

namespace tandem::gateway::client {

namespace {

uint32_t le(std::string_view s, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + static_cast<size_t>(i)]);
  return v;
}

bool safe_name(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.front() == '\\') return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return name.find(':') == std::string_view::npos;
}

StatusOr<std::string> inflate_raw(std::string_view in, uint32_t expected, const std::string& name) {
  std::string out(expected, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return internal_error("zlib inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  const uLong produced = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != expected) {
    return data_loss("zip entry '{}': deflate data is corrupt (zlib {}, {} of {} bytes)", name, rc, produced,
                     expected);
  }
  return out;
}

}  // namespace

StatusOr<std::vector<ArchiveFile>> read_zip(std::string_view zip) {
  // Find the end-of-central-directory record (22 bytes + up to 64 KiB comment) from the back.
  if (zip.size() < 22) return data_loss("tokenizer archive is {} bytes: too short to be a zip", zip.size());
  size_t eocd = std::string_view::npos;
  const size_t lowest = zip.size() > 22 + 65535 ? zip.size() - 22 - 65535 : 0;
  for (size_t at = zip.size() - 22 + 1; at-- > lowest;) {
    if (le(zip, at, 4) == 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd == std::string_view::npos) return data_loss("tokenizer archive has no zip end record (truncated?)");
  const uint32_t count = le(zip, eocd + 10, 2);
  const uint32_t cd_size = le(zip, eocd + 12, 4);
  const uint32_t cd_off = le(zip, eocd + 16, 4);
  if (count > kMaxArchiveEntries) {
    return invalid_argument("tokenizer archive has {} entries, more than the {} allowed", count, kMaxArchiveEntries);
  }
  if (static_cast<uint64_t>(cd_off) + cd_size > eocd) return data_loss("zip central directory lies outside the file");

  std::vector<ArchiveFile> files;
  uint64_t total = 0;
  size_t p = cd_off;
  for (uint32_t i = 0; i < count; ++i) {
    if (p + 46 > eocd || le(zip, p, 4) != 0x02014b50) return data_loss("zip central directory entry {} is corrupt", i);
    const uint32_t method = le(zip, p + 10, 2);
    const uint32_t crc = le(zip, p + 16, 4);
    const uint32_t csize = le(zip, p + 20, 4);
    const uint32_t usize = le(zip, p + 24, 4);
    const uint32_t nlen = le(zip, p + 28, 2), xlen = le(zip, p + 30, 2), clen = le(zip, p + 32, 2);
    const uint32_t local = le(zip, p + 42, 4);
    if (p + 46 + nlen > eocd) return data_loss("zip central directory entry {} is truncated", i);
    std::string name(zip.substr(p + 46, nlen));
    p += 46 + nlen + xlen + clen;
    if (!safe_name(name)) return invalid_argument("tokenizer archive entry '{}' has an unsafe path", name);
    total += usize;
    if (total > kMaxArchiveBytes) {
      return invalid_argument("tokenizer archive expands to more than {} bytes", kMaxArchiveBytes);
    }
    if (name.back() == '/') continue;  // directory entry
    if (static_cast<uint64_t>(local) + 30 > zip.size() || le(zip, local, 4) != 0x04034b50) {
      return data_loss("zip entry '{}': local header missing at offset {}", name, local);
    }
    const size_t data_at = local + 30 + le(zip, local + 26, 2) + le(zip, local + 28, 2);
    if (data_at + static_cast<uint64_t>(csize) > zip.size()) {
      return data_loss("zip entry '{}': {} bytes at offset {} run past the end ({} bytes)", name, csize, data_at,
                       zip.size());
    }
    const std::string_view raw = zip.substr(data_at, csize);
    ArchiveFile f;
    f.name = name;
    if (method == 0) {
      if (csize != usize) return data_loss("zip entry '{}': stored sizes differ ({} vs {})", name, csize, usize);
      f.data.assign(raw);
    } else if (method == 8) {
      ASSIGN_OR_RETURN(f.data, inflate_raw(raw, usize, name));
    } else {
      return unimplemented("zip entry '{}' uses compression method {}; only stored (0) and deflate (8) are read",
                           name, method);
    }
    const uint32_t got = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(f.data.data()), static_cast<uInt>(f.data.size())));
    if (got != crc) return data_loss("zip entry '{}': CRC-32 {:08x} does not match the recorded {:08x}", name, got, crc);
    files.push_back(std::move(f));
  }
  return files;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

}  // namespace tandem::gateway::client
