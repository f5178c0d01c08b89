#pragma once

// The database a store test runs on: an SQLite file in a temp dir, or, in a test executable
// built with TOPUP_STORE_TEST_POSTGRESQL, the throwaway PostgreSQL server CTest starts
// (TOPUP_TEST_POSTGRES), wiped before each test. Header-only so that each executable picks
// its backend at compile time.

#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"
#include "tests/test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <soci/soci.h>

#include <cstdlib>
#include <string>

namespace topup::testing {

/// The throwaway PostgreSQL server CTest starts for tests labelled postgres, with no topup
/// tables left: the test migrates its own.
inline store_config empty_postgresql_store() {
  auto connection = std::getenv("TOPUP_TEST_POSTGRES");
  BOOST_TEST_REQUIRE(connection != nullptr, "TOPUP_TEST_POSTGRES is not set");
  store_config cfg;
  cfg.backend = store_config::backend_kind::postgresql;
  cfg.postgresql_connection = connection;
  *open_session(cfg) << "DROP TABLE IF EXISTS store_layout, callbacks, result_cursors, provider_leases, cluster_members,"
                        " order_events, attempts, orders, schema_version CASCADE";
  return cfg;
}

struct backend_fixture {
  temp_dir dir;
  store_config cfg;

  backend_fixture() {
#ifdef TOPUP_STORE_TEST_POSTGRESQL
    cfg = empty_postgresql_store();
#else
    cfg = sqlite_store(dir);
#endif
  }

  /// Starts again on an empty database: PostgreSQL's tables dropped, or a new SQLite file.
  void start_empty() {
#ifdef TOPUP_STORE_TEST_POSTGRESQL
    cfg = empty_postgresql_store();
#else
    cfg.sqlite_path = dir.file("orders-" + std::to_string(++databases_started) + ".db");
#endif
  }

  bool postgresql() const { return cfg.backend == store_config::backend_kind::postgresql; }

  /// A database at schema `version` (8 or later: orders have a merchant) holding one order
  /// "old-1" of merchant "shop", dispatched to p-cmcc, and its attempt row: what an earlier
  /// build left behind.
  void store_of_version_with_a_dispatched_order(int version) {
    auto session = open_session(cfg);
    migrate(*session, version);
    *session << "INSERT INTO orders (id, client_ref, phone, carrier, amount_fen, provider,"
                " status, attempts, accepted_at_ms, deadline_ms, updated_at_ms, history,"
                " merchant, notify_url)"
                " VALUES ('old-1', 'ref-1', '13800000001', 'cmcc', 2000, 'p-cmcc',"
                " 'dispatched', 1, 1, 2, 3, '', 'shop', '')";
    *session << "INSERT INTO attempts (order_id, attempt_no, provider, request_id, started_at_ms)"
                " VALUES ('old-1', 1, 'p-cmcc', 'old-1@p-cmcc', 3)";
  }

  long long count_rows(const std::string& table = "orders") {
    auto session = open_session(cfg);
    long long count = 0;
    *session << "SELECT COUNT(*) FROM " + table, soci::into(count);
    return count;
  }

private:
  int databases_started = 0;
};

} // namespace topup::testing
