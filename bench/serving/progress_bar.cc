#include "bench/serving/progress_bar.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace tandem::bench {

namespace {
constexpr int kWidth = 30;
}

ProgressBar::ProgressBar(int64_t total, bool wanted)
    : total_(total), enabled_(wanted && total > 0 && isatty(STDERR_FILENO) == 1) {}

void ProgressBar::draw(int64_t done, double elapsed_s) {
  if (!enabled_) return;
  const int filled = static_cast<int>(kWidth * done / total_);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  const double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0.0;
  std::fprintf(stderr, "\r[%s] %lld/%lld  %.1fs  %.2f req/s ", bar.c_str(), static_cast<long long>(done),
               static_cast<long long>(total_), elapsed_s, rate);
  std::fflush(stderr);
}

void ProgressBar::finish(int64_t done, double elapsed_s) {
  if (!enabled_) return;
  draw(done, elapsed_s);
  std::fputc('\n', stderr);
}

}  // namespace tandem::bench
