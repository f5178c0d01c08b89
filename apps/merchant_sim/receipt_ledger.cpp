#include "apps/merchant_sim/receipt_ledger.hpp"

#include "persistence/sql_backend.hpp"

#include <soci/soci.h>

#include <stdexcept>

namespace topup::merchant_sim {

receipt_ledger::receipt_ledger(const std::string& path) {
  try {
    session_ = open_sqlite_wal(path, "normal", 5);
    *session_ << "CREATE TABLE IF NOT EXISTS receipts ("
                 " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                 " delivery_id TEXT NOT NULL,"
                 " order_id TEXT NOT NULL,"
                 " status TEXT NOT NULL,"
                 " received_at_ms BIGINT NOT NULL,"
                 " signature_ok INTEGER NOT NULL,"
                 " answered TEXT NOT NULL)";
  } catch (const std::exception& error) {
    throw std::runtime_error("cannot open the ledger " + path + ": "
                             + describe_database_error(error));
  }
}

receipt_ledger::~receipt_ledger() = default;

void receipt_ledger::add(const receipt& r) {
  std::lock_guard<std::mutex> guard{mutex_};
  long long at = r.received_at_ms;
  int ok = r.signature_ok ? 1 : 0;
  *session_ << "INSERT INTO receipts (delivery_id, order_id, status, received_at_ms,"
               " signature_ok, answered) VALUES (:d, :o, :s, :at, :ok, :answered)",
    soci::use(r.delivery_id), soci::use(r.order_id), soci::use(r.status), soci::use(at),
    soci::use(ok), soci::use(r.answered);
}

std::vector<receipt> receipt_ledger::all() {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<receipt> found;
  soci::rowset<soci::row> rows =
    (session_->prepare << "SELECT delivery_id, order_id, status, received_at_ms, signature_ok,"
                          " answered FROM receipts ORDER BY seq");
  for (const auto& row : rows)
    found.push_back({row.get<std::string>(0), row.get<std::string>(1), row.get<std::string>(2),
                     row.get<long long>(3), row.get<int>(4) != 0, row.get<std::string>(5)});
  return found;
}

} // namespace topup::merchant_sim
