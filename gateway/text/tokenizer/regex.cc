#include "gateway/text/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <spdlog/spdlog.h>

#include "common/check.h"

namespace tandem::text {
namespace {

// Per-thread match data and JIT stack. The default 32 KiB JIT stack can overflow on patterns
// with lookahead over very long whitespace runs, so each thread gets up to 4 MiB.
struct ThreadMatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  ThreadMatchState() {
    data = pcre2_match_data_create(8, nullptr);  // only the whole match is read
    context = pcre2_match_context_create(nullptr);
    jit_stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    if (jit_stack != nullptr) pcre2_jit_stack_assign(context, nullptr, jit_stack);
    CHECK(data != nullptr && context != nullptr, "pcre2: out of memory creating match data");
  }
  ~ThreadMatchState() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    if (jit_stack != nullptr) pcre2_jit_stack_free(jit_stack);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState state;
  return state;
}

// pcre2_match, retried without JIT when the JIT stack runs out (the interpreter keeps its
// backtracking state on the heap).
int match(pcre2_code* code, PCRE2_SPTR s, size_t len, size_t pos, uint32_t options, ThreadMatchState& st) {
  int rc = pcre2_match(code, s, len, pos, options, st.data, st.context);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    rc = pcre2_match(code, s, len, pos, options | PCRE2_NO_JIT, st.data, st.context);
  }
  return rc;
}

}  // namespace

StatusOr<std::shared_ptr<const Regex>> Regex::compile(const std::string& pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(error, buf, sizeof(buf));
    return invalid_argument("regex does not compile at offset {}: {} (pattern: {})", offset,
                            reinterpret_cast<const char*>(buf), pattern);
  }
  // JIT is an optimisation only: without it (unsupported CPU, SELinux) matching still works.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::shared_ptr<Regex> re(new Regex());
  re->code_ = code;
  re->pattern_ = pattern;
  return std::shared_ptr<const Regex>(std::move(re));
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::find_all(std::string_view subject, std::vector<MatchSpan>* out) const {
  auto* code = static_cast<pcre2_code*>(code_);
  ThreadMatchState& st = thread_state();
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t pos = 0;
  uint32_t options = 0;
  while (pos <= subject.size()) {
    const int rc = match(code, s, subject.size(), pos, options, st);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    // rc == 0 only means the ovector was too small for the capture groups; the match stands.
    if (rc < 0) {
      // A resource limit on hostile input: leave the rest unsplit rather than fail the request.
      spdlog::warn("tokenizer regex gave up at byte {} of {} (pcre2 error {}); rest left unsplit", pos,
                   subject.size(), rc);
      break;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    const size_t start = ov[0], end = ov[1];
    out->push_back({start, end});
    if (end > start) {
      // Like Oniguruma and Rust's regex (and unlike Perl), no empty match right where the
      // previous match ended; it matters for the Merged*/Contiguous split behaviours.
      pos = end;
      options = PCRE2_NOTEMPTY_ATSTART;
      continue;
    }
    options = 0;
    if (end >= subject.size()) break;
    // Empty match: step over one character (a whole UTF-8 sequence when there is one).
    size_t step = 1;
    while (end + step < subject.size() && (static_cast<uint8_t>(subject[end + step]) & 0xC0) == 0x80 && step < 4) {
      ++step;
    }
    pos = end + step;
  }
}

bool Regex::search(std::string_view subject) const {
  ThreadMatchState& st = thread_state();
  const int rc = match(static_cast<pcre2_code*>(code_), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                       subject.size(), 0, 0, st);
  return rc >= 0;
}

std::string regex_escape(std::string_view literal) {
  // \Q...\E quotes everything except a literal "\E", which is split across two quoted runs.
  std::string out = "\\Q";
  for (size_t i = 0; i < literal.size(); ++i) {
    if (literal[i] == '\\' && i + 1 < literal.size() && literal[i + 1] == 'E') {
      out += "\\E\\\\\\QE";
      ++i;
    } else {
      out += literal[i];
    }
  }
  out += "\\E";
  return out;
}

}  // namespace tandem::text
