#include "actors/recharge.hpp"

#include "messages/errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace topup {
namespace {

using self_pointer = recharge_actor::stateful_pointer<recharge_state>;
using pending_change = recharge_state::pending_change;
using change_purpose = recharge_state::change_purpose;
using awaited_call_ticket = call_watch<awaited_call>::ticket;

void pump(self_pointer self);
void arm_timer(self_pointer self);
void send_paced(self_pointer self, outgoing_call outgoing);
void answer_drain_waiters(self_pointer self);
void follow_stored_state(self_pointer self, order o);
void after_written(self_pointer self, pending_change pending);
void after_refused(self_pointer self, pending_change pending);
void after_not_written(self_pointer self, pending_change pending);

/// How long the oldest store write not answered yet has waited, in ms: 0 when every write
/// was answered.
double store_lag_ms(self_pointer self) {
  const auto& unanswered = self->state.unanswered_writes;
  if (unanswered.empty())
    return 0;
  return std::chrono::duration<double, std::milli>(self->state.time->now()
                                                   - unanswered.begin()->second)
    .count();
}

int64_t wall_now(self_pointer self) {
  return self->state.time->wall_ms();
}

mono_time mono_now(self_pointer self) {
  return self->state.time->now();
}

/// A warning of a kind that repeats once per order while the store fails or refuses: the
/// first is written, then one line per interval with the count (domain/log_repeats).
template <class... Args>
void warn_repeated(self_pointer self, const char* kind, fmt::format_string<Args...> format,
                   Args&&... args) {
  auto verdict = self->state.repeats.occurred(kind, mono_now(self));
  if (verdict.write)
    spdlog::warn("{}{}", fmt::format(format, std::forward<Args>(args)...), verdict.suffix());
}

/// How long a retry after a failed or refused store write waits at least: what is left of
/// the store backoff.
milliseconds store_wait(self_pointer self) {
  const auto& backoff = self->state.store_backoff;
  auto now = mono_now(self);
  if (backoff.may_try(now))
    return milliseconds{0};
  return std::chrono::ceil<milliseconds>(backoff.next_try() - now);
}

/// The order as watching clients see it once `change` is applied.
order_update update_of(const order& before, const transition& change) {
  order after = before;
  if (auto status = next_status(change.from, change.event))
    after.status = *status;
  after.provider = change.provider;
  after.attempts = std::max(after.attempts, change.attempt_no);
  after.updated_at_ms = change.at_ms;
  if (!change.detail.empty())
    after.last_error = change.detail;
  if (change.event == order_event::wrong_carrier)
    after.wrong_carrier_at.push_back(change.provider);
  return {std::move(after), std::string{to_string(change.event)}};
}

/// Writes the gathered changes in one request and reports finished orders to the router.
void flush(self_pointer self) {
  auto& st = self->state;
  if (!st.finished.empty()) {
    self->send(st.router, done_atom::value, std::move(st.finished));
    st.finished.clear();
  }
  if (st.outbox.empty())
    return;
  auto batch = std::make_shared<std::vector<pending_change>>(std::move(st.outbox));
  st.outbox.clear();
  std::vector<transition> changes;
  changes.reserve(batch->size());
  for (const auto& pending : *batch)
    changes.push_back(pending.change);
  auto flush_no = st.flushes++;
  st.unanswered_writes.emplace(flush_no, mono_now(self));
  self->request(st.store, st.options.store_timeout, transition_atom::value, std::move(changes))
    .then(
      [=](std::vector<bool>& applied) {
        self->state.unanswered_writes.erase(flush_no);
        const auto& events = self->state.options.events;
        if (events && events->wanted()) {
          std::vector<order_update> updates;
          for (size_t i = 0; i < batch->size() && i < applied.size(); ++i)
            if (applied[i])
              updates.push_back(update_of((*batch)[i].before, (*batch)[i].change));
          events->publish(std::move(updates));
        }
        auto written = static_cast<size_t>(std::count(applied.begin(), applied.end(), true));
        // Refused and nothing written (a lease the store no longer honours): what follows
        // from the refusals waits longer each time. Written without refusal: back to normal.
        auto& backoff = self->state.store_backoff;
        if (written == 0)
          backoff.failed(mono_now(self));
        else if (written == batch->size())
          backoff.succeeded();
        for (size_t i = 0; i < batch->size(); ++i) {
          auto& pending = (*batch)[i];
          if (i < applied.size() && applied[i]) {
            after_written(self, std::move(pending));
          } else {
            warn_repeated(self, "refused", "recharge {} refused {} of order={}: its stored state "
                          "moved on", self->state.options.provider,
                          to_string(pending.change.event), pending.change.order_id);
            after_refused(self, std::move(pending));
          }
        }
        answer_drain_waiters(self);
      },
      [=](caf::error& error) {
        self->state.unanswered_writes.erase(flush_no);
        auto wait = self->state.store_backoff.failed(mono_now(self));
        warn_repeated(self, "unavailable", "recharge {} cannot write {} state changes yet, "
                      "trying again in {} ms: {}", self->state.options.provider, batch->size(),
                      wait.count(), describe(error));
        for (auto& pending : *batch)
          after_not_written(self, std::move(pending));
      });
}

/// Queues one state change for the next flush.
void submit_change(self_pointer self, pending_change pending) {
  auto& st = self->state;
  st.outbox.push_back(std::move(pending));
  if (st.outbox.size() >= st.options.max_write_batch)
    flush(self);
  else
    st.flush_pass.request(self);  // the changes of this mailbox pass ride one store request
}

/// Writes one state change of `before`; what `purpose` says follows once it is durable.
/// While the store is unavailable the change waits in `unwritten` and is tried again on the
/// next pump, so an outcome the provider reported is never lost. A refused change (the
/// stored order moved on, e.g. by an actor of the engine before a restart) continues from
/// the stored state.
void write(self_pointer self, order before, transition change, change_purpose purpose) {
  submit_change(self, {std::move(before), std::move(change), purpose});
}

call_result result_of(recharge_outcome outcome) {
  switch (outcome) {
    case recharge_outcome::success: return call_result::succeeded;
    case recharge_outcome::permanent_failure: return call_result::failed_final;
    case recharge_outcome::wrong_carrier: return call_result::wrong_carrier;
    case recharge_outcome::transient_failure: break;
  }
  return call_result::failed_retryable;
}

call_result result_of(query_outcome outcome) {
  switch (outcome) {
    case query_outcome::recharged: return call_result::succeeded;
    case query_outcome::not_recharged: return call_result::failed_retryable;
    case query_outcome::query_failed: break;
  }
  return call_result::query_failed;
}

call_answer answer_of(recharge_outcome outcome) {
  switch (outcome) {
    case recharge_outcome::success: return call_answer::recharged;
    case recharge_outcome::permanent_failure: return call_answer::refused;
    case recharge_outcome::wrong_carrier: return call_answer::wrong_carrier;
    case recharge_outcome::transient_failure: break;
  }
  return call_answer::not_recharged;
}

call_answer answer_of(query_outcome outcome) {
  switch (outcome) {
    case query_outcome::recharged: return call_answer::recharged;
    case query_outcome::not_recharged: return call_answer::not_recharged;
    case query_outcome::query_failed: break;
  }
  return call_answer::unknown;
}

/// What a status query's reply says, for the history.
std::string detail_of(const query_reply& reply) {
  switch (reply.outcome) {
    case query_outcome::recharged: return "";
    case query_outcome::not_recharged: return "provider did not recharge: " + reply.detail;
    case query_outcome::query_failed: break;
  }
  return "status query failed: " + reply.detail;
}

/// What answered an outcome, for the history: a call or a status query, and how long it took.
struct answer {
  answered_by via = answered_by::none;
  int64_t latency_us = -1;
};

answer answered(self_pointer self, answered_by via, mono_time started) {
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(mono_now(self) - started);
  return {via, took.count()};
}

transition change_of(self_pointer self, const order& o, order_event event) {
  transition t;
  t.order_id = o.id;
  t.from = o.status;
  t.event = event;
  t.at_ms = wall_now(self);
  t.provider = self->state.options.provider;
  t.attempt_no = o.attempts;
  return t;
}

void report_done(self_pointer self, const std::string& id) {
  self->state.finished.push_back(id);
  self->state.flush_pass.request(self);
}

/// Counts a call's or status query's result in the metrics, if measured.
void count_answer(self_pointer self, bool is_query, call_result result, const answer& by) {
  if (const auto& instruments = self->state.instruments)
    instruments->call_answered(is_query, result, static_cast<double>(by.latency_us) / 1e6);
}

/// Counts an answer that came after its call or query was given up, if measured.
void count_late_answer(self_pointer self, bool is_query) {
  if (const auto& instruments = self->state.instruments)
    instruments->late_answers[is_query]->Increment();
}

/// Ends an order: succeeded, or failed and refunded.
void finish(self_pointer self, order o, order_event event, std::string txn, std::string detail,
            answer by = {}) {
  auto change = change_of(self, o, event);
  change.provider_txn = std::move(txn);
  change.detail = std::move(detail);
  change.via = by.via;
  change.latency_us = by.latency_us;
  self->state.unanswered_queries.erase(o.id);
  auto& stats = self->state.stats;
  auto outcome = final_outcome::failed;
  if (event == order_event::succeed) {
    stats.succeeded++;
    outcome = final_outcome::succeeded;
  } else if (event == order_event::expire) {
    stats.expired++;
    outcome = final_outcome::expired;
  } else {
    stats.failed++;
  }
  if (const auto& instruments = self->state.instruments)
    instruments->finished(outcome,
                          static_cast<double>(wall_now(self) - o.accepted_at_ms) / 1000.0,
                          seconds_of(steady_deadline_of(o) - mono_now(self)));
  if (o.attempts > 0 && o.provider == self->state.options.provider)
    self->state.cost.order_finished(mono_now(self));  // it cost calls here
  write(self, std::move(o), std::move(change), change_purpose::finish);
}

/// Orders entering the lane from the router or the store carry their steady deadline;
/// anchoring again is a no-op for those and maps any other once.
void anchor(self_pointer self, std::vector<order>& orders) {
  for (auto& o : orders)
    anchor_deadline(o, *self->state.time);
}

void hand_over(self_pointer self, std::vector<order> orders) {
  if (orders.empty())
    return;
  self->state.stats.failed_over += orders.size();
  self->send(self->state.router, reroute_atom::value, std::move(orders),
             self->state.options.provider);
}

/// Whether the provider answered "wrong carrier" for this order already: it never gets it
/// again (an order that reaches it anyway, e.g. from the store, goes back to the router).
bool answered_wrong_carrier(self_pointer self, const order& o) {
  const auto& excluded = o.wrong_carrier_at;
  return std::find(excluded.begin(), excluded.end(), self->state.options.provider)
         != excluded.end();
}

void schedule_query(self_pointer self, order o) {
  auto at = mono_now(self) + self->state.options.lane.query_interval;
  self->state.lane->query_later(std::move(o), at);
  pump(self);
}

/// A status query of an order whose outcome is unknown got no answer either: the history
/// notes the 1st, 2nd, 4th, 8th... in a row (record_unanswered_query). Nothing waits for
/// the write: the order is queried again at once, and a note the store refuses or cannot
/// take is only a line less of history.
void note_unanswered_query(self_pointer self, const order& o, std::string detail, answer by) {
  auto nth = ++self->state.unanswered_queries[o.id];
  if (!record_unanswered_query(nth))
    return;
  auto change = change_of(self, o, order_event::query_unanswered);
  change.detail = std::move(detail) + " (query " + std::to_string(nth) + " in a row)";
  change.via = by.via;
  change.latency_us = by.latency_us;
  submit_change(self, {o, std::move(change), change_purpose::note});
}

/// Carries out what the lane decided after a call or status query of `o` came back
/// (provider_lane::after_call); `txn` is the provider's transaction of a recharge.
void carry_out(self_pointer self, order o, after_call_action action, std::string txn,
               answer by) {
  using step = after_call_action::step;
  auto& st = self->state;
  if (action.next == step::finish) {
    finish(self, std::move(o), action.event, std::move(txn), std::move(action.detail), by);
    return;
  }
  if (action.next == step::query_again) {
    st.stats.unknown++;
    note_unanswered_query(self, o, std::move(action.detail), by);
    schedule_query(self, std::move(o));
    return;
  }
  auto change = change_of(self, o, action.event);
  change.detail = std::move(action.detail);
  change.via = by.via;
  change.latency_us = by.latency_us;
  auto purpose = change_purpose::query;
  if (action.next == step::query) {
    st.stats.unknown++;
  } else {
    st.unanswered_queries.erase(o.id);
    if (action.next == step::retry) {
      st.stats.retries++;
      purpose = change_purpose::retry;
    } else {
      purpose = change_purpose::move_on;
    }
  }
  write(self, std::move(o), std::move(change), purpose);
}

/// What follows the provider's answer about `o` (or its silence, `answer::unknown`):
/// decided by the lane, carried out here.
///
/// "Wrong carrier" (a number ported away, 携号转网) is a definite "not recharged", as sure as
/// a permanent failure: the provider looked at the number and refused it, so another
/// provider may recharge it without risk of a second real recharge (guarantee 3 of
/// README.md, "What it promises", holds: only an unknown outcome forbids another attempt).
/// The order leaves this provider for good: the wrong_carrier change, durable before the
/// order goes anywhere, adds the provider to the stored wrong_carrier_at (a restart routes
/// by it too), and the router picks among the providers that may still serve the number.
/// With none left, the order fails with errc::wrong_carrier.
void after_answer(self_pointer self, order o, call_answer said, std::string detail,
                  std::string txn, answer by) {
  const auto& st = self->state;
  bool another_provider_left = true;
  if (said == call_answer::wrong_carrier) {
    const auto& provider = st.options.provider;
    auto excluded = o.wrong_carrier_at;
    excluded.push_back(provider);
    another_provider_left = !wrong_carrier_candidates(st.options.providers, excluded).empty();
    detail = provider + " answered wrong carrier" + (detail.empty() ? "" : " (" + detail + ")");
  }
  auto action = st.lane->after_call(o, said, std::move(detail), mono_now(self),
                                    another_provider_left);
  carry_out(self, std::move(o), std::move(action), std::move(txn), by);
}

void observe_latency(self_pointer self, mono_time started) {
  auto elapsed = std::chrono::duration<double, std::milli>(mono_now(self) - started).count();
  auto& average = self->state.latency_ms;
  average = 0.9 * average + 0.1 * elapsed;
}

/// Who calls: this node under its lease, and the moment the call may leave by at the latest.
call_origin origin_of(self_pointer self) {
  const auto& st = self->state;
  return {st.options.lease_owner, st.options.lease_epoch,
          st.fence.valid_until().value_or(mono_time{})};
}

/// A call or status query that did not leave: the lease it was to be made under has lapsed.
/// Its slot goes back without counting against the provider. The order stays as stored (a
/// call's attempt is written ahead: dispatched) and waits for a status query, made once the
/// lease is renewed, or by the next owner, which reads it from the store as in flight.
void not_sent(self_pointer self, order o) {
  auto& lane = *self->state.lane;
  lane.slot_unused();
  lane.query_later(std::move(o), mono_now(self));
}

/// Whether an error from the adapter says the call (or query) was not sent at all because
/// its lease lapsed on the way out.
bool lapsed_on_the_way(const caf::error& error) {
  auto failure = as_failure(error);
  return failure && failure->code == errc::stale_owner;
}

/// Starts watching a call or query about to be sent: it is given up at the call timeout.
awaited_call_ticket await_answer(self_pointer self, order o, bool is_query) {
  auto& st = self->state;
  auto now = mono_now(self);
  st.cost.call_started(now);
  auto ticket =
    st.awaiting.watch({std::move(o), is_query, now}, now + st.options.lane.call_timeout);
  arm_timer(self);
  return ticket;
}

/// The provider did not answer in time, or its adapter failed: the request may have reached
/// the provider, so the outcome is unknown.
void unanswered(self_pointer self, awaited_call awaited, std::string detail) {
  auto by = answered(self, awaited.is_query ? answered_by::query : answered_by::call,
                     awaited.sent_at);
  count_answer(self, awaited.is_query, call_result::no_answer, by);
  self->state.lane->call_finished(mono_now(self), false);
  after_answer(self, std::move(awaited.o), call_answer::unknown, std::move(detail), "", by);
}

/// What a failed call or query says in the order's history.
std::string unanswered_detail(bool is_query, const std::string& reason) {
  return (is_query ? "status query unanswered: " : "no answer: ") + reason;
}

/// Calls and queries past the call timeout are given up (their answers, should they come,
/// are ignored).
void give_up_overdue(self_pointer self) {
  auto& st = self->state;
  auto reason = "none within " + std::to_string(st.options.lane.call_timeout.count()) + " ms";
  for (auto& awaited : st.awaiting.take_overdue(mono_now(self))) {
    auto detail = unanswered_detail(awaited.is_query, reason);
    unanswered(self, std::move(awaited), std::move(detail));
  }
}

/// The adapter failed the call or query `ticket`: not sent (its lease lapsed on the way),
/// or unknown. Nothing when it was given up already.
void failed_to_answer(self_pointer self, awaited_call_ticket ticket, const caf::error& error) {
  auto awaited = self->state.awaiting.answered(ticket);
  if (!awaited)
    return;
  if (lapsed_on_the_way(error)) {
    not_sent(self, std::move(awaited->o));
  } else {
    auto detail = unanswered_detail(awaited->is_query, describe(error));
    unanswered(self, std::move(*awaited), std::move(detail));
  }
  pump(self);
}

// The requests carry no CAF timeout (that costs two events on the system's clock thread per
// call): the lane gives them up itself (give_up_overdue). Every adapter is in this process
// and linked to this actor, and answers each request or dies with it, so no response
// handler outlives its request for long.
void call(self_pointer self, order o) {
  auto& st = self->state;
  st.stats.calls++;
  recharge_call request{provider_request_id(o.id, st.options.provider), o.id, o.phone,
                        o.amount_fen, origin_of(self)};
  auto ticket = await_answer(self, std::move(o), false);
  self->request(st.provider, caf::infinite, recharge_atom::value, std::move(request))
    .then(
      [=](recharge_reply& reply) {
        auto awaited = self->state.awaiting.answered(ticket);
        if (!awaited) {
          count_late_answer(self, false);  // given up at the timeout: its order is queried
          return;
        }
        observe_latency(self, awaited->sent_at);
        auto by = answered(self, answered_by::call, awaited->sent_at);
        bool healthy = reply.outcome != recharge_outcome::transient_failure;
        self->state.lane->call_finished(mono_now(self), healthy);
        count_answer(self, false, result_of(reply.outcome), by);
        after_answer(self, std::move(awaited->o), answer_of(reply.outcome),
                     std::move(reply.detail), std::move(reply.provider_txn), by);
        pump(self);
      },
      [=](caf::error& error) { failed_to_answer(self, ticket, error); });
}

/// Re-reads an order whose change was refused and continues from what the store holds:
/// an attempt in flight is queried by its provider's lane, a waiting order is served again,
/// a final one is done.
void follow_stored_state(self_pointer self, order o) {
  auto id = o.id;
  self->request(self->state.store, self->state.options.store_timeout, caf::get_atom::value, id)
    .then(
      [=](order& stored) {
        // The same order: its deadline keeps the steady time it was given on entry.
        stored.steady_deadline = o.steady_deadline;
        switch (stored.status) {
          case order_status::dispatched:
          case order_status::unknown:
            warn_repeated(self, "in flight", "recharge {} found order={} in flight at {} from "
                          "before a restart: querying it",
                          self->state.options.provider, id, stored.provider);
            self->send(self->state.router, recover_atom::value, std::vector<order>{stored});
            break;
          case order_status::accepted:
            if (answered_wrong_carrier(self, stored)) {
              hand_over(self, {std::move(stored)});
              break;
            }
            self->state.lane->retry_later(std::move(stored), mono_now(self), store_wait(self));
            pump(self);
            break;
          case order_status::succeeded:
          case order_status::failed:
            report_done(self, id);
            break;
        }
      },
      [=](caf::error& error) mutable {
        warn_repeated(self, "read", "recharge {} cannot read order={} yet: {}",
                      self->state.options.provider, id, describe(error));
        self->state.lane->retry_later(std::move(o), mono_now(self), store_wait(self));
        pump(self);
      });
}

void start_attempt(self_pointer self, order o) {
  auto change = change_of(self, o, order_event::dispatch);
  change.attempt_no = o.attempts + 1;
  change.request_id = provider_request_id(o.id, self->state.options.provider);
  change.lease_owner = self->state.options.lease_owner;
  change.lease_epoch = self->state.options.lease_epoch;
  write(self, std::move(o), std::move(change), change_purpose::attempt);
}

/// The store wrote `pending`: what it was for follows.
void after_written(self_pointer self, pending_change pending) {
  auto& st = self->state;
  auto o = std::move(pending.before);
  switch (pending.purpose) {
    case change_purpose::attempt:
      o.status = order_status::dispatched;
      o.attempts = pending.change.attempt_no;
      o.provider = st.options.provider;
      send_paced(self, {std::move(o), false});
      break;
    case change_purpose::finish:
      report_done(self, o.id);
      break;
    case change_purpose::retry:
      o.status = order_status::accepted;
      o.last_error = std::move(pending.change.detail);
      if (auto elsewhere = st.lane->requeue(std::move(o), mono_now(self)))
        hand_over(self, {std::move(*elsewhere)});
      pump(self);
      break;
    case change_purpose::move_on:
      o.status = order_status::accepted;
      o.last_error = std::move(pending.change.detail);
      o.wrong_carrier_at.push_back(st.options.provider);
      hand_over(self, {std::move(o)});
      pump(self);
      break;
    case change_purpose::query:
      o.status = order_status::unknown;
      schedule_query(self, std::move(o));
      break;
    case change_purpose::note:
      break;
  }
}

/// The store refused `pending`: the stored order was not in the state the change left from.
/// What the store holds says how to go on.
void after_refused(self_pointer self, pending_change pending) {
  if (pending.purpose == change_purpose::note)
    return;  // a line less of history
  // A refused write-ahead: not ours to call (e.g. an actor of the engine before a restart
  // dispatched it), and its slot goes back.
  bool attempt = pending.purpose == change_purpose::attempt;
  if (attempt)
    self->state.lane->slot_unused();
  follow_stored_state(self, std::move(pending.before));
  if (attempt)
    pump(self);
}

/// The store did not answer for `pending`: nothing of it was written.
void after_not_written(self_pointer self, pending_change pending) {
  auto& st = self->state;
  if (pending.purpose == change_purpose::note)
    return;  // a line less of history
  if (pending.purpose == change_purpose::attempt) {
    // Not written ahead, so not called: safe to try again later.
    st.lane->slot_unused();
    st.lane->retry_later(std::move(pending.before), mono_now(self), store_wait(self));
  } else {
    st.unwritten.push_back(std::move(pending));
  }
  pump(self);
}

void query(self_pointer self, order o) {
  auto& st = self->state;
  st.stats.queries++;
  status_query request{provider_request_id(o.id, st.options.provider), origin_of(self)};
  auto ticket = await_answer(self, std::move(o), true);
  self->request(st.provider, caf::infinite, query_atom::value, std::move(request))
    .then(
      [=](query_reply& reply) {
        auto awaited = self->state.awaiting.answered(ticket);
        if (!awaited) {
          count_late_answer(self, true);  // given up at the timeout: queried again later
          return;
        }
        auto by = answered(self, answered_by::query, awaited->sent_at);
        // Only a recharge the provider performed speaks for its health: "not recharged"
        // after a lost call means it dropped the recharge, and a provider that drops every
        // one must open the breaker (its orders then fail over) although it answers queries.
        bool healthy = reply.outcome == query_outcome::recharged;
        self->state.lane->call_finished(mono_now(self), healthy);
        count_answer(self, true, result_of(reply.outcome), by);
        after_answer(self, std::move(awaited->o), answer_of(reply.outcome), detail_of(reply),
                     std::move(reply.provider_txn), by);
        pump(self);
      },
      [=](caf::error& error) { failed_to_answer(self, ticket, error); });
}

void arm_timer(self_pointer self) {
  auto& st = self->state;
  auto now = mono_now(self);
  auto wakeup = st.lane->next_wakeup(now);
  if (auto paced = st.pacer->next_due(now); paced && (!wakeup || *paced < *wakeup))
    wakeup = paced;
  if (auto overdue = st.awaiting.next_due(); overdue && (!wakeup || *overdue < *wakeup))
    wakeup = overdue;
  if (!st.unwritten.empty()) {
    auto retry = std::max(st.store_backoff.next_try(), now);
    if (!wakeup || retry < *wakeup)
      wakeup = retry;
  }
  if (!wakeup || (st.timer_due && *st.timer_due <= *wakeup && *st.timer_due > now))
    return;
  st.timer_due = *wakeup;
  auto delay = std::chrono::duration_cast<std::chrono::microseconds>(*wakeup - now);
  if (delay < std::chrono::microseconds{100})
    delay = std::chrono::microseconds{100};
  self->delayed_send(self, delay, pump_atom::value, ++st.timer_generation);
}

/// Whether calls may leave now under the lane's lease; says so in the log when that changes.
bool fence_open(self_pointer self, mono_time now) {
  auto& st = self->state;
  bool open = st.fence.allows(now);
  if (open == st.fence_closed) {
    st.fence_closed = !open;
    if (open)
      spdlog::info("recharge {} lease (epoch {}) renewed: calls leave again",
                   st.options.provider, st.options.lease_epoch);
    else
      spdlog::warn("recharge {} lease (epoch {}) not confirmed in time: no call or status "
                   "query leaves until it is renewed",
                   st.options.provider, st.options.lease_epoch);
  }
  return open;
}

/// Sends the calls and queries whose turn has come, if the lease still lets them leave.
void send_due(self_pointer self) {
  auto now = mono_now(self);
  for (auto& outgoing : self->state.pacer->take_due(now)) {
    if (!fence_open(self, now))
      not_sent(self, std::move(outgoing.o));
    else if (outgoing.is_query)
      query(self, std::move(outgoing.o));
    else
      call(self, std::move(outgoing.o));
  }
}

/// A call or query leaves now if the pacer allows, else at its turn (the timer).
void send_paced(self_pointer self, outgoing_call outgoing) {
  self->state.pacer->push(std::move(outgoing), mono_now(self));
  send_due(self);
  if (self->state.pacer->waiting() > 0) {
    // The pacer is first in, first out: the one just pushed is among those waiting.
    if (const auto& instruments = self->state.instruments)
      instruments->rate_limited_waits->Increment();
    arm_timer(self);
  }
}

void pump(self_pointer self) {
  auto& st = self->state;
  auto now = mono_now(self);
  give_up_overdue(self);
  send_due(self);
  if (!st.unwritten.empty() && st.store_backoff.may_try(now)) {
    auto retry = std::move(st.unwritten);
    st.unwritten.clear();
    for (auto& pending : retry)
      submit_change(self, std::move(pending));
  }
  bool open = st.lane->breaker_open(now);
  if (open && !st.breaker_was_open) {
    spdlog::warn("recharge {} breaker opened: failing its queue over", st.options.provider);
    hand_over(self, st.lane->release_all());
  } else if (!open && st.breaker_was_open) {
    spdlog::info("recharge {} breaker no longer open", st.options.provider);
  }
  st.breaker_was_open = open;
  // Past the lease's validity nothing is written ahead or sent (expiries go on).
  st.lane->hold_sends(!fence_open(self, now));
  auto work = st.lane->take_work(now);
  for (auto& o : work.expired)
    finish(self, std::move(o), o.status == order_status::accepted ? order_event::expire
                                                                  : order_event::fail_final,
           "", std::string{deadline_reached} + " before an attempt could finish");
  for (auto& o : work.queries)
    send_paced(self, {std::move(o), true});
  for (auto& o : work.calls)
    start_attempt(self, std::move(o));
  answer_drain_waiters(self);
  arm_timer(self);
}

/// Cluster: the orders waiting here go back to the router, which holds no lane of this
/// provider any more and forwards them to its next holder. That owner reads from the store
/// only the orders it would pick this provider for itself (or whose attempt was here): one
/// failed over to it from another provider would otherwise wait for its deadline.
void hand_back_waiting(self_pointer self) {
  auto& st = self->state;
  if (auto waiting = st.lane->release_all(); !waiting.empty())
    self->send(st.router, forward_atom::value, std::move(waiting), st.options.provider);
}

/// Cluster: once no call is in flight and every state change is written, the provider's
/// next owner reads this lane's outcomes from the store: the node may release the lease.
/// Retries that came due while draining go back first.
void answer_drain_waiters(self_pointer self) {
  auto& st = self->state;
  if (st.drain_waiters.empty() || st.lane->load(mono_now(self)).in_flight != 0
      || !st.outbox.empty() || !st.unwritten.empty() || !st.unanswered_writes.empty())
    return;
  hand_back_waiting(self);
  for (auto& waiter : st.drain_waiters)
    waiter.deliver(ack_atom::value);
  st.drain_waiters.clear();
}

} // namespace

std::string provider_request_id(const std::string& order_id, const std::string& provider) {
  return order_id + "@" + provider;
}

recharge_options make_recharge_options(const provider_config& provider,
                                       const deadline_config& deadline) {
  recharge_options options;
  options.provider = provider.name;
  options.lane.rate = provider.rate;
  options.lane.burst = provider.burst;
  options.lane.concurrency = provider.concurrency;
  options.lane.call_timeout = milliseconds{provider.timeout_ms};
  options.lane.query_interval = milliseconds{deadline.query_interval_ms};
  // The provider's previous lane (another node's before ownership moved, or this node's
  // before a restart) may have spent its burst within the last second: the limit holds in
  // every 1-second window only if this one starts with none.
  options.lane.tokens_at_start = token_bucket::start::empty;
  return options;
}

recharge_actor::behavior_type recharge(self_pointer self, recharge_options options,
                                       std::shared_ptr<const clock> time, store_actor store,
                                       router_actor router, provider_factory make_provider) {
  auto& st = self->state;
  st.lane = std::make_unique<provider_lane>(options.lane, time->now(),
                                            std::hash<std::string>{}(options.provider));
  st.pacer = std::make_unique<call_pacer<outgoing_call>>(
    options.lane.rate, options.lane.burst, time->now(), options.lane.tokens_at_start,
    options.send_hold);
  if (!options.lease_owner.empty())
    st.fence = send_fence{options.lease_valid_until.value_or(mono_time::min())};
  st.stats.provider = options.provider;
  if (options.metrics)
    st.instruments = options.metrics->provider(options.provider);
  st.store_backoff = retry_backoff{{options.store_retry, options.store_retry_cap}};
  st.options = std::move(options);
  st.time = std::move(time);
  st.store = std::move(store);
  st.router = std::move(router);
  st.provider = make_provider(self->system());
  self->link_to(st.provider);
  self->send(self, report_atom::value);
  return {
    [=](dispatch_atom, std::vector<order>& orders, bool urgent) {
      self->state.received += orders.size();
      anchor(self, orders);
      std::vector<order> not_here;
      for (auto& o : orders) {
        if (answered_wrong_carrier(self, o))
          not_here.push_back(std::move(o));
        else
          self->state.lane->enqueue(std::move(o), urgent);
      }
      hand_over(self, std::move(not_here));
      pump(self);
    },
    [=](recover_atom, std::vector<order>& in_flight) {
      // Their calls may have reached the provider: ask before anything else.
      anchor(self, in_flight);
      for (auto& o : in_flight)
        self->state.lane->query_later(std::move(o), mono_now(self));
      pump(self);
    },
    [=](query_atom, const std::vector<std::string>& ids) {
      auto moved = self->state.lane->query_now(ids, mono_now(self));
      spdlog::info("recharge {} queries {} of {} unknown outcomes now for reconciliation",
                   self->state.options.provider, moved, ids.size());
      pump(self);
    },
    [=](release_atom, const std::string& id) {
      std::vector<order> released;
      if (auto o = self->state.lane->release(id))
        released.push_back(std::move(*o));
      return released;
    },
    [=](expire_atom, const std::vector<std::string>& ids) {
      for (const auto& id : ids) {
        if (auto o = self->state.lane->release(id)) {
          finish(self, std::move(*o), order_event::expire, "",
                 std::string{deadline_reached} + " while waiting for the provider");
        } else if (self->state.lane->holds(id)) {
          // Still held but not releasable: its outcome is unknown. It stays `unknown` and is
          // queried on; money moves only once the provider answers.
          self->state.stats.unknown_at_deadline++;
          spdlog::warn("recharge {}: order={} reached its deadline with an unknown outcome; "
                       "it needs reconciliation and is queried until {} answers",
                       self->state.options.provider, id, self->state.options.provider);
        }
      }
    },
    [=](stats_atom) {
      auto& state = self->state;
      auto load = state.lane->load(mono_now(self));
      state.stats.queued = load.queued;
      state.stats.in_flight = load.in_flight;
      state.stats.breaker = std::string{to_string(load.breaker)};
      state.stats.tokens = load.tokens;
      state.stats.store_lag_ms = store_lag_ms(self);
      return state.stats;
    },
    [=](own_atom, const provider_lease& renewed) {
      if (renewed.epoch != self->state.options.lease_epoch)
        return;
      self->state.fence.extend(renewed.valid_until);
      pump(self);
    },
    [=](caf::close_atom) {
      self->state.lane->stop_calls();
      spdlog::info("recharge {} starts no new calls", self->state.options.provider);
    },
    [=](pump_atom, uint64_t generation) {
      if (generation != self->state.timer_generation)
        return;
      self->state.timer_due.reset();
      pump(self);
    },
    [=](caf::flush_atom) {
      self->state.flush_pass.arrived();
      flush(self);
    },
    [=](released_atom) -> caf::result<ack_atom> {
      auto& state = self->state;
      state.lane->stop_calls();
      hand_back_waiting(self);
      auto answer = self->make_response_promise<ack_atom>();
      state.drain_waiters.push_back(answer);
      answer_drain_waiters(self);
      return answer;
    },
    [=](report_atom) {
      auto& state = self->state;
      auto now = mono_now(self);
      auto load = state.lane->load(now);
      provider_report report{state.options.provider, load.queued, load.in_flight, load.waiting,
                             load.breaker != circuit_breaker::state::open, state.latency_ms,
                             state.cost.calls_per_order(now), state.received,
                             store_lag_ms(self)};
      self->send(state.router, report_atom::value, std::move(report));
      self->delayed_send(self, state.options.report_interval, report_atom::value);
    },
  };
}

} // namespace topup
