#include "actors/callback_sender.hpp"

#include "api/merchant_api.hpp"
#include "domain/error_text.hpp"
#include "domain/log_repeats.hpp"
#include "domain/retention.hpp"
#include "messages/errors.hpp"
#include "domain/store_shards.hpp"
#include "persistence/callback_outbox.hpp"
#include "persistence/store_layout.hpp"
#include "providers/http_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

namespace topup {
namespace {

/// One call in flight.
struct callback_call {
  size_t shard = 0;  ///< whose outbox holds the notification
  callback_delivery delivery;
  const merchant* to = nullptr;
  mono_time started{};
};

struct callback_sender_state {
  static constexpr const char* name = "callback_sender";

  callback_sender_options options;
  std::shared_ptr<const clock> time;
  /// One per shard file of the store (PostgreSQL: one, the shards share a database), each
  /// opened at the first poll and again after a failure of its database.
  std::vector<std::unique_ptr<callback_outbox>> outboxes;
  size_t first_shard = 0;  ///< the outbox a poll claims from first: they take turns
  /// One per destination origin ("https://host:port") and CA file.
  std::map<std::string, std::unique_ptr<http_client>> clients;
  std::map<uint64_t, callback_call> calls;
  std::map<std::string, size_t, std::less<>> busy;  ///< calls in flight per merchant
  /// The delivery ids of the calls in flight and of those whose outcome is not written yet:
  /// never called again meanwhile (on SQLite nothing else keeps them from being due).
  std::set<std::string> in_flight;
  /// Outcomes gathered by the handler running, by shard: written at its end in one
  /// transaction per shard (one take of the file's write lock, not one per call).
  std::map<size_t, std::vector<callback_attempt>> unsaved;
  uint64_t last_call_id = 0;
  std::mt19937_64 random{std::random_device{}()};
  uint64_t delivered = 0, failed_attempts = 0, abandoned = 0;
  uint64_t pruned = 0;      ///< finished notifications removed from the outbox
  mono_time next_prune{};   ///< when the outbox is next looked at for old finished ones
  bool started = false;
  /// Whether the notifications no merchant of the configuration takes were reported (once,
  /// when the outbox is first read: the configuration changes only with a restart).
  bool held_reported = false;
  std::optional<callback_instruments> instruments;
  /// A merchant's endpoint that is down fails every call: one line per merchant and 10 s.
  log_repeats failure_lines;

  ~callback_sender_state() {
    // Stops the asio threads before the calls they would wake for go.
    clients.clear();
    if (started)
      spdlog::info("callback_sender stops: {} delivered, {} failed attempts, {} abandoned, {} "
                   "calls cut off (made again after a restart), {} finished ones pruned",
                   delivered, failed_attempts, abandoned, calls.size(), pruned);
  }
};

using self_pointer = callback_sender_actor::stateful_pointer<callback_sender_state>;

/// The outbox of a shard, opened if needed; null (and logged) while its database cannot be
/// reached.
callback_outbox* outbox_of(self_pointer self, size_t shard) {
  auto& outbox = self->state.outboxes[shard];
  if (!outbox) {
    try {
      outbox = std::make_unique<callback_outbox>(shard_config(self->state.options.store, shard));
    } catch (const std::exception& error) {
      spdlog::warn("callback_sender cannot open the store: {}", one_line_reason(error.what()));
    }
  }
  return outbox.get();
}

/// The client for `url`'s origin, trusting the CAs `to` is called under; throws
/// std::invalid_argument when that CA file cannot be loaded (tried again at the next attempt).
http_client& client_for(self_pointer self, const callback_url& url, const merchant& to) {
  auto& st = self->state;
  http_wire::endpoint where{url.host, std::to_string(url.port), "", url.scheme == "https"};
  auto origin = http_wire::origin_of(where);
  auto ca_file = where.tls ? (to.callback_ca_file.empty() ? st.options.callbacks.ca_file
                                                           : to.callback_ca_file)
                           : std::string{};
  auto& client = st.clients[origin + " " + ca_file];
  if (!client) {
    // Weak: the client must not keep the actor alive; a wake to a gone actor is dropped.
    caf::weak_actor_ptr weak_self{self->ctrl()};
    auto wake = [weak_self] {
      if (auto strong = weak_self.lock())
        caf::anon_send(caf::actor_cast<callback_sender_actor>(strong), commit_atom::value);
    };
    // Every merchant may have its calls in flight to one host.
    auto pool = st.options.callbacks.concurrency_per_merchant * st.options.merchants.all().size();
    client = std::make_unique<http_client>(
      std::move(where), origin, milliseconds{st.options.callbacks.connect_timeout_ms}, pool,
      std::move(wake), ca_file);
  }
  return *client;
}

/// Gathers an attempt's outcome, written with the others of this handler (save_outcomes).
void save(self_pointer self, size_t shard, const callback_attempt& outcome) {
  auto& st = self->state;
  st.in_flight.insert(outcome.delivery_id);
  st.unsaved[shard].push_back(outcome);
}

/// Writes the outcomes gathered, one transaction per shard. Those the database does not take
/// stay pending: they are sent again (the merchant recognises them by their delivery id).
void save_outcomes(self_pointer self) {
  auto& st = self->state;
  for (auto& [shard, outcomes] : st.unsaved) {
    auto* outbox = outbox_of(self, shard);
    try {
      if (outbox)
        outbox->record(outcomes);
    } catch (const std::exception& failure) {
      spdlog::warn("callback_sender cannot record {} callback outcomes (sent again): {}",
                   outcomes.size(), one_line_reason(failure.what()));
      st.outboxes[shard].reset();
    }
    for (const auto& outcome : outcomes)
      st.in_flight.erase(outcome.delivery_id);
  }
  st.unsaved.clear();
}

/// Records what an attempt came to, by the schedule and the merchant's acknowledgement.
void record(self_pointer self, const callback_call& call, unsigned http_status,
            std::string_view body, std::string error) {
  auto& st = self->state;
  auto now = st.time->wall_ms();
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  auto outcome = callback_attempt_outcome(call.delivery, st.options.callbacks.schedule,
                                          call.to->callback_ack, now, http_status, body,
                                          std::move(error), unit(st.random));
  if (st.instruments)
    st.instruments->call_ended(outcome.state == callback_state::delivered,
                               seconds_of(st.time->now() - call.started));
  switch (outcome.state) {
    case callback_state::delivered:
      ++st.delivered;
      spdlog::debug("callback {} order={} delivered to {}", outcome.delivery_id,
                    call.delivery.order_id, call.delivery.merchant);
      break;
    case callback_state::pending: {
      ++st.failed_attempts;
      auto verdict = st.failure_lines.occurred(call.delivery.merchant, st.time->now());
      if (verdict.write)
        spdlog::info("callback {} order={} to {} failed (attempt {}): {}; next in {} s{}",
                     outcome.delivery_id, call.delivery.order_id, call.delivery.merchant,
                     call.delivery.attempts + 1,
                     outcome.error, (outcome.next_attempt_at_ms - now) / 1000,
                     verdict.suffix());
      break;
    }
    case callback_state::abandoned:
      ++st.abandoned;
      spdlog::warn("callback {} order={} to {} abandoned after {} attempts: {}",
                   outcome.delivery_id, call.delivery.order_id, call.delivery.merchant,
                   call.delivery.attempts + 1, outcome.error);
      break;
  }
  save(self, call.shard, outcome);
}

/// A notification whose URL this sender can never call is abandoned at once, not retried
/// for a day.
void abandon(self_pointer self, size_t shard, const callback_delivery& delivery,
             std::string reason) {
  auto& st = self->state;
  ++st.abandoned;
  spdlog::warn("callback {} order={} to {} abandoned: {}", delivery.delivery_id,
               delivery.order_id, delivery.merchant, reason);
  auto now = st.time->wall_ms();
  save(self, shard, {delivery.delivery_id, callback_state::abandoned, now, now, 0, std::move(reason)});
}

void start_call(self_pointer self, size_t shard, callback_delivery delivery, const merchant& to) {
  auto& st = self->state;
  callback_call call{shard, std::move(delivery), &to, st.time->now()};
  auto parsed = parse_callback_url(call.delivery.url);
  if (auto problem = std::get_if<std::string>(&parsed)) {
    abandon(self, shard, call.delivery, "the callback URL cannot be used: " + *problem);
    return;
  }
  const auto& url = std::get<callback_url>(parsed);
  http_client* client = nullptr;
  try {
    client = &client_for(self, url, to);
  } catch (const std::invalid_argument& trust) {
    // The operator can fix the file: an attempt that failed, retried by the schedule.
    record(self, call, 0, "", trust.what());
    return;
  }
  auto target = url.path + (url.query.empty() ? "" : "?" + url.query);
  auto headers = merchant_api::callback_headers(to, call.delivery.delivery_id, target,
                                                call.delivery.body, st.time->wall_ms() / 1000);
  auto id = ++st.last_call_id;
  http_post post{id,
                 std::move(target),
                 call.delivery.body,
                 std::move(headers),
                 milliseconds{st.options.callbacks.timeout_ms},
                 std::nullopt};
  st.in_flight.insert(call.delivery.delivery_id);
  ++st.busy[to.id];
  st.calls.emplace(id, std::move(call));
  client->post(std::move(post));
}

/// Starts the due notifications of every merchant in the outbox of `shard`, as far as its
/// free slots allow.
void poll_shard(self_pointer self, size_t shard) {
  auto& st = self->state;
  auto* outbox = outbox_of(self, shard);
  if (!outbox)
    return;
  auto cap = st.options.callbacks.concurrency_per_merchant;
  auto now = st.time->wall_ms();
  // A claim outlasts the call it is for (connecting and waiting for the answer included), so
  // no other sender makes the same call meanwhile; one cut off by a crash lapses soon after.
  auto claim_ms = 2 * st.options.callbacks.timeout_ms + 1000;
  for (const auto& [id, to] : st.options.merchants.all()) {
    auto busy = st.busy[id];
    if (busy >= cap || (to.callback_url.empty() && to.callback_prefixes.empty()))
      continue;
    std::vector<callback_delivery> due;
    try {
      due = outbox->claim_due(id, now, cap - busy, now + claim_ms, st.in_flight);
    } catch (const std::exception& failure) {
      spdlog::warn("callback_sender cannot read the outbox: {}", one_line_reason(failure.what()));
      st.outboxes[shard].reset();
      return;
    }
    for (auto& delivery : due) {
      if (st.busy[id] >= cap)
        break;
      start_call(self, shard, std::move(delivery), to);
    }
  }
}

/// Says once which pending notifications this sender leaves alone: those of merchants the
/// configuration no longer lists or gives no callback destination (domain/merchant_callback),
/// counted over every shard's outbox.
void report_held(self_pointer self) {
  auto& st = self->state;
  if (st.held_reported)
    return;
  std::map<std::string, uint64_t> pending;
  for (size_t shard = 0; shard < st.outboxes.size(); ++shard) {
    auto* outbox = outbox_of(self, shard);
    if (!outbox)
      return;
    try {
      for (const auto& [merchant, count] : outbox->pending_by_merchant())
        pending[merchant] += count;
    } catch (const std::exception& failure) {
      spdlog::warn("callback_sender cannot read the outbox: {}", one_line_reason(failure.what()));
      st.outboxes[shard].reset();
      return;
    }
  }
  for (const auto& held : undeliverable(st.options.merchants, pending))
    spdlog::warn("callback_sender: {}", describe(held));
  st.held_reported = true;
}

/// Starts the due notifications of every shard's outbox, the first one taking turns so that
/// a merchant's slots are shared among the shards.
void poll(self_pointer self) {
  auto& st = self->state;
  auto count = st.outboxes.size();
  for (size_t i = 0; i < count; ++i)
    poll_shard(self, (st.first_shard + i) % count);
  st.first_shard = (st.first_shard + 1) % count;
}

/// Removes one batch of old finished notifications (callbacks.keep_finished_s). A full batch
/// means more may wait: the next tick takes another; otherwise the outbox is looked at again
/// in a minute. One short delete per tick keeps the store's write lock free for intake.
void prune(self_pointer self) {
  auto& st = self->state;
  const auto& cfg = st.options.callbacks;
  if (cfg.keep_finished_s == 0 || st.time->now() < st.next_prune)
    return;
  bool more = false;
  for (size_t shard = 0; shard < st.outboxes.size(); ++shard) {
    auto* outbox = outbox_of(self, shard);
    if (!outbox)
      return;
    size_t removed = 0;
    try {
      removed = outbox->prune_finished(
        archive_cutoff_ms(st.time->wall_ms(), cfg.keep_finished_s * 1000), cfg.prune_batch);
    } catch (const std::exception& failure) {
      spdlog::warn("callback_sender cannot prune the outbox: {}", one_line_reason(failure.what()));
      st.outboxes[shard].reset();
      return;
    }
    st.pruned += removed;
    if (removed > 0)
      spdlog::debug("callback_sender pruned {} finished notifications", removed);
    more = more || removed >= cfg.prune_batch;
  }
  if (!more)
    st.next_prune = st.time->now() + std::chrono::minutes{1};
}

/// Runs `read` on the outbox; a database that fails it is answered `unavailable` (and opened
/// again next time).
template <class Read>
auto with_outbox(self_pointer self, size_t shard, Read read)
  -> caf::expected<decltype(read(*self->state.outboxes[shard]))> {
  auto* outbox = outbox_of(self, shard);
  if (!outbox)
    return make_error(errc::unavailable, "the callback outbox cannot be reached");
  try {
    return read(*outbox);
  } catch (const std::exception& failure) {
    self->state.outboxes[shard].reset();
    return make_error(errc::unavailable, one_line_reason(failure.what()));
  }
}

/// Makes the notification `make_due` picks in the outboxes of `shards` due now again (the
/// first one found); not_found (with `missing`) when there is none.
template <class MakeDue>
caf::result<callback_record> redeliver(self_pointer self, const std::vector<size_t>& shards,
                                       std::string missing, MakeDue make_due) {
  auto now = self->state.time->wall_ms();
  decltype(make_due(std::declval<callback_outbox&>(), now)) none{};
  caf::expected<decltype(none)> found{none};
  for (auto shard : shards) {
    found = with_outbox(self, shard, [&](callback_outbox& outbox) { return make_due(outbox, now); });
    if (!found)
      return found.error();
    if (*found)
      break;
  }
  if (!*found)
    return make_error(errc::not_found, std::move(missing));
  auto& row = **found;
  spdlog::info("callback {} order={} to {} made due again ({}, {} attempts so far)",
               row.delivery.delivery_id, row.delivery.order_id, row.delivery.merchant,
               to_string(row.state),
               row.delivery.attempts);
  // Now rather than at the next tick.
  self->send(self, commit_atom::value);
  return record_of(row);
}

void finish_calls(self_pointer self) {
  auto& st = self->state;
  for (auto& [key, client] : st.clients) {
    for (auto& result : client->take_results()) {
      auto found = st.calls.find(result.call_id);
      if (found == st.calls.end())
        continue;
      auto call = std::move(found->second);
      st.calls.erase(found);
      --st.busy[call.to->id];
      if (result.reach == http_reach::answered)
        record(self, call, result.status, result.body, "");
      else
        record(self, call, 0, "", std::move(result.detail));
    }
  }
}

callback_sender_actor::behavior_type callback_sender(self_pointer self,
                                                     callback_sender_options options,
                                                     std::shared_ptr<const clock> time) {
  self->state.options = std::move(options);
  self->state.time = std::move(time);
  // SQLite: each shard file has its own outbox, written in the commits of that shard.
  const auto& store = self->state.options.store;
  self->state.outboxes.resize(store.backend == store_config::backend_kind::sqlite
                                ? std::max<size_t>(store.shards, 1)
                                : 1);
  self->state.started = true;
  if (self->state.options.metrics)
    self->state.instruments = self->state.options.metrics->callbacks();
  self->send(self, tick_atom::value);
  spdlog::info("callback_sender delivers result callbacks: at most {} calls per merchant, {} "
               "ms each",
               self->state.options.callbacks.concurrency_per_merchant,
               self->state.options.callbacks.timeout_ms);
  return {
    [=](tick_atom) {
      report_held(self);
      poll(self);
      save_outcomes(self);
      prune(self);
      self->delayed_send(self, milliseconds{self->state.options.callbacks.poll_interval_ms},
                         tick_atom::value);
    },
    [=](commit_atom) {
      // Each client hands over every call that ended since it was last asked: the wakes
      // queued behind this one mostly find none, and the outcomes gathered here go into one
      // transaction (with those of notifications the poll abandons at once).
      finish_calls(self);
      poll(self);
      save_outcomes(self);
    },
    [=](stats_atom) -> caf::result<callback_stats> {
      auto& st = self->state;
      callback_stats stats{st.delivered, st.failed_attempts, st.abandoned, st.calls.size(), 0};
      // The counts of this sender answer even while the database does not.
      for (size_t shard = 0; shard < st.outboxes.size(); ++shard) {
        auto* outbox = outbox_of(self, shard);
        if (!outbox)
          continue;
        try {
          stats.pending += outbox->count_pending();
        } catch (const std::exception& failure) {
          spdlog::warn("callback_sender cannot count the outbox: {}",
                       one_line_reason(failure.what()));
          st.outboxes[shard].reset();
        }
      }
      return stats;
    },
    [=](redeliver_atom, const std::string& order_id) -> caf::result<callback_record> {
      auto shard = shard_of_id(order_id, self->state.outboxes.size());
      return redeliver(self, {shard}, "order " + order_id + " has no result callback",
                       [&](callback_outbox& outbox, int64_t now) {
                         return outbox.redeliver(order_id, now);
                       });
    },
    [=](redeliver_atom, delivery_atom,
        const std::string& delivery_id) -> caf::result<callback_record> {
      std::vector<size_t> every_shard(self->state.outboxes.size());
      std::iota(every_shard.begin(), every_shard.end(), size_t{0});
      return redeliver(self, every_shard, "no result callback has the delivery id " + delivery_id,
                       [&](callback_outbox& outbox, int64_t now) {
                         return outbox.redeliver_delivery(delivery_id, now);
                       });
    },
  };
}

} // namespace

callback_sender_actor spawn_callback_sender(caf::actor_system& system,
                                            callback_sender_options options,
                                            std::shared_ptr<const clock> time) {
  return system.spawn<caf::detached>(callback_sender, std::move(options), std::move(time));
}

} // namespace topup
