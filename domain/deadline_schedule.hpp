#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace topup {

/// The reminders of the deadline actor: for every tracked order one at each re-send point
/// and one at its deadline. It keeps a single binary heap entry per order (its next
/// reminder), in one contiguous vector: no closure, timer or allocation per reminder, and no
/// scan; the actor arms one CAF timer for the earliest entry. Finished orders are not removed
/// (that would need an index); their reminders fire and the receiver drops unknown ids.
class deadline_schedule {
public:
  /// `resend_before_deadline_ms`: how long before the deadline each re-send point lies
  /// (180 s limit with re-sends at 120 s and 160 s: {60000, 20000}).
  explicit deadline_schedule(std::vector<int64_t> resend_before_deadline_ms);

  /// Starts reminding about an order. Re-send points already past at `now_ms` are skipped;
  /// a deadline already past is due at once.
  void track(std::string order_id, int64_t deadline_ms, int64_t now_ms);

  struct due_reminders {
    std::vector<std::string> resend;   ///< orders at a re-send point
    std::vector<std::string> expire;   ///< orders at their deadline
  };

  /// Removes and returns every reminder due at `now_ms`.
  due_reminders take_due(int64_t now_ms);

  /// When the earliest reminder is due.
  std::optional<int64_t> next_due_ms() const;

  size_t size() const { return heap_.size(); }

private:
  struct entry {
    int64_t due_ms;
    int64_t deadline_ms;
    uint32_t stage;  ///< index into resend points; == their count: the deadline itself
    std::string order_id;
  };
  static bool later(const entry& a, const entry& b) { return a.due_ms > b.due_ms; }
  int64_t due_at(int64_t deadline_ms, uint32_t stage) const;
  void push(entry e);

  std::vector<int64_t> resend_before_deadline_ms_;
  std::vector<entry> heap_;
};

} // namespace topup
