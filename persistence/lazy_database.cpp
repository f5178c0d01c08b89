#include "persistence/lazy_database.hpp"

#include <spdlog/spdlog.h>

namespace topup {

void log_database_open_failed(const std::string& who, const std::string& failure,
                              const std::string& suffix) {
  spdlog::error("{} cannot open the database: {}{}", who, failure, suffix);
}

void log_database_recovered(const std::string& who, const store_config& cfg,
                            uint32_t failures, const std::string& suffix) {
  spdlog::info("{} works again on {} after {} failures in a row{}", who, describe_target(cfg),
               failures, suffix);
}

} // namespace topup
