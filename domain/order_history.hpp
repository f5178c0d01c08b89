#pragma once

// The story of one order: every state change, every attempt with its provider, request id,
// outcome and latency, every status query and its answer. The store keeps it
// in the order's own row (orders.history), appended by the same statement that changes the
// state, so it costs no row and no statement of its own; this file is its format.
//
// Stored format: one JSON object per entry, one entry per line ("JSON lines"), with short
// keys because every order carries a few of them:
//   {"t":1714564800123,"e":"dispatch","p":"p-cmcc","n":1,"r":"n1-x-1@p-cmcc"}
//   {"t":1714564800170,"e":"succeed","p":"p-cmcc","n":1,"via":"call","us":46812,"txn":"T-9"}
// t: wall-clock ms; e: the event (an order_event name); p: provider; n: attempt number;
// r: provider request id; node/epoch: the lease a cluster dispatch was written under;
// via: "call" or "query" (what answered); us: how long the call or query took, measured on
// the steady clock, in microseconds; txn: the provider's transaction; d: detail (a failure
// reason, what an unanswered query said). Absent keys are empty. The acceptance is not
// stored: the order row says when it was accepted.

#include "domain/order.hpp"
#include "domain/order_state_machine.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace topup {

/// What answered an outcome.
enum class answered_by : uint8_t { none, call, query };

struct history_entry {
  int64_t at_ms = 0;          ///< wall-clock time
  std::string event;          ///< "accept" or an order_event name
  std::string status;         ///< the order's status after it (filled in when read)
  std::string provider;
  int32_t attempt_no = 0;
  std::string request_id;     ///< dispatch: the request id sent to the provider
  std::string node;           ///< dispatch in a cluster: the lease owner that wrote it
  int64_t epoch = 0;          ///< ... and the lease's epoch
  std::string via;            ///< outcomes: "call" or "query"
  int64_t latency_us = -1;    ///< outcomes: the call's or query's duration; -1: not measured
  std::string provider_txn;
  std::string detail;
};

/// One entry as one stored line (ending in '\n'). `status` is not stored: it follows from
/// the events (decode_history).
std::string encode_history_entry(const history_entry& entry);

/// The stored lines back as entries, after the acceptance (from the order row), with each
/// entry's status worked out by the state machine from `accepted`. A line that does not
/// parse becomes an entry with event "unreadable" and the line as its detail: a history is
/// shown, never refused.
std::vector<history_entry> decode_history(const order& o, std::string_view stored);

/// What ended attempt `attempt_no`: the latest entry of that attempt that changed the order's
/// state and is not its dispatch (a later answer to a status query replaces an unknown
/// outcome, as the order's status does). Null while the attempt's call is in flight, and for
/// an attempt the history does not hold. The store keeps no other record of an attempt's
/// outcome: this is how reconciliation reads it.
const history_entry* attempt_end(const std::vector<history_entry>& history, int32_t attempt_no);

/// Whether the nth status query in a row that got no answer is written to the history: the
/// 1st, 2nd, 4th, 8th, ... (powers of two). An order whose provider stays silent is queried
/// every query interval for as long as it takes; its history (and the writes for it) grows
/// with the logarithm of the silence, not with its length.
bool record_unanswered_query(uint64_t nth);

/// One entry as JSON, every field by its name ("attempt" for attempt_no): what
/// `topup-cli status --history --json` prints and the web console shows.
nlohmann::ordered_json history_entry_json(const history_entry& x);

} // namespace topup
