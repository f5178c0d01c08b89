#include "providers/simulated_provider.hpp"

#include "messages/errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace topup {
namespace {

using self_pointer = provider_actor::stateful_pointer<simulated_provider_state>;
using time_point = simulated_provider_state::time_point;

const char* const outage_detail = "connection refused (outage)";

recharge_reply failure_reply(recharge_outcome outcome, std::string detail) {
  return {outcome, std::string{}, std::move(detail)};
}

/// Opens the ledger if it is closed. Returns false while it cannot be opened; a broken disk
/// is tried again at most every provider_ledger_reopen_interval.
bool ensure_ledger(self_pointer self) {
  auto& st = self->state;
  if (st.book)
    return true;
  if (st.open_failed_once && st.time->now() - st.last_open_failure < provider_ledger_reopen_interval)
    return false;
  try {
    st.book = std::make_unique<ledger>(st.ledger_path);
    // Transaction ids stay unique in the file across restarts of the provider.
    st.last_txn = std::max(st.last_txn, st.book->count());
    spdlog::debug("provider {} opened ledger {} ({} recharges)", st.provider, st.book->target(),
                 st.last_txn);
    st.open_failed_once = false;
    return true;
  } catch (const std::exception& error) {
    st.last_failure = error.what();
    st.last_open_failure = st.time->now();
    st.open_failed_once = true;
    spdlog::error("provider {} cannot open its ledger: {}", st.provider, st.last_failure);
    return false;
  }
}

/// Writes the gathered recharges in one transaction. On failure nothing was recharged, so the
/// success answers waiting on the batch turn into transient failures.
void commit(self_pointer self) {
  auto& st = self->state;
  if (st.batch.empty())
    return;
  auto rows = std::move(st.batch);
  auto replies = std::move(st.batch_replies);
  st.batch.clear();
  st.batch_replies.clear();
  try {
    if (!ensure_ledger(self))
      throw ledger_error(st.last_failure);
    st.book->record(rows);
    st.counters.ledger_commits++;
    st.counters.ledger_rows += rows.size();
  } catch (const std::exception& error) {
    // The session is dropped so the next write starts from a fresh connection.
    st.last_failure = error.what();
    st.book.reset();
    st.counters.ledger_failures++;
    spdlog::error("provider {} lost a ledger commit of {} recharges: {}", st.provider,
                  rows.size(), st.last_failure);
    for (auto reply : replies)
      reply->second.reply =
        failure_reply(recharge_outcome::transient_failure, "provider ledger write failed");
  }
}

/// Takes a performed recharge into the next commit; `reply` is the answer that must wait for
/// it (none for an unknown outcome).
void gather(self_pointer self, const recharge_call& call, std::string txn,
            std::optional<simulated_provider_state::recharge_queue::iterator> reply) {
  auto& st = self->state;
  st.batch.push_back({call.request_id, call.order_id, st.provider, std::move(txn),
                      st.time->wall_ms(), call.amount_fen, mask_phone(call.phone),
                      call.origin.node, call.origin.epoch});
  if (reply)
    st.batch_replies.push_back(*reply);
  if (st.batch.size() >= provider_ledger_max_batch)
    commit(self);
  else
    st.commit_pass.request(self);  // the recharges of this mailbox pass join this commit
}

/// A reminder to look at the pending answers when `latency` has passed. commit_atom is the
/// only message the interface lets the provider send itself; its handler commits first and
/// then answers whatever is due, which is what keeps every answer behind its ledger row.
/// Answers go out on whole-millisecond ticks with one reminder per tick, so that thousands
/// of calls per second cost at most a thousand timers per second, not one each.
time_point wake_after(self_pointer self, nanoseconds latency) {
  auto due = self->clock().now() + latency;
  auto tick = time_point{std::chrono::ceil<std::chrono::milliseconds>(due.time_since_epoch())};
  if (self->state.wakeups.insert(tick).second)
    self->scheduled_send(self, tick, commit_atom::value);
  return tick;
}

/// Whether a call made under `origin` can no longer leave: the lease it was made under has
/// lapsed (as its node knows it). An in-process provider plays the adapter's part here too:
/// a message that waited in its mailbox while the node was paused is not "sent" after all.
bool lease_lapsed(self_pointer self, const call_origin& origin) {
  return origin.send_by != mono_time{} && self->state.time->now() >= origin.send_by;
}

caf::error not_sent_lapsed(self_pointer self) {
  self->state.counters.not_sent_lapsed++;
  return make_error(errc::stale_owner,
                    "the lease it was made under lapsed before it could leave: not sent");
}

std::string next_txn(simulated_provider_state& st) {
  return st.provider + "-" + std::to_string(++st.last_txn);
}

query_reply answer_query(self_pointer self, const std::string& request_id) {
  auto& st = self->state;
  if (!ensure_ledger(self))
    return {query_outcome::query_failed, std::string{}, "provider ledger unavailable"};
  try {
    if (auto txn = st.book->find(request_id))
      return {query_outcome::recharged, std::move(*txn), std::string{}};
    return {query_outcome::not_recharged, std::string{}, std::string{}};
  } catch (const std::exception& error) {
    st.last_failure = error.what();
    st.book.reset();
    spdlog::error("provider {} cannot read its ledger: {}", st.provider, st.last_failure);
    return {query_outcome::query_failed, std::string{}, "provider ledger unavailable"};
  }
}

void count_answer(simulated_provider_counters& counters, const recharge_reply& reply) {
  switch (reply.outcome) {
    case recharge_outcome::success:
      counters.answered_success++;
      break;
    case recharge_outcome::transient_failure:
      counters.answered_transient++;
      break;
    case recharge_outcome::permanent_failure:
      counters.answered_permanent++;
      break;
    case recharge_outcome::wrong_carrier:
      counters.answered_wrong_carrier++;
      break;
  }
}

void count_answer(simulated_provider_counters& counters, const query_reply& reply) {
  switch (reply.outcome) {
    case query_outcome::recharged:
      counters.answered_recharged++;
      break;
    case query_outcome::not_recharged:
      counters.answered_not_recharged++;
      break;
    case query_outcome::query_failed:
      counters.answered_query_failed++;
      break;
  }
}

/// Removes the entries of `queue` due by `now` and hands each to `answer`.
template <class Queue, class Answer>
void take_due(Queue& queue, time_point now, Answer answer) {
  auto end = queue.upper_bound(now);
  for (auto i = queue.begin(); i != end; ++i)
    answer(i->second);
  queue.erase(queue.begin(), end);
}

/// Sends every answer whose latency has passed. Runs right after a commit, so the batch is
/// empty and no success answer can overtake its ledger row.
void answer_due(self_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  st.wakeups.erase(st.wakeups.begin(), st.wakeups.upper_bound(now));
  take_due(st.recharges, now, [&](simulated_provider_state::pending_recharge& pending) {
    count_answer(st.counters, pending.reply);
    pending.promise.deliver(std::move(pending.reply));
  });
  take_due(st.queries, now, [&](simulated_provider_state::pending_query& pending) {
    auto reply = answer_query(self, pending.request_id);
    count_answer(st.counters, reply);
    pending.promise.deliver(std::move(reply));
  });
  take_due(st.unanswered, now, [](caf::typed_response_promise<recharge_reply>& promise) {
    promise.deliver(make_error(errc::outcome_unknown, "simulated: the call was never answered"));
  });
}

} // namespace

simulated_provider_state::~simulated_provider_state() {
  const auto& c = counters;
  spdlog::debug("provider {} stops: {} calls ({} success, {} transient, {} permanent, {} "
               "wrong carrier, {} unanswered of which {} performed), {} queries ({} recharged, {} not recharged, "
               "{} failed), {} refused in outages, {} not sent under a lapsed lease, {} ledger "
               "rows in {} commits, {} failed commits",
               provider, c.calls, c.answered_success, c.answered_transient, c.answered_permanent,
               c.answered_wrong_carrier, c.unanswered, c.unknown_performed, c.queries, c.answered_recharged,
               c.answered_not_recharged, c.answered_query_failed, c.outage_refusals,
               c.not_sent_lapsed, c.ledger_rows, c.ledger_commits, c.ledger_failures);
}

provider_actor::behavior_type simulated_provider(self_pointer self, std::string provider,
                                                 outcome_model model, std::string ledger_path,
                                                 milliseconds call_timeout,
                                                 std::shared_ptr<const clock> time) {
  auto& initial = self->state;
  initial.provider = std::move(provider);
  initial.ledger_path = std::move(ledger_path);
  initial.silence = 2 * call_timeout;
  initial.time = std::move(time);
  initial.started = initial.time->now();
  initial.model.emplace(std::move(model));
  ensure_ledger(self);
  return {
    [=](recharge_atom, const recharge_call& call) -> caf::result<recharge_reply> {
      auto& st = self->state;
      if (lease_lapsed(self, call.origin))
        return not_sent_lapsed(self);
      st.counters.calls++;
      auto decision = st.model->decide_recharge(st.time->now(), st.started, call.phone);
      if (decision.outage) {
        st.counters.outage_refusals++;
        st.counters.answered_transient++;
        return failure_reply(recharge_outcome::transient_failure, outage_detail);
      }
      auto promise = self->make_response_promise<recharge_reply>();
      auto answer_later = [&](recharge_reply reply) {
        auto due = wake_after(self, decision.latency);
        return st.recharges.emplace(due, simulated_provider_state::pending_recharge{
                                            promise, std::move(reply)});
      };
      switch (decision.outcome) {
        case simulated_outcome::success: {
          auto txn = next_txn(st);
          auto pending = answer_later({recharge_outcome::success, txn, std::string{}});
          gather(self, call, std::move(txn), pending);
          break;
        }
        case simulated_outcome::transient_failure:
          answer_later(failure_reply(recharge_outcome::transient_failure,
                                     "simulated transient failure"));
          break;
        case simulated_outcome::permanent_failure:
          answer_later(failure_reply(recharge_outcome::permanent_failure,
                                     "simulated permanent failure"));
          break;
        case simulated_outcome::wrong_carrier:
          answer_later(failure_reply(recharge_outcome::wrong_carrier, simulated_wrong_carrier));
          break;
        case simulated_outcome::unknown:
          // The caller's call times out, which is the unknown outcome. Only the ledger (and so
          // a query) knows what happened.
          st.counters.unanswered++;
          st.unanswered.emplace(wake_after(self, st.silence), promise);
          if (decision.performed) {
            st.counters.unknown_performed++;
            gather(self, call, next_txn(st), std::nullopt);
          }
          break;
      }
      return promise;
    },
    [=](query_atom, status_query& query) -> caf::result<query_reply> {
      auto& st = self->state;
      if (lease_lapsed(self, query.origin))
        return not_sent_lapsed(self);
      st.counters.queries++;
      auto decision = st.model->decide_query(st.time->now(), st.started);
      if (decision.outage) {
        st.counters.outage_refusals++;
        st.counters.answered_query_failed++;
        return query_reply{query_outcome::query_failed, std::string{}, outage_detail};
      }
      auto promise = self->make_response_promise<query_reply>();
      auto due = wake_after(self, decision.latency);
      st.queries.emplace(due, simulated_provider_state::pending_query{
                                promise, std::move(query.request_id)});
      return promise;
    },
    [=](commit_atom) {
      self->state.commit_pass.arrived();
      commit(self);
      answer_due(self);
    },
  };
}

provider_actor spawn_simulated_provider(caf::actor_system& system, std::string provider,
                                        simulated_adapter_config cfg, milliseconds call_timeout,
                                        std::shared_ptr<const clock> time) {
  // Built here, not in the actor, so that a bad configuration throws to the caller instead
  // of killing the actor as it starts.
  outcome_model model{cfg};
  return system.spawn<caf::detached>(simulated_provider, std::move(provider), std::move(model),
                                     std::move(cfg.ledger_path), call_timeout, std::move(time));
}

} // namespace topup
