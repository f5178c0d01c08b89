#pragma once

// Every message type and atom of topup, in one place. A type that crosses the network must be
// listed in the type-id block below and have an inspect() here: a field inspect() forgets
// does not cross the network, and no compiler error says so; tests/protocol_tests.cpp does.

#include "domain/order.hpp"
#include "domain/order_history.hpp"
#include "domain/order_state_machine.hpp"
#include "domain/reconciliation.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace topup {

/// Version of the remote protocol; a client checks it before anything else.
/// 3: node_stats.started_at_ms, order histories (history_atom).
///    Reconciliation (attempts_atom, settle_atom).
///    An order carries the ingress it came in by.
/// 4: orders and order requests carry their merchant and notify_url; find_ref_atom takes
///    the merchant with the reference.
/// 5: order requests may name their carrier.
/// 6: node_stats.callbacks; an order's result callbacks (deliveries_atom, redeliver_atom).
///    order_filter finds by client reference and phone, bounds the time from both sides and
///    may list oldest first; provider_stats carries the lane's tokens (the web console).
///    Orders carry the providers that answered "wrong carrier" for them; a recharge reply
///    may say "wrong carrier".
/// 7: a notification sent again by its delivery id (redeliver_atom, delivery_atom); whether
///    a node finished its start-up recovery (recover_atom, get_atom at the gateway);
///    member_info carries the epoch of each lease its member holds; order_filter names the
///    merchants a client reference is looked up for; a watch (watch_atom) is answered with
///    ack_atom instead of true.
/// 8: a result writer's recorded resume point (cursor_atom with the point) is answered
///    with ack_atom instead of true.
/// 9: provider_stats carries how far behind the store is with the lane's writes.
/// 10: the store no longer answers a filtered load of unfinished orders (a takeover pages
///     through them all).
/// 11: a member answers orders forwarded to it with the ids it holds (take_atom).
constexpr uint32_t protocol_version = 11;

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

/// The stats of two writers of one store together (shards, or a shard's two connections).
inline store_stats& operator+=(store_stats& total, const store_stats& part) {
  total.commits += part.commits;
  total.rows_written += part.rows_written;
  total.failed_commits += part.failed_commits;
  total.pending_writes += part.pending_writes;
  total.healthy = total.healthy && part.healthy;
  return total;
}

struct intake_stats {
  uint64_t accepted = 0;   ///< new orders acknowledged
  uint64_t existing = 0;   ///< resubmissions answered with the existing order
  uint64_t rejected = 0;   ///< invalid input, duplicates with other content
  uint64_t overloaded = 0;
  uint64_t unavailable = 0;
  uint64_t in_flight = 0;  ///< orders waiting for the store
};

/// The result callbacks of a node (actors/callback_sender). The counts of attempts are this
/// node's since its sender started; `pending` is the whole outbox's (every node's).
struct callback_stats {
  uint64_t delivered = 0;        ///< attempts the merchant acknowledged
  uint64_t failed_attempts = 0;  ///< attempts that failed and will be made again
  uint64_t abandoned = 0;        ///< notifications given up (past the schedule, unusable URL)
  uint64_t in_flight = 0;        ///< calls under way now
  uint64_t pending = 0;          ///< store-wide: notifications not yet delivered nor abandoned
};

/// One result notification of an order in the outbox, as `deliveries` shows it.
struct callback_record {
  std::string delivery_id;
  std::string order_id;
  std::string merchant;
  std::string url;
  std::string state;              ///< pending, delivered, abandoned
  uint32_t attempts = 0;          ///< made so far
  int64_t due_at_ms = 0;          ///< when the first attempt was due
  int64_t next_attempt_at_ms = 0; ///< pending: the next attempt (or the end of a call's claim)
  uint32_t last_http_status = 0;  ///< 0: no answer (or no attempt yet)
  std::string last_error;
  int64_t updated_at_ms = 0;
};

/// One state change of one order, as the store writes it: the order row moves from `from`
/// (checked in the same statement, so a stale writer changes nothing) by `event`, its
/// history gets the entry of the change in that same statement (history_entry_of), and the
/// attempt row is written ahead (dispatch) or finished (outcomes). A note (is_note) only
/// adds to the history.
struct transition {
  std::string order_id;
  order_status from = order_status::accepted;
  order_event event = order_event::dispatch;
  int64_t at_ms = 0;
  std::string provider;      ///< the provider of the attempt concerned
  int32_t attempt_no = 0;    ///< dispatch: the new attempt's number; outcomes: the finished one
  std::string request_id;    ///< dispatch only
  std::string provider_txn;  ///< succeed only
  std::string detail;        ///< failure reason; becomes the order's last_error
  /// Cluster only, dispatch only: the lease the writing node holds on `provider`. The store
  /// applies the dispatch only while that lease is live with this epoch, so a node that lost
  /// its lease (paused, partitioned) cannot start an attempt, and the attempt row records
  /// both. Empty: a single node, no fence.
  std::string lease_owner{};
  int64_t lease_epoch = 0;
  /// Outcomes: what answered (a call, or a status query), and how long it took on the
  /// steady clock (-1: nothing was asked, e.g. an expiry). History only.
  answered_by via = answered_by::none;
  int64_t latency_us = -1;
};

/// An order and its story, oldest entry first (starting with its acceptance).
struct order_history {
  order snapshot;
  std::vector<history_entry> entries;
};

/// Who makes a provider call: the node and the epoch of its lease on the provider (a single
/// node: empty and 0). Providers are told both, so that each call can be traced to the lease
/// it was made under. `send_by` never leaves the process: the adapter sends the call only
/// before it (this node's steady clock; the validity of that lease), else answers
/// errc::stale_owner without sending. The epoch start (mono_time{}) means no limit.
struct call_origin {
  std::string node;
  int64_t epoch = 0;
  std::chrono::steady_clock::time_point send_by{};  ///< domain/clock.hpp's mono_time
};

/// One real recharge asked of a provider. request_id is stable per (order, provider), so a
/// provider that deduplicates never recharges the same order twice for us.
struct recharge_call {
  std::string request_id;
  std::string order_id;
  std::string phone;
  int64_t amount_fen = 0;
  call_origin origin{};
};

/// A status query: what became of the recharge with this request id.
struct status_query {
  std::string request_id;
  call_origin origin{};
};

enum class recharge_outcome : uint8_t {
  success,            ///< recharged; provider_txn names the provider's transaction
  transient_failure,  ///< not recharged; another attempt may succeed
  permanent_failure,  ///< not recharged and never will be (e.g. number not rechargeable)
  /// Not recharged: the number is not with a carrier this provider serves (ported away,
  /// 携号转网). Final for this provider only: another provider may recharge it.
  wrong_carrier,
};

/// A provider's answer to a recharge call. No answer within the call's timeout is the
/// unknown outcome: it is not a reply at all, and only a status query resolves it.
struct recharge_reply {
  recharge_outcome outcome = recharge_outcome::transient_failure;
  std::string provider_txn;
  std::string detail;
};

enum class query_outcome : uint8_t {
  recharged,      ///< the request was performed; provider_txn set
  not_recharged,  ///< the provider never performed it (failed, or never received it)
  query_failed,   ///< no answer about it now (outage); ask again later
};

struct query_reply {
  query_outcome outcome = query_outcome::query_failed;
  std::string provider_txn;
  std::string detail;
};

/// What `list` returns: the most recent orders matching every non-empty field.
struct order_filter {
  std::string status;    ///< e.g. "failed"; empty: any
  std::string carrier;
  std::string provider;
  int64_t since_ms = 0;  ///< accepted at or after
  uint32_t limit = 100;  ///< at most this many, newest first (capped at 10,000)
  std::string client_ref{};  ///< of any merchant; empty: any
  std::string phone{};       ///< empty: any
  int64_t until_ms = 0;      ///< accepted before; 0: no bound
  bool oldest_first = false;
  /// With client_ref: the merchants whose reference it may be, so that the unique
  /// (merchant, client_ref) index finds it; empty: any merchant's (the table is scanned).
  std::vector<std::string> merchants{};
};

/// One state change of one order, as watchers receive it.
struct order_update {
  order snapshot;     ///< the order after the change
  std::string event;  ///< "accept", or the order_event name ("succeed", "expire", ...)
};

struct status_count {
  std::string status;
  uint64_t count = 0;
};

/// A recharge actor's periodic account of its load, for routing and admission.
struct provider_report {
  std::string provider;
  uint64_t queued = 0;
  uint64_t in_flight = 0;
  uint64_t waiting = 0;
  bool accepting = true;   ///< breaker not open
  double latency_ms = 50;  ///< recent typical call latency
  double calls_per_order = 1;  ///< calls an order costs until final, measured (call_cost_meter)
  /// Orders received in dispatch messages since the lane started: the router's count of those
  /// it sent, less this, are on their way and not in `queued` yet.
  uint64_t received = 0;
  /// How long the lane's oldest store write not answered yet has waited (0: none waits): how
  /// far behind the store is with the state changes of accepted orders.
  double store_lag_ms = 0;
};

/// Counters of one recharge actor.
struct provider_stats {
  std::string provider;
  uint64_t calls = 0;
  uint64_t queries = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;         ///< final failures (refunded)
  uint64_t expired = 0;        ///< closed at the deadline without a call
  uint64_t retries = 0;        ///< transient failures retried
  uint64_t unknown = 0;        ///< calls whose outcome was lost
  uint64_t failed_over = 0;    ///< orders handed to another provider
  uint64_t unknown_at_deadline = 0;  ///< outcomes still unknown at the deadline: reconcile
  uint64_t queued = 0;
  uint64_t in_flight = 0;
  std::string breaker;
  uint64_t tokens = 0;  ///< calls the lane's token bucket allows at once now
  double store_lag_ms = 0;  ///< see provider_report
};

/// Everything `stats` reports about a node. Two scopes, which the client says apart:
/// `intake`, `store` and `providers` are this node's, counted since it started (an actor
/// the supervisor restarts counts again from its restart; `restarts` says how many there
/// were); `orders` are the whole store's, every node and every earlier run included.
struct node_stats {
  std::string node;
  uint32_t protocol = 0;
  uint64_t restarts = 0;  ///< actor restarts by the supervisor since start
  int64_t started_at_ms = 0;  ///< when the node started (wall clock); 0 in cluster totals
  intake_stats intake;
  store_stats store;
  callback_stats callbacks;  ///< zero on a node without a callback sender
  std::vector<status_count> orders;  ///< orders in the store by status: store-wide
  std::vector<provider_stats> providers;
};

/// A member of the cluster whose counters did not arrive in time for `stats`.
struct unreachable_node {
  std::string node;
  std::string address;  ///< host:port of its gateway
  std::string reason;   ///< why: not connected, no answer within the bound, ...
};

/// Everything `stats` reports: the counters of every live member of the cluster, asked of
/// them by the node the client asked (a single node is a cluster of one).
struct cluster_stats {
  /// The node asked first, then the members that answered, by name. Only the node asked
  /// carries `orders`: the counts come from the shared store, read once.
  std::vector<node_stats> nodes{};
  std::vector<unreachable_node> unreachable{};
  /// Every counter of `nodes` summed (providers by name), with the order counts of the node
  /// asked; `node` is empty.
  node_stats totals{};
};

/// A provider this node holds the lease of, under which epoch, and until when (this node's
/// steady clock) its lanes may call under it (send_fence.hpp).
struct provider_lease {
  std::string provider;
  int64_t epoch = 0;
  std::chrono::steady_clock::time_point valid_until{};  ///< domain/clock.hpp's mono_time
};

/// One member of the cluster as a node sees it.
struct member_info {
  std::string node;
  std::string address;              ///< host:port of its gateway
  bool live = false;
  int64_t heartbeat_age_ms = 0;     ///< since its last heartbeat, by the database clock
  std::vector<std::string> providers;  ///< whose lease it holds
  std::vector<int64_t> epochs;         ///< the epoch of each of those leases, in that order
                                       ///< (a single node holds no leases: empty)
};

/// Reconciliation: one page of a provider's attempts that started in [from_ms, to_ms), in
/// the order of (started_at_ms, order_id, attempt_no), after the cursor (the last attempt of
/// the previous page; the first page starts at the lowest cursor). A page shorter than
/// `limit` is the last. Paged so that a day of millions of attempts never makes one message.
struct attempt_query {
  std::string provider;
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  int64_t after_started_ms = std::numeric_limits<int64_t>::min();
  std::string after_order_id{};
  int32_t after_attempt_no = 0;
  uint32_t limit = 1000;  ///< at most 10,000
};

/// Reconciliation: settle the outcomes a provider still owes before comparing its statement.
/// The node holding the provider queries its orders with an unknown outcome now, and the
/// answer comes once none of them (nor of its calls then in flight) is unsettled any more,
/// or `wait_ms` has passed.
struct settle_request {
  std::string provider;
  int64_t wait_ms = 10000;
};

struct settle_report {
  std::string node;         ///< the node that queried: the provider's holder
  uint64_t unknown = 0;     ///< orders whose outcome was unknown when asked: queried now
  uint64_t in_flight = 0;   ///< orders whose call was in flight when asked: waited for
  uint64_t settled = 0;     ///< of these, the ones known by the answer
  std::vector<std::string> unsettled{};  ///< the others' ids (at most 1,000)
  int64_t waited_ms = 0;
};

/// A page of the orders a result writer catches up with: final orders that came in by
/// `ingress`, in the order of (updated_at_ms, id), after (after_ms, after_id) and stamped no
/// later than until_ms.
struct final_orders_page {
  std::string ingress;
  int64_t after_ms = 0;
  std::string after_id;
  int64_t until_ms = 0;
  uint32_t limit = 500;
};

/// An order the deadline actor reminds about. Its deadline is on the steady clock of this
/// process (steady_ms of order::steady_deadline): a step of the wall clock moves no reminder.
struct deadline_entry {
  std::string order_id;
  int64_t steady_deadline_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provider_lease& x) {
  return f(caf::meta::type_name("provider_lease"), x.provider, x.epoch, x.valid_until);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("member_info"), x.node, x.address, x.live, x.heartbeat_age_ms,
           x.providers, x.epochs);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, final_orders_page& x) {
  return f(caf::meta::type_name("final_orders_page"), x.ingress, x.after_ms, x.after_id,
           x.until_ms, x.limit);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_filter& x) {
  return f(caf::meta::type_name("order_filter"), x.status, x.carrier, x.provider, x.since_ms,
           x.limit, x.client_ref, x.phone, x.until_ms, x.oldest_first,
           x.merchants);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_update& x) {
  return f(caf::meta::type_name("order_update"), x.snapshot, x.event);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_count& x) {
  return f(caf::meta::type_name("status_count"), x.status, x.count);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_stats& x) {
  return f(caf::meta::type_name("node_stats"), x.node, x.protocol, x.restarts, x.started_at_ms,
           x.intake, x.store, x.callbacks, x.orders, x.providers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, callback_stats& x) {
  return f(caf::meta::type_name("callback_stats"), x.delivered, x.failed_attempts, x.abandoned,
           x.in_flight, x.pending);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, callback_record& x) {
  return f(caf::meta::type_name("callback_record"), x.delivery_id, x.order_id, x.merchant, x.url,
           x.state, x.attempts, x.due_at_ms, x.next_attempt_at_ms, x.last_http_status,
           x.last_error, x.updated_at_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unreachable_node& x) {
  return f(caf::meta::type_name("unreachable_node"), x.node, x.address, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_stats& x) {
  return f(caf::meta::type_name("cluster_stats"), x.nodes, x.unreachable, x.totals);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provider_report& x) {
  return f(caf::meta::type_name("provider_report"), x.provider, x.queued, x.in_flight, x.waiting,
           x.accepting, x.latency_ms, x.calls_per_order, x.received, x.store_lag_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provider_stats& x) {
  return f(caf::meta::type_name("provider_stats"), x.provider, x.calls, x.queries, x.succeeded,
           x.failed, x.expired, x.retries, x.unknown, x.failed_over, x.unknown_at_deadline,
           x.queued, x.in_flight, x.breaker, x.tokens, x.store_lag_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_record& x) {
  return f(caf::meta::type_name("attempt_record"), x.order_id, x.attempt_no, x.provider,
           x.request_id, x.started_at_ms, x.finished_at_ms, x.outcome, x.provider_txn, x.status,
           x.amount_fen, x.phone);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_query& x) {
  return f(caf::meta::type_name("attempt_query"), x.provider, x.from_ms, x.to_ms,
           x.after_started_ms, x.after_order_id, x.after_attempt_no, x.limit);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, settle_request& x) {
  return f(caf::meta::type_name("settle_request"), x.provider, x.wait_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, settle_report& x) {
  return f(caf::meta::type_name("settle_report"), x.node, x.unknown, x.in_flight, x.settled,
           x.unsettled, x.waited_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deadline_entry& x) {
  return f(caf::meta::type_name("deadline_entry"), x.order_id, x.steady_deadline_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transition& x) {
  return f(caf::meta::type_name("transition"), x.order_id, x.from, x.event, x.at_ms, x.provider,
           x.attempt_no, x.request_id, x.provider_txn, x.detail, x.lease_owner, x.lease_epoch,
           x.via, x.latency_us);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_entry& x) {
  return f(caf::meta::type_name("history_entry"), x.at_ms, x.event, x.status, x.provider,
           x.attempt_no, x.request_id, x.node, x.epoch, x.via, x.latency_us, x.provider_txn,
           x.detail);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_history& x) {
  return f(caf::meta::type_name("order_history"), x.snapshot, x.entries);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_origin& x) {
  return f(caf::meta::type_name("call_origin"), x.node, x.epoch, x.send_by);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recharge_call& x) {
  return f(caf::meta::type_name("recharge_call"), x.request_id, x.order_id, x.phone, x.amount_fen,
           x.origin);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_query& x) {
  return f(caf::meta::type_name("status_query"), x.request_id, x.origin);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recharge_reply& x) {
  return f(caf::meta::type_name("recharge_reply"), x.outcome, x.provider_txn, x.detail);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_reply& x) {
  return f(caf::meta::type_name("query_reply"), x.outcome, x.provider_txn, x.detail);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_request& x) {
  return f(caf::meta::type_name("order_request"), x.client_ref, x.phone, x.amount_fen,
           x.merchant, x.notify_url, x.carrier);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order& x) {
  return f(caf::meta::type_name("order"), x.id, x.client_ref, x.phone, x.carrier, x.amount_fen,
           x.provider, x.status, x.attempts, x.accepted_at_ms, x.deadline_ms, x.updated_at_ms,
           x.last_error, x.ingress, x.merchant, x.notify_url, x.wrong_carrier_at);
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
  CAF_ADD_TYPE_ID(topup, (topup::transition))
  // Vectors that travel as message elements need their own ids, or a remote peer sees an
  // invalid type and refuses the gateway's interface.
  CAF_ADD_TYPE_ID(topup, (std::vector<topup::order_request>))
  CAF_ADD_TYPE_ID(topup, (std::vector<topup::order>))
  CAF_ADD_TYPE_ID(topup, (std::vector<topup::submit_result>))
  CAF_ADD_TYPE_ID(topup, (topup::order_filter))
  CAF_ADD_TYPE_ID(topup, (topup::order_update))
  CAF_ADD_TYPE_ID(topup, (topup::status_count))
  CAF_ADD_TYPE_ID(topup, (topup::node_stats))
  CAF_ADD_TYPE_ID(topup, (topup::provider_report))
  CAF_ADD_TYPE_ID(topup, (topup::provider_stats))
  CAF_ADD_TYPE_ID(topup, (topup::deadline_entry))
  CAF_ADD_TYPE_ID(topup, (topup::recharge_call))
  CAF_ADD_TYPE_ID(topup, (topup::recharge_reply))
  CAF_ADD_TYPE_ID(topup, (topup::query_reply))
  CAF_ADD_TYPE_ID(topup, (topup::provider_lease))
  CAF_ADD_TYPE_ID(topup, (topup::member_info))
  CAF_ADD_TYPE_ID(topup, (std::vector<topup::member_info>))
  CAF_ADD_TYPE_ID(topup, (std::vector<topup::provider_lease>))
  CAF_ADD_TYPE_ID(topup, (topup::unreachable_node))
  CAF_ADD_TYPE_ID(topup, (topup::cluster_stats))
  CAF_ADD_TYPE_ID(topup, (topup::history_entry))
  CAF_ADD_TYPE_ID(topup, (topup::order_history))
  CAF_ADD_TYPE_ID(topup, (topup::call_origin))
  CAF_ADD_TYPE_ID(topup, (topup::status_query))
  CAF_ADD_TYPE_ID(topup, (topup::attempt_record))
  CAF_ADD_TYPE_ID(topup, (std::vector<topup::attempt_record>))
  CAF_ADD_TYPE_ID(topup, (topup::attempt_query))
  CAF_ADD_TYPE_ID(topup, (topup::settle_request))
  CAF_ADD_TYPE_ID(topup, (topup::settle_report))
  CAF_ADD_TYPE_ID(topup, (topup::final_orders_page))
  CAF_ADD_TYPE_ID(topup, (topup::callback_stats))
  CAF_ADD_TYPE_ID(topup, (topup::callback_record))
  CAF_ADD_TYPE_ID(topup, (std::vector<topup::callback_record>))

  // any actor -> its requester: done, with nothing more to say (see messages/interfaces.hpp)
  CAF_ADD_ATOM(topup, topup, ack_atom, "ack")
  // client -> node (the gateway)
  CAF_ADD_ATOM(topup, topup, hello_atom, "hello")
  CAF_ADD_ATOM(topup, topup, submit_atom, "submit")
  CAF_ADD_ATOM(topup, topup, list_atom, "list")
  CAF_ADD_ATOM(topup, topup, history_atom, "history")
  CAF_ADD_ATOM(topup, topup, cancel_atom, "cancel")
  CAF_ADD_ATOM(topup, topup, watch_atom, "watch")
  CAF_ADD_ATOM(topup, topup, unwatch_atom, "unwatch")
  // node -> watching client: an order changed
  CAF_ADD_ATOM(topup, topup, event_atom, "event")
  // engine actors -> watch hub
  CAF_ADD_ATOM(topup, topup, notify_atom, "notify")
  // intake -> store
  CAF_ADD_ATOM(topup, topup, insert_atom, "insert")
  CAF_ADD_ATOM(topup, topup, find_ref_atom, "findref")
  // recharge -> store: state changes
  CAF_ADD_ATOM(topup, topup, transition_atom, "transition")
  // store start-up reads
  CAF_ADD_ATOM(topup, topup, load_atom, "load")
  // anyone -> any actor: counters
  CAF_ADD_ATOM(topup, topup, stats_atom, "stats")
  // intake -> routing: accepted orders to recharge
  CAF_ADD_ATOM(topup, topup, dispatch_atom, "dispatch")
  // recharge -> provider adapters
  CAF_ADD_ATOM(topup, topup, recharge_atom, "recharge")
  CAF_ADD_ATOM(topup, topup, query_atom, "query")
  // router <-> recharge actors
  CAF_ADD_ATOM(topup, topup, recover_atom, "recover")
  CAF_ADD_ATOM(topup, topup, release_atom, "release")
  CAF_ADD_ATOM(topup, topup, done_atom, "done")
  CAF_ADD_ATOM(topup, topup, reroute_atom, "reroute")
  CAF_ADD_ATOM(topup, topup, report_atom, "report")
  // router <-> intake (through the supervisor): the providers' load, for admission
  CAF_ADD_ATOM(topup, topup, admission_atom, "admission")
  // router <-> deadline actor
  CAF_ADD_ATOM(topup, topup, track_atom, "track")
  CAF_ADD_ATOM(topup, topup, resend_atom, "resend")
  CAF_ADD_ATOM(topup, topup, expire_atom, "expire")
  // timers an actor sends itself
  CAF_ADD_ATOM(topup, topup, pump_atom, "pump")
  CAF_ADD_ATOM(topup, topup, tick_atom, "tick")
  // store / provider ledger -> itself: commit what has gathered
  CAF_ADD_ATOM(topup, topup, commit_atom, "commit")
  // cluster: membership, provider ownership, orders forwarded to a provider's owner
  CAF_ADD_ATOM(topup, topup, members_atom, "members")
  CAF_ADD_ATOM(topup, topup, own_atom, "own")
  CAF_ADD_ATOM(topup, topup, released_atom, "released")
  CAF_ADD_ATOM(topup, topup, forward_atom, "forward")
  // cluster: a request one node makes of another about that node alone (its own counters,
  // its own router's queues, the changes made there), and the connected members' gateways
  CAF_ADD_ATOM(topup, topup, local_atom, "local")
  CAF_ADD_ATOM(topup, topup, peers_atom, "peers")
  // reconciliation: a provider's attempts page by page; its unknown outcomes queried now
  CAF_ADD_ATOM(topup, topup, attempts_atom, "attempts")
  CAF_ADD_ATOM(topup, topup, settle_atom, "settle")
  // result writers <-> store: where a writer resumes after a restart
  CAF_ADD_ATOM(topup, topup, cursor_atom, "cursor")
  // client -> gateway -> callback sender: an order's result notifications; sending one again
  CAF_ADD_ATOM(topup, topup, deliveries_atom, "deliveries")
  CAF_ADD_ATOM(topup, topup, redeliver_atom, "redeliver")
  CAF_ADD_ATOM(topup, topup, delivery_atom, "delivery")
  // node -> node (cluster): forwarded orders taken by the receiving member's router
  CAF_ADD_ATOM(topup, topup, take_atom, "take")

CAF_END_TYPE_ID_BLOCK(topup)

namespace topup {

/// Registers the protocol's types and error category; call on every actor_system_config.
void register_protocol(caf::actor_system_config& cfg);

} // namespace topup
