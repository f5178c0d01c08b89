#include "persistence/store_layout.hpp"

#include "domain/store_shards.hpp"
#include "persistence/order_store.hpp"
#include "persistence/schema.hpp"
#include "persistence/sql_backend.hpp"

#include <thread>

namespace topup {
namespace {

/// The first schema version that records the layout: a store migrated from an older one was
/// written before shards existed, so it is one shard.
constexpr int first_version_with_layout = 12;

std::optional<size_t> recorded_shards(soci::session& session) {
  long long value = 0;
  session << "SELECT value FROM store_layout WHERE setting = 'shards'", soci::into(value);
  if (!session.got_data())
    return std::nullopt;
  return static_cast<size_t>(value);
}

bool holds_orders(soci::session& session) {
  int one = 0;
  session << "SELECT 1 FROM orders LIMIT 1", soci::into(one);
  return session.got_data();
}

} // namespace

size_t recorded_shard_count(soci::session& shard_0) {
  return with_store_errors("reading the store's shard count", [&]() -> size_t {
    if (schema_version(shard_0) < first_version_with_layout)
      return 1;
    return recorded_shards(shard_0).value_or(1);
  });
}

store_config shard_config(const store_config& cfg, size_t shard) {
  auto shard_cfg = cfg;
  shard_cfg.shards = 1;
  if (shard == 0)
    return shard_cfg;
  if (cfg.backend == store_config::backend_kind::sqlite)
    shard_cfg.sqlite_path = shard_file(cfg.sqlite_path, shard);
  else
    shard_cfg.read_connections = 0;
  return shard_cfg;
}

size_t settle_shard_count(const store_config& cfg) {
  auto session = open_session(cfg, "topup-store-layout");
  auto count = with_store_errors("settling the store's shard count", [&]() -> size_t {
    auto written_by = schema_version(*session);
    migrate(*session, current_schema_version, cfg.default_merchant);
    if (auto recorded = recorded_shards(*session))
      return *recorded;
    // A store written before shards existed, or by a program that does not settle the count
    // (one that spawns a store actor directly, as many tests do), holds its orders in one
    // file without shard marks: it is one shard.
    bool one_shard_already = (written_by > 0 && written_by < first_version_with_layout)
                             || holds_orders(*session);
    auto chosen = one_shard_already ? 1
                  : cfg.shards > 0 ? cfg.shards
                                   : default_shard_count(std::thread::hardware_concurrency());
    long long value = static_cast<long long>(chosen);
    // Nodes creating one PostgreSQL store at once: the first row wins, every node reads it.
    *session << "INSERT INTO store_layout (setting, value) VALUES ('shards', :value)"
                " ON CONFLICT (setting) DO NOTHING",
      soci::use(value);
    return recorded_shards(*session).value_or(chosen);
  });
  if (cfg.shards > 0 && cfg.shards != count)
    throw config_error("/store/shards",
                       "the store " + describe_target(cfg) + " has " + std::to_string(count)
                         + (count == 1 ? " shard" : " shards") + ", fixed when it was created; "
                         + std::to_string(cfg.shards)
                         + " cannot apply (set store.shards to that count or leave it out)");
  return count;
}

store_config open_store_shards(store_config cfg) {
  cfg.shards = settle_shard_count(cfg);
  for (size_t shard = 0; shard < cfg.shards; ++shard)
    order_store opened{shard_config(cfg, shard)};
  return cfg;
}

} // namespace topup
