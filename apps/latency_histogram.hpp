#pragma once

// Latency quantiles without keeping every sample: buckets whose bounds grow geometrically, so
// the relative error is the same (the growth factor) at 5 µs as at 5 s.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

namespace topup {

class latency_histogram {
public:
  using duration = std::chrono::nanoseconds;

  /// Buckets from `lowest` to `highest`, each `growth` times wider than the one before.
  /// Samples below `lowest` count in the first bucket, above `highest` in the last; the
  /// exact maximum is kept apart.
  explicit latency_histogram(duration lowest = std::chrono::microseconds(1),
                             duration highest = std::chrono::seconds(10), double growth = 1.02)
    : lowest_ns_(static_cast<double>(lowest.count())), log_growth_(std::log(growth)),
      counts_(static_cast<size_t>(std::ceil(
                std::log(static_cast<double>(highest.count()) / lowest_ns_) / log_growth_))
              + 1) {}

  void record(duration latency) {
    counts_[bucket_of(static_cast<double>(latency.count()))]++;
    total_++;
    max_ = std::max(max_, latency);
  }

  uint64_t count() const { return total_; }
  duration max() const { return max_; }

  /// The latency that `fraction` (0..1] of the samples do not exceed: the upper bound of the
  /// bucket holding that rank, so at most one growth step above the truth, and never above
  /// the maximum seen. Zero without samples.
  duration quantile(double fraction) const {
    if (total_ == 0)
      return duration::zero();
    auto wanted = std::ceil(fraction * static_cast<double>(total_));
    auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(wanted));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank)
        return std::min(max_, upper_bound(i));
    }
    return max_;
  }

private:
  size_t bucket_of(double ns) const {
    if (ns < lowest_ns_)
      return 0;
    auto index = static_cast<size_t>(std::log(ns / lowest_ns_) / log_growth_);
    return std::min(index, counts_.size() - 1);
  }

  duration upper_bound(size_t bucket) const {
    return duration{static_cast<duration::rep>(
      std::ceil(lowest_ns_ * std::exp(log_growth_ * static_cast<double>(bucket + 1))))};
  }

  double lowest_ns_;
  double log_growth_;
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  duration max_{0};
};

} // namespace topup
