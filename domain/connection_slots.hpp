#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>

namespace topup {

/// Which connections a listener keeps open: at most `cap`. A connection is pending until its
/// handshake is complete. A new connection beyond the cap takes the place of the oldest
/// pending one, so that connections that never send a byte cannot keep real clients out
/// (they are closed at their handshake deadline as well); when every open connection is
/// established, the new one is refused.
class connection_slots {
public:
  explicit connection_slots(size_t cap) : cap_(cap) {}

  struct admission {
    bool accepted = false;
    std::optional<uint64_t> evicted;  ///< close this pending connection to make room
  };

  /// A connection `id` (never used before) was accepted by the socket.
  admission admit(uint64_t id);

  /// `id` completed its handshake: it is never evicted.
  void established(uint64_t id);

  /// `id` is gone (closed by either side, evicted, timed out); unknown ids are ignored.
  void closed(uint64_t id);

  bool is_pending(uint64_t id) const { return pending_index_.count(id) > 0; }
  size_t open() const { return pending_.size() + established_; }
  size_t pending() const { return pending_.size(); }
  size_t cap() const { return cap_; }

private:
  size_t cap_;
  std::list<uint64_t> pending_;  ///< oldest first
  std::unordered_map<uint64_t, std::list<uint64_t>::iterator> pending_index_;
  std::unordered_map<uint64_t, bool> known_;  ///< every open id; true once established
  size_t established_ = 0;
};

} // namespace topup
