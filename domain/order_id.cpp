#include "domain/order_id.hpp"

#include "domain/store_shards.hpp"

#include <algorithm>

namespace topup {

std::string to_base36(uint64_t value) {
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string text;
  do {
    text.push_back(digits[value % 36]);
    value /= 36;
  } while (value != 0);
  std::reverse(text.begin(), text.end());
  return text;
}

order_id_generator::order_id_generator(std::string node_name, int64_t start_wall_ms,
                                       size_t shards)
  : prefix_(std::move(node_name) + "-" + to_base36(static_cast<uint64_t>(start_wall_ms)) + "-"),
    shards_(shards) {}

std::string order_id_generator::next() {
  return prefix_ + to_base36(++sequence_);
}

std::string order_id_generator::next_for(const std::string& merchant,
                                         const std::string& client_ref) {
  if (shards_ <= 1)
    return next();
  return id_with_shard(next(), shard_of_key(merchant, client_ref, shards_));
}

} // namespace topup
