#pragma once

// topup-merchant-sim's ledger: every callback it received, in an SQLite file (table
// `receipts`), so that a run can be checked after the simulator stopped
// (`topup-merchant-sim report --ledger FILE`).

#include "apps/merchant_sim/receipts.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace topup::merchant_sim {

/// Thread-safe: the server's connection threads share it.
class receipt_ledger {
public:
  /// Opens (creating if needed) the file; throws std::runtime_error naming the file.
  explicit receipt_ledger(const std::string& path);
  ~receipt_ledger();
  receipt_ledger(const receipt_ledger&) = delete;
  receipt_ledger& operator=(const receipt_ledger&) = delete;

  /// Writes one receipt (committed before the answer goes out).
  void add(const receipt& r);
  /// Every receipt, in the order received.
  std::vector<receipt> all();

private:
  std::mutex mutex_;
  std::unique_ptr<soci::session> session_;
};

} // namespace topup::merchant_sim
