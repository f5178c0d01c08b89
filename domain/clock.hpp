#pragma once

#include <chrono>
#include <cstdint>

namespace topup {

using mono_clock = std::chrono::steady_clock;
using mono_time = mono_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

/// The engine's only source of time. Two clocks, for two jobs:
/// - now(), steady: every duration and every decision inside a running process (timers,
///   backoff, expiry, "no attempt later than deadline - call timeout"). It never jumps.
/// - wall_ms(): what is stored or shown (accepted_at, deadline, the times of the history),
///   so that a restart can find the deadlines again. NTP may step it forward or back at any
///   moment, so no decision of a running process compares it with a stored time: a stored
///   deadline is mapped onto the steady clock once (steady_deadline), when the order enters
///   the process, and judged on the steady clock from then on.
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

/// A clock that moves only when told to. advance() moves both clocks together, as time
/// passing does; step_wall() moves the wall clock alone, as NTP stepping the system clock
/// does (forward or back).
class manual_clock final : public clock {
public:
  explicit manual_clock(int64_t wall_start_ms = 1'700'000'000'000) : wall_start_ms_(wall_start_ms) {}
  mono_time now() const override { return mono_time{} + elapsed_; }
  int64_t wall_ms() const override {
    return wall_start_ms_ + wall_step_ms_ + std::chrono::duration_cast<milliseconds>(elapsed_).count();
  }
  void advance(nanoseconds step) { elapsed_ += step; }
  void step_wall(milliseconds step) { wall_step_ms_ += step.count(); }

private:
  int64_t wall_start_ms_;
  int64_t wall_step_ms_ = 0;
  nanoseconds elapsed_{0};
};

/// Milliseconds since the steady clock's epoch: the time base of the engine's deadline
/// reminders and queues (comparable only within one process).
inline int64_t steady_ms(mono_time t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

/// Where the wall-clock time `wall_ms` lies on the steady clock, judged from one reading of
/// both clocks now. Right as long as the wall clock is not stepped between the moment
/// `wall_ms` was computed and this call: call it once per order, as early as possible (at
/// acceptance the steady deadline is computed directly instead). After a restart the stored
/// wall-clock deadline is the only reference there is, so a step of the wall clock while the
/// process was down moves the deadline of every order it held by that step.
inline mono_time steady_time_of(int64_t wall_ms, const clock& time) {
  return time.now() + milliseconds{wall_ms - time.wall_ms()};
}

} // namespace topup
