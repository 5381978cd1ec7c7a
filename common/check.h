// CHECK(cond, "fmt", values...): invariants and programmer errors. Prints the failed condition,
// the location and the formatted values, then aborts. Never use for bad user input (use Status).
#pragma once

#include <fmt/format.h>

namespace tandem::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& msg);
}  // namespace tandem::detail

#define CHECK(cond, ...)                                                                   \
  do {                                                                                     \
    if (__builtin_expect(!(cond), 0)) {                                                    \
      ::tandem::detail::check_failed(__FILE__, __LINE__, #cond,                            \
                                     std::string(__VA_OPT__(::fmt::format(__VA_ARGS__))));  \
    }                                                                                      \
  } while (0)

#ifdef NDEBUG
#define DCHECK(cond, ...) \
  do {                    \
  } while (0)
#else
#define DCHECK(cond, ...) CHECK(cond __VA_OPT__(, ) __VA_ARGS__)
#endif
