// Random identifiers (request ids, completion ids, tool-call ids): `words` × 16 lowercase hex
// digits from a per-thread generator seeded by std::random_device. Thread-safe; not for secrets.
#pragma once

#include <random>
#include <string>

#include <fmt/format.h>

namespace tandem {

inline std::string random_hex_id(int words = 2) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  for (int i = 0; i < words; ++i) out += fmt::format("{:016x}", rng());
  return out;
}

}  // namespace tandem
