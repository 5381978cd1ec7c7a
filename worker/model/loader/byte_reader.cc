#include "worker/model/loader/byte_reader.h"

#include "common/check.h"

namespace tandem::model {

std::string grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

void ByteReader::seek(size_t pos) {
  CHECK(pos <= size_, "seek to {} past the end of a {}-byte image", pos, size_);
  pos_ = pos;
}

Status ByteReader::truncated(uint64_t need, std::string_view what) const {
  return data_loss("file ends while reading {} at offset {}: needs {} bytes, {} left (file has {})", what,
                   grouped(pos_), grouped(need), grouped(remaining()), grouped(size_));
}

}  // namespace tandem::model
