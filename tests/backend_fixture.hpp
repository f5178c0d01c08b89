#pragma once

// The database a store test runs on: an SQLite file in a temp dir, or, in a test executable
// built with TOPUP_STORE_TEST_POSTGRESQL, the throwaway PostgreSQL server CTest starts
// (TOPUP_TEST_POSTGRES), wiped before each test. Header-only so that each executable picks
// its backend at compile time.

#include "persistence/sql_backend.hpp"
#include "tests/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <soci/soci.h>

#include <cstdlib>
#include <string>

namespace topup::testing {

struct backend_fixture {
  temp_dir dir;
  store_config cfg;

  backend_fixture() {
#ifdef TOPUP_STORE_TEST_POSTGRESQL
    auto connection = std::getenv("TOPUP_TEST_POSTGRES");
    BOOST_TEST_REQUIRE(connection != nullptr, "TOPUP_TEST_POSTGRES is not set");
    cfg.backend = store_config::backend_kind::postgresql;
    cfg.postgresql_connection = connection;
    *open_session(cfg) << "DROP TABLE IF EXISTS provider_leases, cluster_members, order_events,"
                          " attempts, orders, schema_version CASCADE";
#else
    cfg = sqlite_store(dir);
#endif
  }

  bool postgresql() const { return cfg.backend == store_config::backend_kind::postgresql; }

  long long count_rows(const std::string& table = "orders") {
    auto session = open_session(cfg);
    long long count = 0;
    *session << "SELECT COUNT(*) FROM " + table, soci::into(count);
    return count;
  }
};

} // namespace topup::testing
