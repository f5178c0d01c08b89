// topup-store-bench: what the order store costs per order on this machine, phase by phase,
// without actors or network: the thread's CPU time for W1's common path (accept, one call,
// success) written the way the store actor writes it (group commits of --batch rows).
// Prints one JSON line on stdout.

#include "domain/order_id.hpp"
#include "domain/order_state_machine.hpp"
#include "persistence/order_store.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <unistd.h>

using namespace topup;

namespace {

/// CPU time of the calling thread: what the store's thread spends, whatever else runs on the
/// machine.
double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

struct phase_cost {
  double cpu_s = 0;
  double wall_s = 0;
};

/// Runs `write(first, count)` over every batch of the `orders`, each batch in one commit.
template <class Write>
phase_cost run_phase(order_store& store, size_t orders, size_t batch, Write write) {
  phase_cost cost;
  auto cpu = thread_cpu_seconds();
  auto wall = wall_seconds();
  for (size_t first = 0; first < orders; first += batch) {
    auto count = std::min(batch, orders - first);
    store.in_transaction([&] { write(first, count); });
  }
  cost.cpu_s = thread_cpu_seconds() - cpu;
  cost.wall_s = wall_seconds() - wall;
  return cost;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"topup-store-bench: the order store's cost per order for W1's common path "
               "(insert, dispatch, success), phase by phase, in the store's thread CPU time. "
               "Prints one JSON line on stdout."};
  size_t orders = 200000;
  size_t batch = 500;
  std::string path;
  std::string synchronous = "normal";
  size_t prefill = 0;
  app.add_option("--orders", orders, "orders to write and measure")->check(CLI::PositiveNumber);
  app.add_option("--prefill", prefill,
                 "final orders written first, unmeasured: the cost on a store that already "
                 "holds this many (0)");
  app.add_option("--batch", batch, "rows per commit (the store actor's group commit)")
    ->check(CLI::PositiveNumber);
  app.add_option("--db", path, "SQLite file to write (must not exist; default: a new file "
                               "under the system's temp dir, removed at the end)");
  app.add_option("--synchronous", synchronous, "SQLite synchronous setting")
    ->check(CLI::IsMember({"normal", "full"}));
  CLI11_PARSE(app, argc, argv);

  bool remove_after = path.empty();
  if (path.empty())
    path = (std::filesystem::temp_directory_path()
            / ("topup-store-bench-" + std::to_string(::getpid()) + ".db"))
             .string();
  if (std::filesystem::exists(path)) {
    std::cerr << "topup-store-bench: " << path << " exists; name a new file\n";
    return 2;
  }
  store_config cfg;
  cfg.sqlite_path = path;
  cfg.synchronous =
    synchronous == "full" ? sqlite_synchronous::full : sqlite_synchronous::normal;

  order_store store{cfg};
  order_id_generator ids{"bench", 1};
  const int64_t now_ms = 1'700'000'000'000;
  auto make_order = [&](size_t n) {
    order o;
    o.id = ids.next();
    o.client_ref = "ref-" + to_base36(n);
    char phone[16];
    std::snprintf(phone, sizeof phone, "138%08zu", n % 100000000);
    o.phone = phone;
    o.carrier = "cmcc";
    o.amount_fen = 1000;
    o.accepted_at_ms = o.updated_at_ms = now_ms;
    o.deadline_ms = now_ms + 180000;
    return o;
  };
  auto change = [&](const order& o, order_status from, order_event event) {
    transition t;
    t.order_id = o.id;
    t.from = from;
    t.event = event;
    t.at_ms = now_ms + 5;
    t.provider = "p-cmcc";
    t.attempt_no = 1;
    if (event == order_event::dispatch) {
      t.request_id = o.id + "-p-cmcc";
    } else {
      t.provider_txn = "txn-" + o.id;
      t.via = answered_by::call;
      t.latency_us = 1000;
    }
    return t;
  };
  // Orders [first, first + count): inserted, dispatched, succeeded, phase after phase; the
  // cost of each phase.
  auto write_orders = [&](size_t first, size_t count) {
    std::vector<order> all;
    all.reserve(count);
    for (size_t n = first; n < first + count; ++n)
      all.push_back(make_order(n));
    auto insert = run_phase(store, count, batch, [&](size_t from, size_t rows) {
      std::vector<order> written(all.begin() + from, all.begin() + from + rows);
      store.insert_rows(written);
    });
    auto transitions = [&](order_status from, order_event event) {
      return run_phase(store, count, batch, [&](size_t first_row, size_t rows) {
        std::vector<transition> changes;
        changes.reserve(rows);
        for (auto n = first_row; n < first_row + rows; ++n)
          changes.push_back(change(all[n], from, event));
        store.apply_rows(changes);
      });
    };
    auto dispatch = transitions(order_status::accepted, order_event::dispatch);
    auto succeed = transitions(order_status::dispatched, order_event::succeed);
    return std::array<phase_cost, 3>{insert, dispatch, succeed};
  };
  // The history first, in chunks that keep memory flat: a store that already holds `prefill`
  // final orders, as a store does after weeks of traffic.
  constexpr size_t prefill_chunk = 100000;
  for (size_t done = 0; done < prefill;) {
    auto count = std::min(prefill_chunk, prefill - done);
    write_orders(done, count);
    done += count;
    std::cerr << "topup-store-bench: prefilled " << done << " of " << prefill << " orders\n";
  }
  auto [insert, dispatch, succeed] = write_orders(prefill, orders);

  auto per_order_us = [&](const phase_cost& cost) {
    return nlohmann::json{{"cpu_us", cost.cpu_s * 1e6 / static_cast<double>(orders)},
                          {"wall_us", cost.wall_s * 1e6 / static_cast<double>(orders)}};
  };
  auto total_cpu = insert.cpu_s + dispatch.cpu_s + succeed.cpu_s;
  nlohmann::json out{{"orders", orders},
                     {"prefill", prefill},
                     {"batch", batch},
                     {"insert", per_order_us(insert)},
                     {"dispatch", per_order_us(dispatch)},
                     {"succeed", per_order_us(succeed)},
                     {"cpu_us_per_order", total_cpu * 1e6 / static_cast<double>(orders)},
                     {"file_bytes", std::filesystem::file_size(path)}};
  std::cout << out.dump() << std::endl;
  if (remove_after) {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path + suffix, ignored);
  }
  return 0;
}
