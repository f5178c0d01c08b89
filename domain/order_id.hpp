#pragma once

#include <cstdint>
#include <string>

namespace topup {

/// Makes order ids unique across nodes and restarts without asking the database:
/// "<node>-<start time base36>-<sequence base36>", e.g. "demo-1-lx3k9a2b-1f".
/// Two processes collide only if one node name starts twice in the same millisecond, and even
/// then the primary key refuses the second row instead of overwriting the first.
class order_id_generator {
public:
  order_id_generator(std::string node_name, int64_t start_wall_ms);
  std::string next();

private:
  std::string prefix_;
  uint64_t sequence_ = 0;
};

/// Lower-case base-36 digits of a number.
std::string to_base36(uint64_t value);

} // namespace topup
