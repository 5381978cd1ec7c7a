#include "gateway/text/tokenizer/normalizer.h"

#include <utility>

namespace tandem::text {

Normalizer::Normalizer(std::vector<NormalizerStep> steps) : steps_(std::move(steps)) {
  for (const NormalizerStep& s : steps_) {
    if (s.kind != NormalizerStep::Kind::kNfc) active_ = true;
  }
}

std::string Normalizer::apply(std::string_view text) const {
  std::string cur(text);
  for (const NormalizerStep& s : steps_) {
    switch (s.kind) {
      case NormalizerStep::Kind::kNfc:
        break;
      case NormalizerStep::Kind::kPrepend:
        if (!cur.empty()) cur.insert(0, s.content);  // HF prepends to non-empty text only
        break;
      case NormalizerStep::Kind::kReplace: {
        if (s.pattern.empty()) break;
        std::string out;
        out.reserve(cur.size());
        size_t pos = 0;
        for (size_t hit = cur.find(s.pattern); hit != std::string::npos; hit = cur.find(s.pattern, pos)) {
          out.append(cur, pos, hit - pos);
          out += s.content;
          pos = hit + s.pattern.size();
        }
        out.append(cur, pos, std::string::npos);
        cur = std::move(out);
        break;
      }
    }
  }
  return cur;
}

}  // namespace tandem::text
