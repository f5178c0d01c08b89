#include "providers/http_provider.hpp"

#include "messages/errors.hpp"
#include "providers/http_client.hpp"
#include "providers/http_wire.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace topup {

namespace {

using self_pointer = provider_actor::stateful_pointer<http_provider_state>;

http_wire::endpoint endpoint_of(const std::string& provider, const std::string& url) {
  try {
    return http_wire::parse_base_url(url);
  } catch (const http_wire::wire_error& e) {
    throw std::invalid_argument("provider " + provider + ": base_url '" + url
                                + "' cannot be used: " + e.what());
  }
}

/// The reply that makes the recharge actor treat the call like a timeout: query it later.
caf::error unknown_outcome(const std::string& detail) {
  return make_error(errc::outcome_unknown, detail);
}

recharge_reply not_performed(std::string detail) {
  return {recharge_outcome::transient_failure, std::string{}, std::move(detail)};
}

void submit(self_pointer self, uint64_t call_id, const std::string& target, std::string body,
            const call_origin& origin) {
  auto& st = self->state;
  auto timestamp = std::to_string(st.time->wall_ms());
  auto signature = http_wire::sign(st.secret, timestamp, body);
  std::optional<io_clock::time_point> send_by;
  if (origin.send_by != mono_time{})
    send_by = origin.send_by;
  st.client->post({call_id,
                   target,
                   std::move(body),
                   {{std::string{http_wire::timestamp_header}, std::move(timestamp)},
                    {std::string{http_wire::signature_header}, std::move(signature)}},
                   st.budget,
                   send_by});
}

void answer_recharge(self_pointer self, caf::typed_response_promise<recharge_reply>& promise,
                     http_result& result) {
  auto& st = self->state;
  auto& counters = st.counters;
  switch (result.reach) {
    case http_reach::not_sent:
      counters.not_sent++;
      promise.deliver(not_performed(std::move(result.detail)));
      return;
    case http_reach::too_late:
      counters.not_sent++;
      promise.deliver(make_error(errc::stale_owner, std::move(result.detail)));
      return;
    case http_reach::maybe_sent:
      counters.unknown++;
      promise.deliver(unknown_outcome(result.detail));
      return;
    case http_reach::answered:
      break;
  }
  auto status = std::to_string(result.status);
  if (result.status == 200) {
    try {
      auto reply = http_wire::parse_recharge_response(result.body);
      counters.answered++;
      promise.deliver(std::move(reply));
    } catch (const http_wire::wire_error& e) {
      counters.unknown++;
      promise.deliver(unknown_outcome(st.base_url + " answered 200 with a body outside the "
                                      + "protocol (" + e.what() + ")"));
    }
  } else if (result.status == 401 || result.status == 403) {
    counters.refused++;
    promise.deliver(not_performed("provider " + st.provider + " rejected the signature ("
                                  + status + "): check the secret and the clock"));
  } else if (result.status >= 400 && result.status < 500) {
    counters.refused++;
    promise.deliver(not_performed("provider " + st.provider + " refused the request ("
                                  + status + ") without performing it"));
  } else {
    // A 5xx (or anything else unexpected) may come after the recharge was performed.
    counters.unknown++;
    promise.deliver(unknown_outcome(st.base_url + " answered " + status));
  }
}

query_reply query_failed(std::string detail) {
  return {query_outcome::query_failed, std::string{}, std::move(detail)};
}

void answer_query(self_pointer self, caf::typed_response_promise<query_reply>& promise,
                  http_result& result) {
  auto& st = self->state;
  if (result.reach == http_reach::too_late) {
    promise.deliver(make_error(errc::stale_owner, std::move(result.detail)));
    return;
  }
  if (result.reach == http_reach::answered && result.status == 200) {
    try {
      promise.deliver(http_wire::parse_query_response(result.body));
      return;
    } catch (const http_wire::wire_error& e) {
      result.detail = st.base_url + " answered a query with a body outside the protocol ("
                      + e.what() + ")";
    }
  } else if (result.reach == http_reach::answered) {
    result.detail = st.base_url + " answered a query with "
                    + std::to_string(result.status);
  }
  st.counters.query_failed++;
  promise.deliver(query_failed(std::move(result.detail)));
}

void deliver_finished(self_pointer self) {
  auto& st = self->state;
  for (auto& result : st.client->take_results()) {
    if (auto call = st.recharges.find(result.call_id); call != st.recharges.end()) {
      answer_recharge(self, call->second, result);
      st.recharges.erase(call);
    } else if (auto query = st.queries.find(result.call_id); query != st.queries.end()) {
      answer_query(self, query->second, result);
      st.queries.erase(query);
    }
  }
}

} // namespace

milliseconds http_call_budget(milliseconds call_timeout) {
  auto margin = std::min(milliseconds{50}, call_timeout / 10);
  return call_timeout - margin;
}

http_provider_state::http_provider_state() = default;

http_provider_state::~http_provider_state() {
  // Stops the asio thread before the promises go: no wake can reach a half-destroyed state.
  client.reset();
  if (!provider.empty())
    spdlog::info("http_provider {} stops: {} calls ({} answered, {} not sent, {} refused, {} "
                 "unknown), {} queries ({} failed), {} calls unanswered at exit",
                 provider, counters.calls, counters.answered, counters.not_sent,
                 counters.refused, counters.unknown, counters.queries, counters.query_failed,
                 recharges.size() + queries.size());
}

provider_actor::behavior_type
http_provider(provider_actor::stateful_pointer<http_provider_state> self, std::string provider,
              http_adapter_config cfg, milliseconds call_timeout,
              std::shared_ptr<const clock> time) {
  auto where = endpoint_of(provider, cfg.base_url);
  auto& st = self->state;
  st.provider = std::move(provider);
  st.base_url = http_wire::origin_of(where) + where.path_prefix;
  st.secret = std::move(cfg.secret);
  st.recharge_target = where.path_prefix + std::string{http_wire::recharge_path};
  st.query_target = where.path_prefix + std::string{http_wire::query_path};
  st.budget = http_call_budget(call_timeout);
  st.time = std::move(time);
  // Weak: the client must not keep the actor alive; a wake to a gone actor is dropped.
  caf::weak_actor_ptr weak_self{self->ctrl()};
  auto wake = [weak_self] {
    if (auto strong = weak_self.lock())
      caf::anon_send(caf::actor_cast<provider_actor>(strong), commit_atom::value);
  };
  st.client = std::make_unique<http_client>(where, st.base_url,
                                            milliseconds{cfg.connect_timeout_ms}, cfg.pool_size,
                                            std::move(wake), cfg.ca_file);
  spdlog::info("http_provider {} calls {} over at most {} connections, {} per call",
               st.provider, st.base_url, cfg.pool_size, std::to_string(st.budget.count()) + " ms");
  return {
    [=](recharge_atom, const recharge_call& call) -> caf::result<recharge_reply> {
      auto& state = self->state;
      state.counters.calls++;
      auto id = ++state.last_call_id;
      auto promise = self->make_response_promise<recharge_reply>();
      state.recharges.emplace(id, promise);
      submit(self, id, state.recharge_target, http_wire::recharge_request_body(call), call.origin);
      return promise;
    },
    [=](query_atom, const status_query& query) -> caf::result<query_reply> {
      auto& state = self->state;
      state.counters.queries++;
      auto id = ++state.last_call_id;
      auto promise = self->make_response_promise<query_reply>();
      state.queries.emplace(id, promise);
      submit(self, id, state.query_target, http_wire::query_request_body(query), query.origin);
      return promise;
    },
    [=](commit_atom) { deliver_finished(self); },
  };
}

provider_actor spawn_http_provider(caf::actor_system& system, std::string provider,
                                   http_adapter_config cfg, milliseconds call_timeout,
                                   std::shared_ptr<const clock> time) {
  if (endpoint_of(provider, cfg.base_url).tls) {
    try {
      check_tls_trust(cfg.ca_file);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("provider " + provider + ": " + e.what());
    }
  }
  return system.spawn(http_provider, std::move(provider), std::move(cfg), call_timeout,
                      std::move(time));
}

} // namespace topup
