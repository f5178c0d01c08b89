#pragma once

// Every message type and atom of topup, in one place. A type that crosses the network must be
// listed in the type-id block below and have an inspect() here; tests/protocol_tests.cpp
// round-trips each through CAF's binary serializer so a forgotten field fails a test.

#include "domain/order.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace topup {

/// Version of the remote protocol; a client checks it before anything else.
constexpr uint32_t protocol_version = 1;

/// One order's answer inside a batch submission: either an error or the order.
struct submit_result {
  caf::error error;  ///< empty on success
  order accepted;    ///< the stored order (new, or the existing one for a resubmission)
  bool existing = false;
};

/// The store's answer for one row of an insert batch.
struct insert_outcome {
  bool inserted = false;  ///< false: the client reference existed; `stored` is that row
  order stored;
};

struct store_stats {
  uint64_t commits = 0;         ///< transactions committed
  uint64_t rows_written = 0;
  uint64_t failed_commits = 0;
  uint64_t pending_writes = 0;  ///< rows waiting for the next commit
  bool healthy = true;          ///< false while the database cannot be written
};

struct intake_stats {
  uint64_t accepted = 0;   ///< new orders acknowledged
  uint64_t existing = 0;   ///< resubmissions answered with the existing order
  uint64_t rejected = 0;   ///< invalid input, duplicates with other content
  uint64_t overloaded = 0;
  uint64_t unavailable = 0;
  uint64_t in_flight = 0;  ///< orders waiting for the store
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_request& x) {
  return f(caf::meta::type_name("order_request"), x.client_ref, x.phone, x.amount_fen);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order& x) {
  return f(caf::meta::type_name("order"), x.id, x.client_ref, x.phone, x.carrier, x.amount_fen,
           x.provider, x.status, x.attempts, x.accepted_at_ms, x.deadline_ms, x.updated_at_ms,
           x.last_error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_result& x) {
  return f(caf::meta::type_name("submit_result"), x.error, x.accepted, x.existing);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, insert_outcome& x) {
  return f(caf::meta::type_name("insert_outcome"), x.inserted, x.stored);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_stats& x) {
  return f(caf::meta::type_name("store_stats"), x.commits, x.rows_written, x.failed_commits,
           x.pending_writes, x.healthy);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, intake_stats& x) {
  return f(caf::meta::type_name("intake_stats"), x.accepted, x.existing, x.rejected,
           x.overloaded, x.unavailable, x.in_flight);
}

} // namespace topup

CAF_BEGIN_TYPE_ID_BLOCK(topup, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(topup, (topup::order_request))
  CAF_ADD_TYPE_ID(topup, (topup::order))
  CAF_ADD_TYPE_ID(topup, (topup::submit_result))
  CAF_ADD_TYPE_ID(topup, (topup::insert_outcome))
  CAF_ADD_TYPE_ID(topup, (topup::store_stats))
  CAF_ADD_TYPE_ID(topup, (topup::intake_stats))

  // client -> intake
  CAF_ADD_ATOM(topup, topup, submit_atom, "submit")
  // intake -> store
  CAF_ADD_ATOM(topup, topup, insert_atom, "insert")
  CAF_ADD_ATOM(topup, topup, find_ref_atom, "findref")
  // store start-up reads
  CAF_ADD_ATOM(topup, topup, load_atom, "load")
  // anyone -> any actor: counters
  CAF_ADD_ATOM(topup, topup, stats_atom, "stats")
  // intake -> routing: accepted orders to recharge
  CAF_ADD_ATOM(topup, topup, dispatch_atom, "dispatch")
  // store -> itself: commit what has gathered
  CAF_ADD_ATOM(topup, topup, commit_atom, "commit")

CAF_END_TYPE_ID_BLOCK(topup)

namespace topup {

/// Registers the protocol's types and error category; call on every actor_system_config.
void register_protocol(caf::actor_system_config& cfg);

} // namespace topup
