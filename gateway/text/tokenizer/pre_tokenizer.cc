#include "gateway/text/tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <utility>

namespace tandem::text {

const char* const kGpt2SplitRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

struct Segment {
  size_t start, end;
  bool is_match;
};

void emit(const Piece& piece, size_t start, size_t end, std::vector<Piece>* out) {
  if (end > start) out->push_back({piece.text.substr(start, end - start), piece.at_origin && start == 0});
}

// HF's NormalizedString::split: the matches and the gaps between them cover the piece; the
// behaviour decides which are dropped or glued to a neighbour.
void split_by_matches(const Piece& piece, const std::vector<MatchSpan>& matches, SplitBehavior behavior,
                      bool invert, std::vector<Piece>* out) {
  const size_t len = piece.text.size();
  if (behavior == SplitBehavior::kIsolated) {  // the hot path: every segment is its own piece
    size_t prev = 0;
    for (const MatchSpan& m : matches) {
      emit(piece, prev, m.start, out);
      emit(piece, m.start, m.end, out);
      prev = m.end;
    }
    emit(piece, prev, len, out);
    return;
  }
  std::vector<Segment> segs;
  size_t prev = 0;
  for (const MatchSpan& m : matches) {
    if (prev != m.start) segs.push_back({prev, m.start, invert});
    segs.push_back({m.start, m.end, !invert});
    prev = m.end;
  }
  if (prev != len) segs.push_back({prev, len, invert});

  std::vector<Segment> kept;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      break;
    case SplitBehavior::kRemoved:
      for (const Segment& s : segs) {
        if (!s.is_match) kept.push_back(s);
      }
      break;
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Segment& s : segs) {
        if (s.is_match == previous_match && !kept.empty()) {
          kept.back().end = s.end;
        } else {
          kept.push_back(s);
        }
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Segment& s : segs) {
        if (s.is_match && !previous_match && !kept.empty()) {
          kept.back().end = s.end;
        } else {
          kept.push_back(s);
        }
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;  // walking backwards: "previous" is the segment to the right
      for (size_t i = segs.size(); i-- > 0;) {
        const Segment& s = segs[i];
        if (s.is_match && !previous_match && !kept.empty()) {
          kept.back().start = s.start;
        } else {
          kept.push_back(s);
        }
        previous_match = s.is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
  }
  for (const Segment& s : kept) emit(piece, s.start, s.end, out);
}

void find_literal(std::string_view text, std::string_view literal, std::vector<MatchSpan>* out) {
  for (size_t pos = text.find(literal); pos != std::string_view::npos; pos = text.find(literal, pos + literal.size())) {
    out->push_back({pos, pos + literal.size()});
  }
}

}  // namespace

StatusOr<PreTokenizer> PreTokenizer::create(const std::vector<PreTokenizerStep>& steps) {
  PreTokenizer pt;
  for (size_t i = 0; i < steps.size(); ++i) {
    const PreTokenizerStep& spec = steps[i];
    Step step{spec, nullptr};
    if (spec.kind == PreTokenizerStep::Kind::kByteLevel) {
      if (i + 1 != steps.size()) {
        return unimplemented("pre-tokenizer step {} of {}: ByteLevel must be the last step (Tandem's BPE "
                             "model maps bytes itself)", i + 1, steps.size());
      }
      pt.byte_level_ = true;
    }
    if (spec.kind == PreTokenizerStep::Kind::kSplit ||
        (spec.kind == PreTokenizerStep::Kind::kByteLevel && spec.use_regex)) {
      const std::string pattern = spec.kind == PreTokenizerStep::Kind::kSplit ? spec.regex : kGpt2SplitRegex;
      auto re = Regex::compile(pattern);
      if (!re.ok()) return re.status().with_context(fmt::format("pre-tokenizer step {}", i + 1));
      step.regex = *re;
    }
    if (spec.kind == PreTokenizerStep::Kind::kMetaspace && spec.replacement.empty()) {
      return invalid_argument("pre-tokenizer step {}: Metaspace replacement is empty", i + 1);
    }
    pt.steps_.push_back(std::move(step));
  }
  return pt;
}

void PreTokenizer::apply(const Step& step, const Piece& piece, std::vector<Piece>* out,
                         std::deque<std::string>* arena, std::vector<MatchSpan>* scratch) const {
  const PreTokenizerStep& spec = step.spec;
  scratch->clear();
  switch (spec.kind) {
    case PreTokenizerStep::Kind::kSplit:
      step.regex->find_all(piece.text, scratch);
      split_by_matches(piece, *scratch, spec.behavior, spec.invert, out);
      return;
    case PreTokenizerStep::Kind::kByteLevel: {
      Piece p = piece;
      if (spec.add_prefix_space && !p.text.starts_with(' ')) {
        arena->push_back(" ");
        arena->back().append(p.text);
        p.text = arena->back();
      }
      if (!spec.use_regex) {
        out->push_back(p);
        return;
      }
      step.regex->find_all(p.text, scratch);
      split_by_matches(p, *scratch, SplitBehavior::kIsolated, false, out);
      return;
    }
    case PreTokenizerStep::Kind::kMetaspace: {
      std::string& s = arena->emplace_back();
      const bool prepend = spec.prepend_scheme == PrependScheme::kAlways ||
                           (spec.prepend_scheme == PrependScheme::kFirst && piece.at_origin);
      // The prefix goes on unless the text already starts with a (replaced) space.
      if (prepend && !piece.text.starts_with(' ') && !piece.text.starts_with(spec.replacement)) {
        s = spec.replacement;
      }
      for (char c : piece.text) {
        if (c == ' ') {
          s += spec.replacement;
        } else {
          s += c;
        }
      }
      const Piece p{s, piece.at_origin};
      if (!spec.split) {
        emit(p, 0, s.size(), out);
        return;
      }
      find_literal(s, spec.replacement, scratch);
      split_by_matches(p, *scratch, SplitBehavior::kMergedWithNext, false, out);
      return;
    }
  }
}

void PreTokenizer::split(std::string_view text, bool at_origin, std::vector<Piece>* out,
                         std::deque<std::string>* arena) const {
  if (text.empty()) return;
  if (steps_.empty()) {
    out->push_back({text, at_origin});
    return;
  }
  thread_local std::vector<MatchSpan> scratch;
  thread_local std::vector<Piece> current, next;
  current.assign(1, Piece{text, at_origin});
  for (size_t i = 0; i < steps_.size(); ++i) {
    std::vector<Piece>* target = i + 1 == steps_.size() ? out : &next;
    if (target == &next) next.clear();
    for (const Piece& p : current) apply(steps_[i], p, target, arena, &scratch);
    if (target == &next) std::swap(current, next);
  }
}

}  // namespace tandem::text
