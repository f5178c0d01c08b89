#include "apps/bench/run_progress.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <unistd.h>

namespace topup::bench {

run_progress::run_progress(const workload& load, store_config store, bool clustered,
                           std::string ref_prefix, steady_time start)
  // Counting a million pending orders every second would only slow the node that holds them.
  : counts_terminal_(load.name != "hold"), store_config_(std::move(store)), clustered_(clustered),
    ref_prefix_(std::move(ref_prefix)), start_(start), throttle_(::isatty(STDERR_FILENO) == 1),
    rate_at_(start) {}

uint64_t run_progress::terminal_now() {
  if (!counts_terminal_)
    return 0;
  auto now = steady_clock::now();
  if (now - last_done_poll_ < std::chrono::seconds(1))
    return last_done_;
  last_done_poll_ = now;
  try {
    if (!store_ && (clustered_ || std::filesystem::exists(store_config_.sqlite_path)))
      store_ = std::make_unique<store_reader>(store_config_);
    if (store_)
      last_done_ = store_->count_terminal(ref_prefix_);
  } catch (const std::exception& error) {
    spdlog::debug("progress: {}", error.what());
  }
  return last_done_;
}

void run_progress::show(shared_book& shared, steady_time now, const std::string& phase,
                        bool force) {
  progress_sample sample;
  {
    std::lock_guard<std::mutex> lock{shared.mutex};
    const auto& book = shared.book;
    sample.offered = book.offered();
    sample.accepted = book.acknowledged();
    sample.in_flight = book.in_flight();
    sample.total = book.total();
  }
  if (now - rate_at_ >= std::chrono::seconds(1)) {
    rate_ = static_cast<double>(sample.accepted - rate_base_) / seconds_between(rate_at_, now);
    rate_base_ = sample.accepted;
    rate_at_ = now;
  }
  sample.done = terminal_now();
  sample.rate = rate_;
  sample.elapsed_s = seconds_between(start_, now);
  sample.phase = phase;
  if (!throttle_.due(now) && !force)
    return;
  auto line = render_progress_line(sample);
  if (throttle_.terminal())
    std::cerr << '\r' << line << "\033[K" << std::flush;
  else
    std::cerr << "topup-bench: " << line << std::endl;
}

void run_progress::end_line() {
  if (throttle_.terminal())
    std::cerr << '\n';
}

} // namespace topup::bench
