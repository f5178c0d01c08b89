#pragma once

// The node's public port. CAF 0.17's middleman cannot bound what a peer announces (a BASP
// header claiming a 4 GB payload makes it allocate and zero 4 GB before a byte of payload
// arrives), caps no connections and closes none that never complete a handshake. So the
// middleman publishes the gateway on 127.0.0.1 only, and this listener owns the configured
// address: it keeps at most a number of connections, closes those that do not complete
// their handshake in time (and the oldest of them when a new one needs the room), and relays
// each peer's bytes to the middleman only as far as domain/inbound_stream lets them through.
// It runs on a thread of its own (Boost.Asio), never on CAF's scheduler or multiplexer.

#include "domain/clock.hpp"
#include "domain/inbound_stream.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace topup {

struct front_settings {
  std::string host = "127.0.0.1";  ///< public address (a name is resolved)
  uint16_t port = 0;               ///< 0: any free port
  uint16_t upstream_port = 0;      ///< the middleman's listener on 127.0.0.1
  /// The middleman speaks TLS (CAF's OpenSSL module): records are relayed as they come.
  bool tls = false;
  size_t max_connections = 1000;
  milliseconds handshake_timeout{5000};
  inbound_limits limits;
};

/// What the listener did since it started; read from any thread.
struct front_counters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused_at_cap{0};     ///< every open connection had its handshake
  std::atomic<uint64_t> evicted{0};            ///< pending, closed to make room for a new one
  std::atomic<uint64_t> timed_out{0};          ///< no handshake within the timeout
  std::atomic<uint64_t> refused_protocol{0};   ///< broke the protocol (BASP bound, framing)
  std::atomic<uint64_t> open{0};
};

class front_listener {
public:
  /// Binds the public address (throws std::runtime_error saying why it cannot); serves
  /// nothing before start().
  explicit front_listener(front_settings settings);
  ~front_listener();

  front_listener(const front_listener&) = delete;
  front_listener& operator=(const front_listener&) = delete;

  /// The bound port (the one chosen when the settings said 0).
  uint16_t port() const;

  /// Starts the listener's thread.
  void start();

  /// Stops accepting, closes every connection and joins the thread. Idempotent.
  void stop();

  const front_counters& counters() const;

  struct impl;  ///< opaque: the Asio state, shared with the listener's thread

private:
  std::shared_ptr<impl> impl_;
};

/// Resolves `host` and binds a listening socket on it with `port` (0: any), to learn
/// whether the node could listen there; the socket is closed again. Throws
/// std::runtime_error with the reason.
void check_listen_address(const std::string& host, uint16_t port);

} // namespace topup
