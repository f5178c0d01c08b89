#pragma once

// The outbox of result callbacks (schema step 9, table `callbacks`): the order store writes a
// notification in the commit of the state change it reports (record_callbacks, called by
// order_store::apply_rows), so no crash can lose one; the callback sender reads the due ones
// and records each attempt through a callback_outbox of its own. See README.md, "Result
// callbacks".

#include "config/config.hpp"
#include "domain/merchant_callback.hpp"
#include "messages/protocol.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace topup {

/// Writes `delivery` as a pending notification unless one with its id exists (a state change
/// written again after a crash is notified once). In the caller's transaction.
void insert_callback(soci::session& session, const callback_delivery& delivery);

/// Forgets the pending notification `delivery_id`: an unknown outcome resolved before its
/// notification went out. In the caller's transaction.
void drop_pending_callback(soci::session& session, const std::string& delivery_id);

/// A notification in the outbox with its state and last outcome.
struct stored_callback {
  callback_delivery delivery;
  callback_state state = callback_state::pending;
  unsigned last_http_status = 0;
  std::string last_error;
  int64_t updated_at_ms = 0;  ///< of the last attempt (or the write, before any)
};

/// The notifications of one order, by due time: `topup-cli deliveries` and the console's
/// order page, read by the store (order_reader::callbacks_of) and by callback_outbox.
std::vector<stored_callback> callbacks_of_order(soci::session& session,
                                                const std::string& order_id);

/// A notification as the protocol carries it (callback_record).
callback_record record_of(const stored_callback& row);

/// The outbox as the callback sender uses it, on a session of its own. Blocking; used from
/// one thread. Every failure is a store_error whose message is safe to log.
class callback_outbox {
public:
  /// Opens the database and migrates it (as the order store would).
  explicit callback_outbox(const store_config& cfg);
  ~callback_outbox();
  callback_outbox(const callback_outbox&) = delete;
  callback_outbox& operator=(const callback_outbox&) = delete;

  /// Takes at most `limit` pending notifications of `merchant` due at `now_ms`, earliest
  /// first, leaving out those `in_flight` lists (calls of this sender under way, or whose
  /// outcome is not written yet).
  /// PostgreSQL (nodes share the database): claims them until `claim_until_ms`, so they are
  /// not due for anyone meanwhile (another node's sender included); record() ends the claim,
  /// and a claim that lapses (the sender died during the call) makes the notification due
  /// again.
  /// SQLite (one node, one sender per file): only reads, since any write here would take the
  /// file's one write lock from the order store's commits; the sender's `in_flight` set is
  /// what keeps a call from being made twice, and after a restart every pending one is due.
  std::vector<callback_delivery> claim_due(const std::string& merchant, int64_t now_ms,
                                           size_t limit, int64_t claim_until_ms,
                                           const std::set<std::string>& in_flight = {});

  /// Records attempts, each its state, the next attempt time, the HTTP status and the error,
  /// counting the attempt, all in one transaction (one take of SQLite's write lock): if it
  /// fails, none is recorded and the notifications stay pending. An attempt of a notification
  /// no longer pending is ignored.
  void record(const std::vector<callback_attempt>& attempts);

  /// The same for one attempt.
  void record(const callback_attempt& attempt);

  /// Every notification with its state, attempts and last outcome, by due time (tests and
  /// tools).
  std::vector<stored_callback> all();

  /// The notifications of one order, by due time (`topup-cli deliveries`).
  std::vector<stored_callback> of_order(const std::string& order_id);

  /// The notifications neither delivered nor abandoned, in the whole outbox.
  uint64_t count_pending();

  /// The same by merchant id (merchants without any left out).
  std::map<std::string, uint64_t> pending_by_merchant();

  /// Makes the latest notification of `order_id` (the one reporting its current state) due
  /// at `now_ms` again, whatever its state: a new attempt under the same delivery id, also of
  /// a delivered or abandoned one, and the retry schedule continues from its attempts. One
  /// claimed by a call under way is left to that call. None: the order has no notification.
  std::optional<stored_callback> redeliver(const std::string& order_id, int64_t now_ms);

  /// The same for the notification `delivery_id` (of whichever order, latest or not). None:
  /// there is no such notification.
  std::optional<stored_callback> redeliver_delivery(const std::string& delivery_id,
                                                    int64_t now_ms);

  /// Removes at most `batch` notifications delivered or abandoned (domain/retention,
  /// prunable_callback_states) whose last attempt was before `cutoff_ms`; never a pending one.
  /// They are chosen by a read, then deleted by id in one short write transaction that checks
  /// their state and time again (a redelivery meanwhile keeps its row), so the order store's
  /// commits wait at most for that delete. Returns how many were removed.
  size_t prune_finished(int64_t cutoff_ms, size_t batch);

private:
  /// Makes the row `chosen` (an SQL expression for one delivery_id, using the parameter :key)
  /// due at `now_ms` again unless a live claim holds it.
  void make_due_again(const std::string& chosen, const std::string& key, int64_t now_ms);

  std::unique_ptr<soci::session> session_;
  /// Whether claim_due claims (PostgreSQL) or only reads (SQLite).
  bool claiming_;
  /// Names this outbox's claims: random per instance, and a count.
  std::string claimant_;
  uint64_t claims_ = 0;
};

} // namespace topup
