#pragma once

#include "config/ingress_config.hpp"
#include "config/merchant_config.hpp"
#include "domain/validation.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace topup {

/// A configuration that cannot be used. `path` is the JSON pointer of the offending field
/// ("/providers/2/rate"); what() reads "/providers/2/rate: must be > 0 (got 0)".
class config_error : public std::runtime_error {
public:
  config_error(std::string path, std::string reason);
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

private:
  std::string path_;
  std::string reason_;
};

struct tls_config {
  std::string certificate;  ///< PEM file; empty: TLS off
  std::string key;
  std::string ca_file;      ///< when set, peers must present a certificate signed by it
  bool enabled() const { return !certificate.empty(); }
};

struct node_config {
  std::string name = "node-1";
  std::string host = "127.0.0.1";
  uint16_t port = 4242;
  /// Connections the node keeps open at most (fewer when the open-files limit is lower).
  size_t max_connections = 1000;
  /// A connection that has not completed its handshake by then is closed.
  int64_t handshake_timeout_ms = 5000;
  /// The largest BASP message payload a peer may announce.
  uint32_t max_message_bytes = 64u << 20;
  /// A listener that is not loopback serves only peers that authenticate with mutual TLS
  /// (tls with a ca_file) unless this is set.
  bool allow_unauthenticated_peers = false;
  tls_config tls;
  size_t scheduler_threads = 2;
  std::string log_level = "info";
  std::string log_format = "text";  ///< "text" or "json" (one JSON object per line)
  int64_t heartbeat_interval_ms = 1000;
  int64_t connection_timeout_ms = 5000;
};

enum class sqlite_synchronous { normal, full };

struct store_config {
  enum class backend_kind { sqlite, postgresql } backend = backend_kind::sqlite;
  std::string sqlite_path = "topup.db";
  sqlite_synchronous synchronous = sqlite_synchronous::normal;
  int busy_timeout_s = 5;  ///< how long a write waits for another connection's lock
  std::string postgresql_connection;
  /// PostgreSQL: sessions that serve reads beside the one that group-commits writes, so that
  /// a long read (a takeover's load, a count over many rows) never holds up a commit.
  /// 0: reads run on the write session, between commits (as on SQLite, which has one).
  size_t read_connections = 4;
  /// Each is a server process on PostgreSQL, and every node of a cluster opens its own.
  static constexpr int64_t max_read_connections = 64;
  /// How many shards the orders are split over (README.md "Configuration"): each its own
  /// writing store actor and, on SQLite, its own file. 0: not configured, i.e. the count the
  /// store recorded when it was created (persistence/store_layout settles it at start-up).
  size_t shards = 0;
  static constexpr int64_t max_shards = 64;
  size_t max_batch = 2000;            ///< rows per group commit at most
  size_t max_pending_writes = 200000; ///< beyond this, intake answers `overloaded`
  /// The merchant that orders stored before merchants existed belong to (schema step 8), and
  /// that a lookup by reference naming no merchant means: the node's default merchant.
  std::string default_merchant = "default";
  /// The merchants whose orders' results are notified (their callback URLs): the store
  /// writes each notification in the commit of its state change (persistence/callback_outbox).
  merchant_directory merchants;
};

struct deadline_config {
  int64_t limit_ms = 180000;
  std::vector<int64_t> resend_at_ms{120000, 160000};
  int64_t query_interval_ms = 1000;  ///< between status queries of an unknown outcome
};

/// Intake refuses (`overloaded`, with a retry hint) an order that no provider serving its
/// carrier is expected to start by its latest start: before its first re-send point (or, with
/// none, its deadline less the call timeout), less `margin_ms`, the time left for retries and
/// for the estimate's error (absent: a tenth of that time). It also refuses new orders while
/// the store is behind with the state changes of the orders it accepted: a share of them from
/// half of `store_lag_limit_ms` on, every one from the limit on (0: never on that account;
/// absent: default_store_lag_limit_ms). Off: every valid order is accepted, whatever the
/// queues.
struct admission_config {
  bool enabled = true;
  std::optional<int64_t> margin_ms;
  int64_t store_lag_limit_ms = 10000;
};

/// The store lag limit of a configuration that names none: 10 s, or a tenth of the deadline
/// when that is shorter (the lag is time the orders waiting for the store lose).
constexpr int64_t default_store_lag_limit_ms(int64_t deadline_limit_ms) {
  return deadline_limit_ms / 10 < 10000 ? deadline_limit_ms / 10 : 10000;
}

/// A node of a cluster: several nodes sharing one PostgreSQL database, each provider's
/// recharge actor running on exactly one live node under a lease.
struct cluster_config {
  std::vector<std::string> seeds;       ///< "host:port" of nodes to contact first
  int64_t heartbeat_interval_ms = 1000; ///< how often a node writes its membership row
  int64_t down_after_ms = 5000;         ///< a node silent this long is down
  int64_t lease_ttl_ms = 5000;          ///< a provider lease not renewed this long expires
};

struct latency_config {
  enum class distribution_kind { fixed, lognormal } distribution = distribution_kind::fixed;
  double fixed_ms = 1;
  double median_ms = 50;
  double p99_ms = 500;
};

struct outcome_shares {
  double success = 1;
  double transient = 0;
  double permanent = 0;
  double unknown = 0;
};

struct outage_window {
  double from_s = 0;  ///< seconds after the provider starts
  double to_s = 0;
};

struct simulated_adapter_config {
  latency_config latency;
  outcome_shares outcomes;
  double unknown_success_probability = 0.5;
  std::vector<outage_window> outages;
  std::string ledger_path;  ///< SQLite file of real recharges; empty: kept in memory
  uint64_t seed = 1;
  /// Numbers, or leading digits of numbers, the provider answers "wrong carrier" for (ported
  /// away from the carriers it serves), without recharging them; empty: none.
  std::vector<std::string> wrong_carrier;
};

struct http_adapter_config {
  std::string base_url;
  std::string secret;
  int64_t connect_timeout_ms = 1000;
  size_t pool_size = 64;
  /// PEM file of the CAs an https:// base_url's certificate must chain to; empty: the
  /// system's store.
  std::string ca_file{};
};

using adapter_config = std::variant<simulated_adapter_config, http_adapter_config>;

struct provider_config {
  std::string name;
  std::vector<std::string> carriers;
  double rate = 100;      ///< calls (recharges and queries) per second
  double burst = 10;      ///< calls allowed at once
  size_t concurrency = 64;
  int64_t timeout_ms = 2000;
  std::vector<std::string> failover;  ///< providers to hand orders to, in preference order
  adapter_config adapter;
};

struct config {
  node_config node;
  store_config store;
  deadline_config deadline;
  admission_config admission;
  /// Carrier name to its three-digit prefixes.
  std::map<std::string, std::vector<std::string>> carriers;
  std::vector<int64_t> amounts_fen;
  field_limits limits;
  std::vector<provider_config> providers;
  std::optional<cluster_config> cluster;  ///< absent: a single node
  ingress_config ingress;                 ///< queues the node consumes orders from
  /// Who orders are for; without a "merchants" section, the single merchant "default".
  merchant_directory merchants;
  std::optional<http_api_config> http_api;  ///< absent: no HTTP API
  /// How result callbacks are delivered; sent only to merchants with a callback URL or
  /// allowed prefixes.
  callback_config callbacks;

  const provider_config* find_provider(const std::string& name) const;
};

/// Parses and checks a configuration. JSON comments are allowed. Unknown keys, wrong types,
/// missing required fields and impossible values throw config_error naming the field.
config parse_config(const std::string& json_text);

/// Parses the object of one simulated adapter found at JSON pointer `path` (for errors): the
/// fields of a "simulated" entry of a provider's "adapter" except "type". Checked as strictly
/// as parse_config; programs that simulate providers themselves read their models with it.
simulated_adapter_config parse_simulated_adapter(const nlohmann::json& object,
                                                 const std::string& path);

/// Reads a file and parses it; a missing or unreadable file is a config_error too.
config load_config_file(const std::string& path);

/// 127.0.0.0/8, ::1 or "localhost": reachable from this machine only.
bool is_loopback_host(const std::string& host);

/// The rules intake validates orders with.
validation_rules make_validation_rules(const config& cfg);

} // namespace topup
