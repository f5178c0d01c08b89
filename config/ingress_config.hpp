#pragma once

// The "ingress" section of a node's configuration: the Redis list and the RabbitMQ queue the
// node consumes orders from (the seed's queues, for producers that already push to them), and
// where it writes their results back. See README.md, "Producers that push to a Redis list"
// and "Producers that publish to RabbitMQ".

#include "domain/retry_backoff.hpp"

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

  /// The same as a backoff policy: initial_ms first, doubled after each failure in a row.
  backoff_policy policy() const {
    return {milliseconds{initial_ms}, milliseconds{max_ms}};
  }
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

struct rabbitmq_results_config {
  std::string exchange;  ///< results are published to it (declared durable, type topic)
  /// Placeholders {client_ref}, {order_id}, {status}.
  std::string routing_key = "{status}.{client_ref}";
  /// Declared durable and bound to the exchange for every routing key ("#") so that no
  /// result is dropped for want of a queue; empty: the producers bind their own.
  std::string queue;
  int64_t confirm_timeout_ms = 5000;
  result_writer_config writer;
};

struct rabbitmq_ingress_config {
  std::string host = "127.0.0.1";
  uint16_t port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  int64_t connect_timeout_ms = 2000;
  int64_t heartbeat_s = 30;
  std::string queue;  ///< the durable queue producers publish orders to
  /// Refused messages are published here (declared durable, type topic, if missing) with
  /// their error in headers, routing key the queue's name, before they are rejected.
  std::string dead_letter_exchange;
  /// Declared durable and bound to the dead-letter exchange ("#") so that no dead letter is
  /// dropped for want of a queue; empty: the operator binds their own.
  std::string dead_letter_queue;
  size_t prefetch = 400;  ///< unacknowledged deliveries the broker sends at most
  size_t batch = 200;     ///< messages submitted at once at most
  int64_t block_ms = 1000;  ///< how long one wait for new messages blocks
  int64_t intake_timeout_ms = 30000;
  int64_t confirm_timeout_ms = 5000;  ///< for publishing dead letters
  backoff_config backoff;
  std::optional<rabbitmq_results_config> results;
};

struct ingress_config {
  std::optional<redis_ingress_config> redis;
  std::optional<rabbitmq_ingress_config> rabbitmq;
};

/// Reads the "ingress" object at JSON pointer `path`; `node_name` fills the {node}
/// placeholder of list names. Throws config_error naming the field.
ingress_config read_ingress(const nlohmann::json& value, const std::string& path,
                            const std::string& node_name);

} // namespace topup
