#pragma once

// The "ingress" section of a node's configuration: the Redis list the node consumes orders from (the seed's queues, for producers that already push to them), and
// where it writes their results back. See README.md, "Producers that push to Redis or
// RabbitMQ".

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace topup {

/// Waits between tries of something that fails for now: initial_ms, doubled each time, at
/// most max_ms.
struct backoff_config {
  int64_t initial_ms = 100;
  int64_t max_ms = 5000;
};

/// Where a result writer resumes after a restart: results of orders final since its last
/// recorded point minus resume_margin_ms are written again (see domain/queue_ingress.hpp).
struct result_writer_config {
  int64_t resume_margin_ms = 60000;
  backoff_config backoff;
};

struct redis_results_config {
  /// Hash written on each final state, placeholders {client_ref}, {order_id}, {status};
  /// empty: no hash.
  std::string hash_key;
  /// Seconds after which a result hash expires; 0: never.
  int64_t ttl_s = 0;
  /// Channel each final state is PUBLISHed to as JSON; empty: none.
  std::string channel;
  result_writer_config writer;
};

struct redis_ingress_config {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string password;  ///< AUTH when set
  int64_t database = 0;  ///< SELECT
  int64_t connect_timeout_ms = 2000;
  std::string list;             ///< the list producers push orders to (LPUSH)
  std::string processing_list;  ///< this node's messages in hand (names expanded)
  std::string dead_letter_list; ///< refused messages with their reasons
  size_t batch = 200;           ///< messages moved and submitted at once at most
  int64_t block_ms = 1000;      ///< how long one wait for new messages blocks
  int64_t intake_timeout_ms = 30000;
  backoff_config backoff;
  std::optional<redis_results_config> results;
};

struct ingress_config {
  std::optional<redis_ingress_config> redis;
};

/// Reads the "ingress" object at JSON pointer `path`; `node_name` fills the {node}
/// placeholder of list names. Throws config_error naming the field.
ingress_config read_ingress(const nlohmann::json& value, const std::string& path,
                            const std::string& node_name);

} // namespace topup
