#pragma once

#include <chrono>
#include <cstdint>

namespace topup {

using mono_clock = std::chrono::steady_clock;
using mono_time = mono_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

/// The engine's only source of time. Durations come from the steady clock; wall time is
/// only for what is stored (accepted_at, deadline), so that a restart can re-arm timers.
/// Tests inject a manual clock and get exact, repeatable timing.
class clock {
public:
  virtual ~clock() = default;
  virtual mono_time now() const = 0;
  /// Milliseconds since the Unix epoch.
  virtual int64_t wall_ms() const = 0;
};

class system_clock final : public clock {
public:
  mono_time now() const override { return mono_clock::now(); }
  int64_t wall_ms() const override {
    return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
  }
};

/// A clock that moves only when told to.
class manual_clock final : public clock {
public:
  explicit manual_clock(int64_t wall_start_ms = 1'700'000'000'000) : wall_start_ms_(wall_start_ms) {}
  mono_time now() const override { return mono_time{} + elapsed_; }
  int64_t wall_ms() const override {
    return wall_start_ms_ + std::chrono::duration_cast<milliseconds>(elapsed_).count();
  }
  void advance(nanoseconds step) { elapsed_ += step; }

private:
  int64_t wall_start_ms_;
  nanoseconds elapsed_{0};
};

} // namespace topup
