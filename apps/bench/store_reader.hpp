#pragma once

// Reads a node's store (its SQLite file, or the PostgreSQL database a cluster shares) from
// the outside, read-only, while the nodes run or after they stopped (SQLite's WAL lets a
// reader in beside the writer). The store's rows
// are the truth about each order, even across a crash of the node. An SQLite store of several
// shards is read from every shard file.

#include "apps/bench/figures.hpp"
#include "config/config.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace topup::bench {

class store_reader {
public:
  /// Opens the database; throws std::runtime_error (without SQL text) when it cannot.
  explicit store_reader(const store_config& store);
  ~store_reader();

  /// Orders whose client reference starts with `ref_prefix`, terminal ones.
  uint64_t count_terminal(const std::string& ref_prefix);

  /// Every order whose client reference starts with `ref_prefix`, with its reference; an
  /// order the store holds two succeeded attempts of comes twice.
  std::vector<std::pair<std::string, stored_order>> orders(const std::string& ref_prefix);

  /// Start times of every recorded provider call (attempt rows) of these orders, by provider.
  std::map<std::string, std::vector<int64_t>> call_starts_by_provider(
    const std::string& ref_prefix);

  /// When the provider's first call (attempt row) after `after_ms` started; nothing if none.
  std::optional<int64_t> first_call_after(const std::string& provider, int64_t after_ms);

private:
  /// One per shard file (PostgreSQL: one, the shards share the database).
  std::vector<std::unique_ptr<soci::session>> sessions_;
  /// Every merchant a run's orders may belong to: the node's default one first. The reads
  /// go merchant by merchant through the (merchant, client_ref) index.
  std::vector<std::string> merchants_;
};

} // namespace topup::bench
