#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace topup {

/// Makes order ids unique across nodes and restarts without asking the database:
/// "<node>-<start time base36>-<sequence base36>", e.g. "demo-1-lx3k9a2b-1f"; in a store of
/// several shards followed by ".<shard>" (domain/store_shards), e.g. "demo-1-lx3k9a2b-1f.2",
/// the shard its idempotency key places it in.
/// Two processes collide only if one node name starts twice in the same millisecond, and even
/// then the primary key refuses the second row instead of overwriting the first.
class order_id_generator {
public:
  /// `shards`: how many shards the store has (1: ids carry no shard mark).
  order_id_generator(std::string node_name, int64_t start_wall_ms, size_t shards = 1);
  std::string next();
  /// The next id of the order of `merchant` with `client_ref`, marked with its shard.
  std::string next_for(const std::string& merchant, const std::string& client_ref);

private:
  std::string prefix_;
  size_t shards_ = 1;
  uint64_t sequence_ = 0;
};

/// Lower-case base-36 digits of a number.
std::string to_base36(uint64_t value);

} // namespace topup
