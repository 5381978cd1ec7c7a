#include "tests/unit/loader/alloc_guard.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace tandem::model::testing {
namespace {
std::atomic<size_t> g_largest{0};

void note(size_t n) {
  size_t cur = g_largest.load(std::memory_order_relaxed);
  while (n > cur && !g_largest.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
  }
}

void* allocate(size_t n) {
  note(n);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void reset_largest_allocation() { g_largest.store(0); }
size_t largest_allocation() { return g_largest.load(); }

}  // namespace tandem::model::testing


void* operator new(size_t n) { return tandem::model::testing::allocate(n); }
void* operator new[](size_t n) { return tandem::model::testing::allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return tandem::model::testing::allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
