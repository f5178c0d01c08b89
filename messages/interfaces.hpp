#pragma once

// Every actor interface of topup. The interfaces are the architecture: each handler below has
// one line saying what it does, and the compiler checks every send against them. Not checked
// are sends to watching clients, dynamically typed caf::actor handles (they receive
// (event_atom, order_update)).
//
// A request whose answer can only say "done" is answered with ack_atom: the reply type then
// says that there is nothing to look at but its arrival (or an error).

#include "domain/admission.hpp"
#include "messages/protocol.hpp"

namespace topup {

/// The store's reads. The store answers them itself on SQLite; on PostgreSQL it hands them to
/// a pool of readers (persistence/store_reader), each answering exactly as the store would.
using store_reader_actor = caf::typed_actor<
  // The order with this id; error not_found.
  caf::replies_to<caf::get_atom, std::string>::with<order>,
  // The order of this merchant ("": the default one) with this client reference; error
  // not_found.
  caf::replies_to<find_ref_atom, std::string, std::string>::with<order>,
  // The order with this id and its history; error not_found.
  caf::replies_to<history_atom, std::string>::with<order_history>,
  // Every order not yet final, in one bulk read (start-up recovery).
  caf::replies_to<load_atom>::with<std::vector<order>>,
  // The next page of unfinished orders after (deadline_ms, id), by deadline: start-up
  // recovery of a large backlog.
  caf::replies_to<load_atom, int64_t, std::string, uint32_t>::with<std::vector<order>>,
  // Those of these orders that are not final: a cluster node's look at orders it forwarded.
  caf::replies_to<load_atom, std::vector<std::string>>::with<std::vector<order>>,
  // The newest orders matching a filter.
  caf::replies_to<list_atom, order_filter>::with<std::vector<order>>,
  // Orders by status.
  caf::replies_to<stats_atom, list_atom>::with<std::vector<status_count>>,
  // Reconciliation: one page of a provider's attempts of a period, with their orders.
  caf::replies_to<attempts_atom, attempt_query>::with<std::vector<attempt_record>>,
  // A page of final orders of a queue ingress, for a result writer catching up.
  caf::replies_to<load_atom, final_orders_page>::with<std::vector<order>>,
  // Where the named result writer resumes (ms since the epoch); -1: it never recorded one.
  caf::replies_to<cursor_atom, std::string>::with<int64_t>,
  // The order's result notifications in the callback outbox, by due time (none: empty).
  caf::replies_to<deliveries_atom, std::string>::with<std::vector<callback_record>>>;

/// The store: the only actor that writes to the database (persistence/store_actor).
using store_actor = store_reader_actor::extend<
  // Inserts new orders in one group commit; a row whose client reference exists is not
  // written and its outcome carries the stored row instead. Replies once durable.
  caf::replies_to<insert_atom, std::vector<order>>::with<std::vector<insert_outcome>>,
  // Applies state changes in the same group commit; each is true when applied, false when
  // refused (the order was not in `from`, or the event is illegal there). Replies once durable.
  caf::replies_to<transition_atom, std::vector<transition>>::with<std::vector<bool>>,
  caf::replies_to<stats_atom>::with<store_stats>,
  // Records where the named result writer resumes; replies once durable.
  caf::replies_to<cursor_atom, std::string, int64_t>::with<ack_atom>,
  // Internal (sent to itself): commit the writes gathered since the last commit.
  caf::reacts_to<commit_atom>>;

/// A provider adapter: the simulated provider or the HTTP client of a real one. Calls never
/// block a scheduler thread; a recharge may stay unanswered (the unknown outcome), so every
/// request to a provider carries the provider's call timeout. A call or query whose origin's
/// send_by has passed is not sent: error stale_owner.
using provider_actor = caf::typed_actor<
  // Recharge once; answered with the outcome, or never (unknown outcome).
  caf::replies_to<recharge_atom, recharge_call>::with<recharge_reply>,
  // What became of the recharge with this request id.
  caf::replies_to<query_atom, status_query>::with<query_reply>,
  // Internal (sent to itself): the simulated provider commits its gathered ledger writes;
  // the HTTP adapter delivers the replies its I/O thread finished.
  caf::reacts_to<commit_atom>>;

/// Receives accepted orders for recharging (routing; in tests, a collector).
using order_sink_actor = caf::typed_actor<caf::reacts_to<dispatch_atom, std::vector<order>>>;

/// One provider's recharge actor: its queue, rate limit, retries, breaker and queries.
using recharge_actor = caf::typed_actor<
  // Orders to recharge (urgent: re-sent near the deadline, served before all others).
  caf::reacts_to<dispatch_atom, std::vector<order>, bool>,
  // Orders whose last attempt here was in flight when the node stopped: query them first.
  caf::reacts_to<recover_atom, std::vector<order>>,
  // Takes an order out of the queue if it is still waiting there (empty: it is not).
  caf::replies_to<release_atom, std::string>::with<std::vector<order>>,
  // These orders reached their deadline: close those still waiting.
  caf::reacts_to<expire_atom, std::vector<std::string>>,
  caf::replies_to<stats_atom>::with<provider_stats>,
  // The node is stopping: start no new calls, let running ones finish.
  caf::reacts_to<caf::close_atom>,
  // Cluster: the node renewed the lease this lane works under (same epoch): calls and
  // queries may leave until its valid_until. Another epoch's lease is ignored.
  caf::reacts_to<own_atom, provider_lease>,
  // Reconciliation: query these orders now if they wait for a status query here (one in
  // flight already is not doubled; others are left alone).
  caf::reacts_to<query_atom, std::vector<std::string>>,
  // Cluster: the node gives the provider up. Start no new calls; give the waiting orders
  // back to the router (forward_atom) for the next holder; answer once no call is in flight
  // and every state change is written, so that the provider's next owner never overlaps
  // with a call of this one and reads its outcomes from the store.
  caf::replies_to<released_atom>::with<ack_atom>,
  // Internal: write the state changes gathered in this mailbox pass; serve the queue; report
  // load to the router.
  caf::reacts_to<caf::flush_atom>,
  caf::reacts_to<pump_atom, uint64_t>,
  caf::reacts_to<report_atom>>;

/// The deadline actor: reminders at the re-send points and at each order's deadline.
using deadline_actor = caf::typed_actor<
  caf::reacts_to<track_atom, std::vector<deadline_entry>>,
  // Internal timer.
  caf::reacts_to<tick_atom, uint64_t>>;

/// Intake: validates, applies idempotency, persists, acknowledges, hands orders on.
using intake_actor = caf::typed_actor<
  // One order; replies with the stored order once durable, or a topup error.
  caf::replies_to<submit_atom, order_request>::with<order>,
  // Many orders in one message, each answered on its own, in the same order.
  caf::replies_to<submit_atom, std::vector<order_request>>::with<std::vector<submit_result>>,
  // The same from a queue ingress of this node, whose name ("redis") each new
  // order records, so that its result is written back there.
  caf::replies_to<submit_atom, std::vector<order_request>, std::string>::with<
    std::vector<submit_result>>,
  caf::replies_to<stats_atom>::with<intake_stats>,
  // From the supervisor after a restart: the store and router to use from now on. The reply
  // tells the supervisor that later dispatches go to the new router.
  caf::replies_to<caf::update_atom, store_actor, order_sink_actor>::with<ack_atom>,
  // From the router it hands orders to: the providers' load, on every report of a recharge
  // actor; intake refuses (overloaded) what they cannot start in time.
  caf::reacts_to<admission_atom, admission_snapshot>,
  // Internal (sent to itself): write the orders gathered since the last flush in one insert.
  caf::reacts_to<caf::flush_atom>>;

/// The router: owns the routing of every unfinished order of the node, and spawns and links
/// the deadline and recharge actors (they fail and restart as one group).
using router_actor = caf::typed_actor<
  // New accepted orders from intake.
  caf::reacts_to<dispatch_atom, std::vector<order>>,
  // From recharge actors: these orders are final (or given up to reconciliation).
  caf::reacts_to<done_atom, std::vector<std::string>>,
  // From a recharge actor whose provider is failing: serve these elsewhere.
  caf::reacts_to<reroute_atom, std::vector<order>, std::string>,
  caf::reacts_to<report_atom, provider_report>,
  // From the deadline actor.
  caf::reacts_to<resend_atom, std::vector<std::string>>,
  caf::reacts_to<expire_atom, std::vector<std::string>>,
  // Every provider's counters.
  caf::replies_to<stats_atom>::with<std::vector<provider_stats>>,
  // Cancels an order still waiting for its first call; error illegal_transition otherwise.
  caf::replies_to<cancel_atom, std::string>::with<order>,
  // The node is stopping: every recharge actor starts no new calls.
  caf::reacts_to<caf::close_atom>,
  // From a recharge actor that found an order in flight from an earlier incarnation of the
  // engine: each goes to the lane of its attempt's provider, which queries it first.
  caf::reacts_to<recover_atom, std::vector<order>>,
  // From the supervisor, once intake dispatches here: load unfinished orders from the store
  // and serve them (start-up and after a restart).
  caf::reacts_to<recover_atom>,
  // Whether the start-up recovery has handed on every unfinished order (a cluster node: once
  // told to recover): the node tells its service manager it is ready only then.
  caf::replies_to<recover_atom, caf::get_atom>::with<bool>,
  // Cluster, from the cluster actor at every heartbeat: the providers whose lease this node
  // holds now, with their epochs and validity (passed on to their lanes). The router serves
  // exactly these: it starts a lane for a new one (taking
  // over its unfinished orders from the store, in-flight ones queried first) and closes the
  // lane of one no longer listed, answering released_atom to the cluster actor once no call
  // of that lane is in flight.
  caf::reacts_to<own_atom, std::vector<provider_lease>>,
  // Cluster, from a lane giving its queue up or from the cluster actor: orders for a provider
  // this node holds, and its name. Served here when this node still holds it; otherwise
  // passed on to the holder it knows of.
  caf::reacts_to<forward_atom, std::vector<order>, std::string>,
  // Cluster, from another node through the gateway: the same, answered with the ids of the
  // orders this node holds now (the forwarding node stops watching those).
  caf::replies_to<take_atom, std::vector<order>, std::string>::with<std::vector<std::string>>,
  // Cluster, from the cluster actor: another node holds these orders this node forwarded.
  caf::reacts_to<take_atom, std::vector<std::string>>,
  // Cluster, from the cluster actor: a member left or restarted holding no provider, so no
  // takeover reads the orders it accepted and never handed on: serve every waiting order
  // again (serves_orphans).
  caf::reacts_to<recover_atom, members_atom>,
  // From the supervisor: the intake whose orders this router takes; it gets an admission
  // snapshot on every report of a recharge actor (unless admission is off).
  caf::reacts_to<admission_atom, intake_actor>,
  // Reconciliation: the lane of this provider (if it runs here) queries these orders now if
  // they wait for a status query.
  caf::reacts_to<query_atom, std::string, std::vector<std::string>>>;

/// The node's published entry actor: the whole remote protocol of topup. Clients connect
/// with remote_actor<gateway_actor>, which checks this interface, then say hello. In a
/// cluster, stats, watch and cancel cover every member, whichever node is asked; the
/// requests marked "from another node" are how the members ask each other, about the
/// answering node alone (never passed on again).
using gateway_actor = caf::typed_actor<
  // Protocol versions: the client's in, the node's and its name out.
  caf::replies_to<hello_atom, uint32_t>::with<uint32_t, std::string>,
  caf::replies_to<submit_atom, order_request>::with<order>,
  caf::replies_to<submit_atom, std::vector<order_request>>::with<std::vector<submit_result>>,
  caf::replies_to<caf::get_atom, std::string>::with<order>,
  // The order of a merchant ("": the node's default merchant) with a client reference.
  caf::replies_to<find_ref_atom, std::string, std::string>::with<order>,
  // The order with this id and its story: every state change, attempt and query.
  caf::replies_to<history_atom, std::string>::with<order_history>,
  caf::replies_to<list_atom, order_filter>::with<std::vector<order>>,
  // The counters of this node and of every live member, and their totals; a member that
  // does not answer in time is listed as unreachable.
  caf::replies_to<stats_atom>::with<cluster_stats>,
  // From another node: this node's own counters, without the order counts (the asking node
  // reads those from the shared store).
  caf::replies_to<stats_atom, local_atom>::with<node_stats>,
  // Whether this node's router has handed on every unfinished order of its start-up
  // recovery (GET /v1/ready answers 503 until then).
  caf::replies_to<recover_atom, caf::get_atom>::with<bool>,
  // Cancels an order waiting for a provider, at whichever member's router holds it.
  caf::replies_to<cancel_atom, std::string>::with<order>,
  // From another node: cancels the order if this node's router holds it waiting.
  caf::replies_to<cancel_atom, local_atom, std::string>::with<order>,
  // The subscriber receives (event_atom, order_update) for each change, wherever in the
  // cluster it is made. Answered once the other members pass the changes on.
  caf::replies_to<watch_atom, caf::actor, std::string>::with<ack_atom>,
  caf::reacts_to<unwatch_atom, caf::actor>,
  // From another node's watch hub: it receives (event_atom, order_update) for the changes
  // made on this node to these orders (an empty id: every order); unwatch drops some.
  caf::replies_to<watch_atom, local_atom, caf::actor, std::vector<std::string>>::with<ack_atom>,
  caf::reacts_to<unwatch_atom, local_atom, caf::actor, std::vector<std::string>>,
  // The cluster's members as this node sees them (a single node: itself alone).
  caf::replies_to<members_atom>::with<std::vector<member_info>>,
  // From another node of the cluster: orders for a provider this node holds, and its name;
  // answered with the ids of those its router holds now.
  caf::replies_to<forward_atom, std::vector<order>, std::string>::with<std::vector<std::string>>,
  // Reconciliation: one page of a provider's attempts of a period (see attempt_query).
  caf::replies_to<attempts_atom, attempt_query>::with<std::vector<attempt_record>>,
  // Reconciliation: the node holding the provider (this one, or the member that does in a
  // cluster) queries its unknown outcomes now and answers once they settled or the wait is
  // over; error unavailable when no live member holds it.
  caf::replies_to<settle_atom, settle_request>::with<settle_report>,
  // From another node: settle the provider here (this node holds it).
  caf::replies_to<settle_atom, local_atom, settle_request>::with<settle_report>,
  // The result notifications of an order, by due time, as the store's outbox holds them
  // (none: an empty list).
  caf::replies_to<deliveries_atom, std::string>::with<std::vector<callback_record>>,
  caf::replies_to<redeliver_atom, std::string>::with<callback_record>,
  caf::replies_to<redeliver_atom, delivery_atom, std::string>::with<callback_record>>;

/// Reconciliation (actors/settler): one settle_request on this node, then it quits.
using settler_actor = caf::typed_actor<
  caf::replies_to<settle_atom, settle_request>::with<settle_report>,
  // Internal timer: read the store again.
  caf::reacts_to<tick_atom>>;

/// Another live member of the cluster and its gateway (null while not connected).
struct peer_gateway {
  std::string node;
  std::string address;
  gateway_actor gateway;
};

/// Cluster membership and provider ownership of one node (actors/cluster): heartbeats and
/// leases in the shared database, connections to the other members' gateways.
using cluster_actor = caf::typed_actor<
  // The members as this node sees them.
  caf::replies_to<members_atom>::with<std::vector<member_info>>,
  // The leases this node holds now (a router asks at start, then follows own_atom).
  caf::replies_to<own_atom>::with<std::vector<provider_lease>>,
  // From the supervisor: the router to tell about ownership from now on.
  caf::reacts_to<caf::update_atom, router_actor>,
  // From the router: no call of this provider is in flight here any more; the lease of
  // this epoch may be released to its next owner.
  caf::reacts_to<released_atom, std::string, int64_t>,
  // From the router: orders for a provider another node holds; sent to that node's gateway
  // (kept until a tick finds a live, connected holder).
  caf::reacts_to<forward_atom, std::vector<order>, std::string>,
  // The other live members, with the gateways of those connected.
  caf::replies_to<peers_atom>::with<std::vector<peer_gateway>>,
  // Internal timer: heartbeat, read members, plan and apply ownership.
  caf::reacts_to<tick_atom>>;

} // namespace topup

namespace topup {

/// A local actor told of every state change made on this node (event_feed listeners: the
/// result writers of the queue ingresses).
using update_listener_actor =
  caf::typed_actor<caf::reacts_to<notify_atom, std::vector<order_update>>>;

/// A queue ingress (actors/queue_ingress): takes orders from a Redis list or a RabbitMQ
/// queue, submits them to intake and removes or acknowledges each message only once intake
/// answered. Runs detached: the broker clients block.
using queue_consumer_actor = caf::typed_actor<
  // Internal: take the next batch (also after a backoff).
  caf::reacts_to<pump_atom>,
  // Internal: log a summary of what was consumed since the last one.
  caf::reacts_to<tick_atom>,
  // The node is stopping: finish the batch in hand, then quit. Messages not taken stay in
  // the broker, messages in hand and unanswered are taken again at the next start.
  caf::reacts_to<caf::close_atom>>;

/// A result writer (actors/result_writer): writes the final state of every order that came
/// in by its ingress back to the producers' broker, at least once.
using result_writer_actor = update_listener_actor::extend<
  // Internal: write what waits (catching up from the store first).
  caf::reacts_to<pump_atom>,
  // Internal: record in the store where to resume after a restart.
  caf::reacts_to<tick_atom>>;

/// The callback sender (actors/callback_sender): delivers the merchants' result
/// notifications from the store's outbox, retrying by the schedule.
using callback_sender_actor = caf::typed_actor<
  // Internal: read the due notifications and start their calls.
  caf::reacts_to<tick_atom>,
  // Internal: calls finished (the HTTP clients' threads wake the actor).
  caf::reacts_to<commit_atom>,
  // This sender's counts since it started, and the outbox's pending notifications.
  caf::replies_to<stats_atom>::with<callback_stats>,
  // Makes the order's latest notification due now again (also a delivered or abandoned
  // one) and answers it as it then stands; not_found when the order has none.
  caf::replies_to<redeliver_atom, std::string>::with<callback_record>,
  // Makes the notification with this delivery id due now again, as above; not_found when
  // there is none.
  caf::replies_to<redeliver_atom, delivery_atom, std::string>::with<callback_record>>;

/// The node's current actors, as the gateway reaches them.
struct node_handles {
  store_actor store;
  router_actor router;
  intake_actor intake;
  cluster_actor cluster;            ///< null on a single node
  callback_sender_actor callbacks;  ///< null when no merchant has a callback destination
};

/// The supervisor (actors/supervisor): spawns, watches and restarts the node's actors. Actors
/// that outlive a restart (the gateway, the watch hub, the queue ingresses) ask it for the
/// current ones each time.
using supervisor_actor = caf::typed_actor<
  // The node's current actors.
  caf::replies_to<caf::get_atom>::with<node_handles>,
  // Restarts since the node started, and when it started (wall-clock ms).
  caf::replies_to<stats_atom>::with<uint64_t, int64_t>>;

/// Watch subscriptions: engine actors notify it of every state change made on this node; it
/// forwards each to the clients watching that order (or all orders) until they unwatch or go
/// down. In a cluster it relays: while its clients watch, it subscribes itself to the changes
/// made on every other member (for the orders they watch) and hands those to its clients. A
/// hub passes on to other hubs only the changes made on its own node, so each change reaches
/// a client once.
using watch_hub_actor = caf::typed_actor<
  caf::reacts_to<notify_atom, std::vector<order_update>>,
  // Subscribes a client actor to one order id, or to all orders with an empty id; answered
  // once the other members relay that too (or did not answer in time).
  caf::replies_to<watch_atom, caf::actor, std::string>::with<ack_atom>,
  caf::reacts_to<unwatch_atom, caf::actor>,
  // From another member's hub (through the gateway): it receives the changes made on this
  // node to these orders (an empty id: every order); unwatch drops some.
  caf::replies_to<watch_atom, local_atom, caf::actor, std::vector<std::string>>::with<ack_atom>,
  caf::reacts_to<unwatch_atom, local_atom, caf::actor, std::vector<std::string>>,
  // From another member's hub: a change made there, for this node's clients.
  caf::reacts_to<event_atom, order_update>,
  // From the gateway: the supervisor, through which the hub finds the cluster actor and so
  // the other members. A hub never told (or on a single node) relays nothing.
  caf::reacts_to<caf::update_atom, supervisor_actor>,
  // Internal timer: subscribe to members that joined since.
  caf::reacts_to<tick_atom>>;

} // namespace topup

// node_handles never leaves the process: it is exchanged between local actors only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(topup::node_handles)
// peer_gateway never leaves the process: the cluster actor hands it to local actors only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<topup::peer_gateway>)
// Nor does an admission snapshot: a router hands it to the intake of its own node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(topup::admission_snapshot)
