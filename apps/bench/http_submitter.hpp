#pragma once

// W1 through the merchants' HTTP API (README.md, "Merchants and the HTTP API"): keep-alive
// connections on one Boost.Asio thread, each with one request in flight at a time (the node
// answers a connection's requests in order, one at a time), signed as a merchant signs them
// (api/merchant_api), fed from the same book as the CAF driver (apps/bench/submission_feed).
// `via=http` sends each order as its own POST /v1/orders; `via=http-batch` sends the
// workload's messages as POST /v1/orders/batch.

#include "apps/bench/order_generator.hpp"
#include "apps/bench/submission_feed.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace topup::bench {

/// The node's HTTP API and the merchant of its configuration the orders are signed for.
struct http_api_target {
  std::string host;
  uint16_t port = 0;
  std::string merchant;
  std::string secret;
};

enum class http_submit_kind {
  single,  ///< POST /v1/orders, one order a request
  batch,   ///< POST /v1/orders/batch, up to the workload's batch a request
};

/// One order's answer as the book takes it.
struct http_order_outcome {
  answer verdict = answer::refused;
  std::chrono::milliseconds retry_after{0};  ///< the node's hint for a retry; 0: none
  std::string code;         ///< the error code of a retry or refusal; empty when acknowledged
  std::string description;  ///< status, code and message of a refusal, for the log
};

/// The outcomes of the `orders` orders of one request from its answer: `status`, `body` and
/// the Retry-After header in seconds (`retry_after_s`, 0 when absent). 200/201 acknowledge;
/// 429 and 503 (for the whole request, or one order of a batch) are retried after the hint
/// (at least a second for an order of a batch, which carries none); anything else refuses.
std::vector<http_order_outcome> http_outcomes(http_submit_kind kind, unsigned status,
                                              std::string_view body, int64_t retry_after_s,
                                              size_t orders);

/// The target and JSON body of a request carrying `orders`.
struct http_order_request {
  std::string target;
  std::string body;
};
http_order_request http_request_for(http_submit_kind kind,
                                    const std::vector<order_request>& orders);

/// Runs `connections` keep-alive connections to `target` on a thread of its own until
/// stopped. Each takes the next due message from the book (one order, or a batch), sends
/// it, and books the answer; a request unanswered within `request_timeout`, or a connection
/// lost, puts its orders back in the queue and connects again.
class http_submitter {
public:
  http_submitter(std::shared_ptr<shared_book> shared, workload load,
                 std::shared_ptr<const order_generator> orders, http_api_target target,
                 http_submit_kind kind, size_t connections, steady_time start,
                 std::chrono::milliseconds request_timeout);
  ~http_submitter();
  http_submitter(const http_submitter&) = delete;
  http_submitter& operator=(const http_submitter&) = delete;

  /// Stops every connection and joins the thread (idempotent).
  void stop();

  /// Connections made again after one broke or a request timed out.
  uint64_t reconnects() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace topup::bench
