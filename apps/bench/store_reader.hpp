#pragma once

// Reads a node's SQLite store and provider ledgers from the outside, read-only, while the
// node runs or after it stopped (WAL lets a reader in beside the writer). The store's rows
// are the truth about each order, even across a crash of the node.

#include "apps/bench/figures.hpp"

#include <memory>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace topup::bench {

class store_reader {
public:
  /// Opens the file; throws std::runtime_error (without SQL text) when it cannot.
  explicit store_reader(const std::string& sqlite_path);
  ~store_reader();

  /// Orders whose client reference starts with `ref_prefix`, terminal ones.
  uint64_t count_terminal(const std::string& ref_prefix);

  /// Every order whose client reference starts with `ref_prefix`, with its reference.
  std::vector<std::pair<std::string, stored_order>> orders(const std::string& ref_prefix);

  /// Start times of every recorded provider call (attempt rows) of these orders, per provider.
  std::vector<std::vector<int64_t>> call_starts_by_provider(const std::string& ref_prefix);

private:
  std::unique_ptr<soci::session> session_;
};

} // namespace topup::bench
