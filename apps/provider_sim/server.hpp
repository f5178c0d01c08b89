#pragma once

// topup-provider-sim's HTTP/1.1 server (Boost.Beast, asynchronous, keep-alive): reads each
// request, asks the simulator what to do, and does it: answers after the drawn latency,
// resets the connection of a provider that is down, or holds an unknown outcome without an
// answer. Performed recharges are group-committed to the ledger once per pass of the event
// loop; an answer that reports on one goes out only after its commit.

#include "apps/provider_sim/sim_config.hpp"
#include "apps/provider_sim/simulator.hpp"
#include "providers/ledger.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>

namespace topup::provider_sim {

/// How long an unknown outcome holds its connection when the client does not give up first.
inline constexpr std::chrono::seconds hold_limit{120};

/// Largest request body read; a larger one closes the connection.
inline constexpr uint64_t max_request_body = 64 * 1024;

/// Ledger writes since the server started.
struct commit_counters {
  uint64_t commits = 0;
  uint64_t rows = 0;
  uint64_t failures = 0;  ///< commits rolled back: their recharges did not happen
};

/// Serves `sim` on one io_context (run it on one thread: neither the simulator nor the
/// ledger is thread-safe). `sim` and `book` must outlive the io_context's handlers.
class server {
public:
  /// Binds and listens at `address` (a host name or literal address). Throws
  /// boost::system::system_error when it cannot.
  server(boost::asio::io_context& io, const listen_address& address, simulator& sim,
         ledger& book);

  /// Where it really listens: port 0 resolved to the port the system chose.
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  /// Starts accepting connections.
  void start();

  /// Stops accepting and commits what waits for the ledger. Open connections end when the
  /// io_context is stopped and destroyed.
  void stop();

  /// Writes the recharges the simulator performed and not yet wrote, in one transaction.
  void commit_unwritten();

  /// Commits in a handler queued behind everything ready now, so that the recharges of one
  /// pass of the event loop share one transaction.
  void schedule_commit();

  simulator& sim() { return sim_; }
  ledger& book() { return book_; }
  const commit_counters& commits() const { return commits_; }

private:
  void accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  simulator& sim_;
  ledger& book_;
  bool commit_scheduled_ = false;
  commit_counters commits_;
};

} // namespace topup::provider_sim
