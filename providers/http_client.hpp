#pragma once

// Signed JSON POSTs over HTTP/1.1 (Boost.Beast) without blocking the caller: a keep-alive pool
// to one host and port, run by one asio thread, over TLS (Boost.Asio ssl, OpenSSL) for an
// https:// endpoint. What a provider adapter calls its provider
// with (providers/http_provider) and the callback sender calls merchants with
// (actors/callback_sender). Knows nothing of CAF.

#include "domain/clock.hpp"
#include "providers/http_wire.hpp"

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace topup {

using io_clock = boost::asio::steady_timer::clock_type;

/// How far one HTTP exchange got: what decides between a failure and an unknown outcome.
enum class http_reach : uint8_t {
  not_sent,    ///< the provider cannot have acted on it (no connection, incomplete request)
  maybe_sent,  ///< the whole request was written; no complete answer came back
  answered,    ///< a complete HTTP response, any status
  too_late,    ///< not sent: the lease it was made under lapsed before it could leave
};

struct http_result {
  uint64_t call_id = 0;
  http_reach reach = http_reach::not_sent;
  unsigned status = 0;
  std::string body;
  std::string detail;  ///< why it was not answered; names the URL, never the phone
};

/// One signed POST to make.
struct http_post {
  uint64_t call_id = 0;
  std::string target;
  std::string body;
  /// Beside Host, Content-Type (JSON) and Content-Length: the signature's, typically.
  std::vector<std::pair<std::string, std::string>> headers;
  milliseconds budget{0};
  /// The request is written only before this (the caller's lease validity); none: no limit.
  std::optional<io_clock::time_point> send_by;
};

/// Throws std::invalid_argument naming the reason when `ca_file` (PEM) holds no certificate
/// OpenSSL can trust; an empty name stands for the system's store, which is always accepted.
void check_tls_trust(const std::string& ca_file);

/// The asio side of an HTTP caller (a provider adapter, the callback sender): a keep-alive pool
/// of at most pool_size connections to one host and port, a FIFO of calls waiting for a connection, and one thread running its io_context.
/// Knows nothing of CAF: finished exchanges are collected for take_results(), and `wake` is
/// called (on the asio thread) when the collection turns non-empty.
/// For an endpoint with `tls`, every connection first completes a TLS handshake within the
/// connect timeout: the peer's certificate must chain to a CA of `ca_file` (PEM; empty: the
/// system's store) and name the endpoint's host (DNS name or IP address). A handshake that
/// fails is a call not sent, with the certificate's problem in its detail. Throws
/// std::invalid_argument as check_tls_trust does.
class http_client {
public:
  http_client(http_wire::endpoint where, std::string url, milliseconds connect_timeout,
              size_t pool_size, std::function<void()> wake, const std::string& ca_file = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Starts one exchange; its budget counts from now, including any wait for a connection.
  void post(http_post request);

  /// The exchanges finished since the last call.
  std::vector<http_result> take_results();

private:
  class core;
  std::shared_ptr<core> core_;
  std::thread thread_;
};

} // namespace topup
