#pragma once

// The "merchants" and "http_api" sections of a node's configuration: who orders may be for
// (domain/merchant) and the listener of the merchants' HTTP API. See README.md, "Merchants
// and the HTTP API".

#include "domain/merchant.hpp"
#include "domain/merchant_callback.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace topup {

/// The merchant HTTP API's listener and its bounds.
struct http_api_config {
  std::string host = "127.0.0.1";
  uint16_t port = 8480;  ///< 0: any free port (tests)
  size_t max_connections = 1000;
  size_t max_body_bytes = 1u << 20;  ///< a larger body is answered 413 and the connection closed
  size_t max_header_bytes = 8192;    ///< request line and headers together
  size_t max_header_count = 64;
  /// Each request (headers and body) must arrive whole within this time of the connection
  /// opening or of the previous answer, else the connection is closed: a slow client cannot
  /// hold one, and a kept-alive connection idle this long is closed too.
  int64_t read_timeout_ms = 10000;
  /// How far a request's X-Topup-Timestamp may be from the node's clock.
  int64_t signature_window_s = 300;
  size_t max_batch = 500;  ///< orders per POST /v1/orders/batch
  /// How long a request waits for intake or the store before it is answered 503.
  int64_t request_timeout_ms = 30000;
  /// GET /metrics needs `Authorization: Bearer <token>` when set; empty: no credentials.
  std::string metrics_token;
  /// The web console (GET / and /console/api/...) is served when set, to requests with
  /// `Authorization: Bearer <token>`; empty: no console.
  std::string admin_token;
};

/// The "callbacks" section: how the callback sender delivers the merchants' result
/// notifications (README.md, "Result callbacks").
struct callback_config {
  callback_schedule schedule;
  /// Calls in flight to one merchant at most: a slow merchant holds only its own.
  size_t concurrency_per_merchant = 4;
  int64_t timeout_ms = 10000;          ///< one call, from connecting to the whole answer
  int64_t connect_timeout_ms = 3000;
  int64_t poll_interval_ms = 1000;     ///< how often the outbox is read for due notifications
  /// Delivered and abandoned notifications are removed from the outbox this long after their
  /// last attempt (domain/retention); 0: kept for ever. Pending ones always stay.
  int64_t keep_finished_s = 7 * 86400;
  /// Notifications removed per transaction: each removal holds the store's write lock only
  /// that long.
  size_t prune_batch = 200;
  /// PEM file of the CAs an https:// callback URL's certificate must chain to, for merchants
  /// that name none of their own (merchant::callback_ca_file); empty: the system's store.
  std::string ca_file{};
};

/// Reads the "callbacks" object at `path`: retry_after_s (list), repeat_every_s,
/// give_up_after_s, jitter, concurrency_per_merchant, timeout_ms, connect_timeout_ms,
/// poll_interval_ms, ca_file, keep_finished_s, prune_batch.
callback_config read_callbacks(const nlohmann::json& value, const std::string& path);

/// Reads the "merchants" object at `path`: {"default": id, "list": [{"id", "secret" or
/// "secret_file", "callback_url", "allowed_callback_prefixes", "callback_ack",
/// "callback_ca_file"}]}.
merchant_directory read_merchants(const nlohmann::json& value, const std::string& path);

/// Reads the "http_api" object at `path`.
http_api_config read_http_api(const nlohmann::json& value, const std::string& path);

} // namespace topup
