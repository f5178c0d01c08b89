#include "persistence/lazy_database.hpp"

#include <spdlog/spdlog.h>

namespace topup {

void log_database_open_failed(const std::string& who, const std::string& failure) {
  spdlog::error("{} cannot open the database: {}", who, failure);
}

void log_database_reopened(const std::string& who, const store_config& cfg) {
  spdlog::info("{} reopened {}", who, describe_target(cfg));
}

} // namespace topup
