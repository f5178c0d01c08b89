#include "domain/retention.hpp"

#include "domain/civil_time.hpp"

#include <limits>

namespace topup {

std::vector<std::string> archivable_statuses() {
  std::vector<std::string> names;
  for (auto status : all_order_statuses)
    if (is_final(status))
      names.emplace_back(to_string(status));
  return names;
}

int64_t archive_cutoff_ms(int64_t now_ms, int64_t keep_ms) {
  if (keep_ms < 0 || now_ms < std::numeric_limits<int64_t>::min() + keep_ms)
    return std::numeric_limits<int64_t>::min();  // nothing is old enough
  return now_ms - keep_ms;
}

std::vector<callback_state> prunable_callback_states() {
  return {callback_state::delivered, callback_state::abandoned};
}

std::string archive_file_name(int64_t now_ms) {
  return "orders-" + format_day(now_ms, 0) + ".sqlite";
}

} // namespace topup
