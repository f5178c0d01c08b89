#include "apps/cli/progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

namespace topup::cli {

std::string render_progress(size_t done, size_t total, double elapsed_s, size_t bar_width) {
  done = std::min(done, total);
  auto fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  auto filled = static_cast<size_t>(fraction * static_cast<double>(bar_width));
  auto rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0.0;
  return fmt::format("[{}{}] {:3}% {}/{} orders, {:.0f}/s", std::string(filled, '#'),
                     std::string(bar_width - filled, '-'),
                     static_cast<int>(fraction * 100.0), done, total, rate);
}

progress_bar::progress_bar(std::ostream& out, size_t total, bool enabled)
  : out_(out), total_(total), enabled_(enabled) {}

void progress_bar::update(size_t done) {
  if (!enabled_)
    return;
  auto now = clock::now();
  // Redrawing for every batch would cost more than the submission on a slow terminal.
  if (visible_ && done < total_ && now - last_drawn_ < std::chrono::milliseconds(100))
    return;
  last_drawn_ = now;
  auto elapsed = std::chrono::duration<double>(now - started_).count();
  // "\r" returns to the line start, "\033[K" erases what a longer previous line left.
  out_ << '\r' << render_progress(done, total_, elapsed, 30) << "\033[K" << std::flush;
  visible_ = true;
}

void progress_bar::clear() {
  if (!enabled_ || !visible_)
    return;
  out_ << "\r\033[K" << std::flush;
  visible_ = false;
}

} // namespace topup::cli
