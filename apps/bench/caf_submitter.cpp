#include "apps/bench/caf_submitter.hpp"

#include "messages/errors.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

namespace topup::bench {
namespace {

using bench_tick_atom = caf::atom_constant<caf::atom("btick")>;
/// How often the driver looks at the schedule and sends what is due or queued.
constexpr auto tick_interval = std::chrono::milliseconds(5);

struct driver_state {
  static constexpr const char* name = "bench_driver";
  workload load;
  std::shared_ptr<shared_book> shared;
  std::shared_ptr<const order_generator> orders;
  /// By node; null while not connected to it. Submissions go round the connected ones.
  std::vector<gateway_actor> gateways;
  size_t next_gateway = 0;
  steady_time start;
  std::chrono::milliseconds submit_timeout{10000};
};

using driver_pointer = caf::stateful_actor<driver_state>*;

/// The connected gateway whose turn it is; null when none is connected.
gateway_actor next_gateway(driver_state& st) {
  for (size_t tried = 0; tried < st.gateways.size(); ++tried) {
    auto& candidate = st.gateways[st.next_gateway++ % st.gateways.size()];
    if (candidate)
      return candidate;
  }
  return {};
}

bool any_connected(const driver_state& st) {
  return std::any_of(st.gateways.begin(), st.gateways.end(),
                     [](const gateway_actor& gateway) { return static_cast<bool>(gateway); });
}

/// What one order's answer means for the book; `retry_after` gets the node's hint, if any.
answer classify(const submit_result& result, shared_book& shared,
                std::chrono::milliseconds& retry_after) {
  retry_after = std::chrono::milliseconds{0};
  if (!result.error)
    return answer::acknowledged;
  auto failure = as_failure(result.error);
  auto code = failure ? std::string{to_string(failure->code)} : "other";
  if (failure) {
    switch (failure->code) {
      case errc::overloaded:
      case errc::unavailable:
      case errc::shutting_down:
        shared.note_refusal(code, true, {});
        retry_after = std::chrono::seconds{failure->retry_after_s};
        return answer::retry;
      default: break;
    }
  }
  shared.note_refusal(code, false, topup::describe(result.error));
  return answer::refused;
}

/// Offers what the loop allows now and sends everything queued, in messages of `batch`.
void pump(driver_pointer self) {
  auto& st = self->state;
  auto& shared = *st.shared;
  std::vector<submission_book::batch> batches;
  {
    std::lock_guard<std::mutex> lock{shared.mutex};
    batches = due_messages(st.load, shared.book, st.start, steady_clock::now(),
                           any_connected(st), st.load.batch);
  }
  for (auto& batch : batches) {
    std::vector<order_request> requests;
    requests.reserve(batch.orders.size());
    for (auto n : batch.orders)
      requests.push_back(st.orders->nth(n));
    auto id = batch.id;
    self->request(next_gateway(st), st.submit_timeout, submit_atom::value, std::move(requests))
      .then(
        [self, id](std::vector<submit_result>& results) {
          auto& shared_state = *self->state.shared;
          bool retrying = false;
          {
            std::lock_guard<std::mutex> lock{shared_state.mutex};
            std::vector<answer> answers;
            std::vector<std::chrono::milliseconds> hints(results.size());
            answers.reserve(results.size());
            for (size_t i = 0; i < results.size(); ++i) {
              answers.push_back(classify(results[i], shared_state, hints[i]));
              retrying |= answers.back() == answer::retry;
            }
            shared_state.book.answered(id, answers, hints, steady_clock::now());
          }
          // Orders the node pushed back wait for the next tick: a short pause, not a spin.
          if (!retrying)
            pump(self);
        },
        [self, id](caf::error&) {
          std::lock_guard<std::mutex> lock{self->state.shared->mutex};
          self->state.shared->book.unanswered(id);
        });
  }
}

caf::behavior driver(driver_pointer self, workload load, std::shared_ptr<shared_book> shared,
                     std::shared_ptr<const order_generator> orders, steady_time start,
                     std::chrono::milliseconds submit_timeout) {
  auto& st = self->state;
  st.load = std::move(load);
  st.gateways.resize(shared->connected.size());
  st.shared = std::move(shared);
  st.orders = std::move(orders);
  st.start = start;
  st.submit_timeout = submit_timeout;
  self->set_down_handler([self](caf::down_msg& down) {
    auto& state = self->state;
    auto lost = std::find_if(state.gateways.begin(), state.gateways.end(),
                             [&](const gateway_actor& gateway) {
                               return gateway && gateway.address() == down.source;
                             });
    if (lost == state.gateways.end())
      return;
    // Requests to a dead proxy end only at their timeout: give them up now and offer their
    // orders again, to the nodes still connected or once connected anew (answers that still
    // come are ignored; a resubmission of an order another node accepted is answered with
    // it, by idempotency).
    *lost = nullptr;
    state.shared->connected[static_cast<size_t>(lost - state.gateways.begin())] = false;
    std::lock_guard<std::mutex> lock{state.shared->mutex};
    state.shared->book.disconnected();
  });
  self->send(self, bench_tick_atom::value);
  return {
    [self](bench_tick_atom) {
      pump(self);
      self->delayed_send(self, tick_interval, bench_tick_atom::value);
    },
    [self](uint64_t node, gateway_actor& gateway) {
      self->monitor(gateway);
      self->state.gateways.at(node) = std::move(gateway);
      pump(self);
    },
  };
}

} // namespace

caf::actor spawn_caf_submitter(caf::actor_system& system, workload load,
                               std::shared_ptr<shared_book> shared,
                               std::shared_ptr<const order_generator> orders, steady_time start,
                               std::chrono::milliseconds submit_timeout) {
  return system.spawn(driver, std::move(load), std::move(shared), std::move(orders), start,
                      submit_timeout);
}

std::optional<gateway_actor> connect_node(caf::actor_system& system, const std::string& host,
                                          uint16_t port, std::chrono::milliseconds timeout,
                                          const caf::actor_addr& stale, bool quiet) {
  caf::scoped_actor self{system};
  auto until = steady_clock::now() + timeout;
  std::string last_error = "no attempt";
  while (steady_clock::now() < until) {
    auto gateway = system.middleman().remote_actor<gateway_actor>(host, port);
    // The middleman caches a proxy per host:port until it noticed the old node is gone.
    if (gateway && (!stale || gateway->address() != stale)) {
      bool ok = false;
      self->request(*gateway, std::chrono::seconds(5), hello_atom::value, protocol_version)
        .receive(
          [&](uint32_t node_protocol, std::string&) {
            ok = node_protocol == protocol_version;
            if (!ok)
              last_error = "node speaks protocol " + std::to_string(node_protocol);
          },
          [&](caf::error& error) { last_error = system.render(error); });
      if (ok)
        return *gateway;
    } else if (!gateway) {
      last_error = system.render(gateway.error());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (quiet)
    spdlog::debug("cannot connect to the node at {}:{}: {}", host, port, last_error);
  else
    spdlog::error("cannot connect to the node at {}:{}: {}", host, port, last_error);
  return std::nullopt;
}

} // namespace topup::bench
