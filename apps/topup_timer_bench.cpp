// topup-timer-bench: what the deadline actor's reminders cost for many pending orders.
// Tracks N orders (re-send points at 120 s and 160 s, deadline 180 s, acceptance spread over
// 60 s) and takes every reminder as time passes, printing memory and time as one JSON line.

#include "domain/deadline_schedule.hpp"
#include "domain/order_id.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>

namespace {

/// Resident set size of this process in KiB, from /proc.
long rss_kib() {
  std::ifstream status{"/proc/self/status"};
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(4096, '\n');
  }
  return -1;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures the deadline actor's reminder schedule for many pending orders."};
  size_t orders = 1'000'000;
  app.add_option("-n,--orders", orders, "pending orders to track")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  topup::order_id_generator ids{"node-1", 1'700'000'000'000};
  std::vector<std::string> names;
  names.reserve(orders);
  for (size_t i = 0; i < orders; ++i)
    names.push_back(ids.next());
  const int64_t start_ms = 1'700'000'000'000;
  auto rss_before = rss_kib();
  auto tracking = std::chrono::steady_clock::now();
  topup::deadline_schedule schedule{{60'000, 20'000}};
  for (size_t i = 0; i < orders; ++i) {
    auto accepted = start_ms + static_cast<int64_t>(i * 60'000 / orders);
    schedule.track(std::move(names[i]), accepted + 180'000, start_ms);
  }
  auto track_s = seconds_since(tracking);
  auto rss_tracked = rss_kib();
  // Time passes in 10 ms ticks, as the actor's single timer would fire.
  size_t resends = 0, expiries = 0, ticks = 0;
  auto taking = std::chrono::steady_clock::now();
  for (int64_t now = start_ms; schedule.size() > 0; now += 10, ++ticks) {
    auto due = schedule.take_due(now);
    resends += due.resend.size();
    expiries += due.expire.size();
  }
  auto take_s = seconds_since(taking);
  nlohmann::json result{
    {"orders", orders},
    {"track_seconds", track_s},
    {"track_per_order_ns", track_s * 1e9 / static_cast<double>(orders)},
    {"bytes_per_order", static_cast<double>(rss_tracked - rss_before) * 1024.0
                          / static_cast<double>(orders)},
    {"rss_mib", static_cast<double>(rss_tracked) / 1024.0},
    {"reminders", resends + expiries},
    {"ticks", ticks},
    {"take_seconds", take_s},
    {"take_per_reminder_ns", take_s * 1e9 / static_cast<double>(resends + expiries)},
  };
  std::cout << result.dump() << std::endl;
  return resends == 2 * orders && expiries == orders ? 0 : 1;
}
