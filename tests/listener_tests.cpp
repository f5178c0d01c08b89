#define BOOST_TEST_MODULE listener_tests
#include <boost/test/unit_test.hpp>

// The real topup-node's public port against hostile peers on 127.0.0.1: a BASP header that
// announces a 4 GB payload, a thousand idle connections under the default open-files limit,
// connections that never send a byte. Each test measures what the node does (its memory,
// its CPU, whether a real client is still served) rather than trusting its log.

#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// A BASP header of CAF 0.17.6 (32 bytes, network byte order) for `op` announcing
/// `payload_len` bytes.
std::vector<uint8_t> basp_header(uint8_t op, uint32_t payload_len) {
  std::vector<uint8_t> header(32, 0);
  header[0] = op;
  header[4] = static_cast<uint8_t>(payload_len >> 24);
  header[5] = static_cast<uint8_t>(payload_len >> 16);
  header[6] = static_cast<uint8_t>(payload_len >> 8);
  header[7] = static_cast<uint8_t>(payload_len);
  return header;
}

/// VmRSS of a process in MiB.
double rss_mib(pid_t pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

/// The soft and hard open-files limits of a process, from /proc/PID/limits.
std::pair<std::string, std::string> open_files_limits(pid_t pid) {
  std::ifstream limits{"/proc/" + std::to_string(pid) + "/limits"};
  std::string line;
  while (std::getline(limits, line))
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream fields{line.substr(14)};
      std::string soft, hard;
      fields >> soft >> hard;
      return {soft, hard};
    }
  return {};
}

/// Raises this process's own open-files limit to at least `wanted` (as root the hard limit
/// too); false when it cannot.
bool allow_own_descriptors(rlim_t wanted) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur >= wanted)
    return true;
  rlimit raised{std::max(wanted, limit.rlim_cur), std::max(wanted, limit.rlim_max)};
  return ::setrlimit(RLIMIT_NOFILE, &raised) == 0;
}

/// A shell that sets the open-files limit (soft and hard, or the soft one alone) and execs
/// the node in its place.
std::vector<std::string> with_open_files_limit(int limit, bool soft_only = false) {
  return {"/bin/sh", "-c",
          std::string{"ulimit "} + (soft_only ? "-Sn " : "-n ") + std::to_string(limit)
            + " && exec \"$0\" \"$@\""};
}

/// Asks the gateway for hello within `timeout`; how long the answer took, nothing if none.
std::optional<steady::duration> hello_takes(caf::actor_system& system, uint16_t port,
                                            std::chrono::milliseconds timeout) {
  auto start = steady::now();
  auto gateway = connect_gateway(system, port, timeout);
  if (!gateway)
    return std::nullopt;
  caf::scoped_actor self{system};
  std::optional<steady::duration> took;
  auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                         start + timeout - steady::now()),
                       100ms);
  self->request(*gateway, left, hello_atom::value, protocol_version)
    .receive([&](uint32_t, std::string&) { took = steady::now() - start; },
             [](caf::error&) {});
  return took;
}

struct listener_fixture {
  temp_dir dir;
  nlohmann::json cfg = test_node_config(dir.path());
  std::string config_path = dir.file("node.json");
  std::string log_path = dir.file("node.log");
  std::optional<node_process> node;
  client_config client_cfg;
  caf::actor_system system{client_cfg};

  void start(const std::vector<std::string>& launcher = {}) {
    write_json(config_path, cfg);
    node.emplace(TOPUP_NODE, config_path, log_path, std::vector<std::string>{}, 30s, launcher);
  }

  pid_t pid() { return node->process().pid(); }

  std::string log() { return tail_of(log_path, 200000); }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(hostile_peers, listener_fixture)

BOOST_AUTO_TEST_CASE(a_header_announcing_4_gb_is_refused_and_costs_the_node_no_memory) {
  start();
  BOOST_REQUIRE(hello_takes(system, node->port(), 10s));
  auto rss_before = rss_mib(pid());
  raw_connection attacker{node->port()};
  BOOST_REQUIRE(attacker.connected());
  // No handshake, no credentials: a client handshake header that announces 4 GB.
  BOOST_REQUIRE(attacker.send_all(basp_header(1, 0xFFFFFFFFu)));
  auto dropped = attacker.closed_by_peer_before(steady::now() + 3s);
  // Meanwhile another client is served at once.
  client_config other_cfg;
  caf::actor_system other{other_cfg};
  auto took = hello_takes(other, node->port(), 5s);
  auto rss_after = rss_mib(pid());
  BOOST_TEST_MESSAGE("node RSS " << rss_before << " MiB before, " << rss_after << " MiB after");
  BOOST_TEST(dropped, "the node kept the connection of a peer that announced 4 GB");
  BOOST_TEST(rss_after < rss_before + 100, "RSS grew from " << rss_before << " to "
                                                            << rss_after << " MiB");
  BOOST_REQUIRE_MESSAGE(took.has_value(), "another client was not served within 5 s");
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(*took).count() < 2000);
  BOOST_TEST(log().find("announces 4294967295 payload bytes") != std::string::npos, log());
}

BOOST_AUTO_TEST_CASE(the_open_files_limit_is_raised_to_the_hard_limit_at_start) {
  rlimit own{};
  ::getrlimit(RLIMIT_NOFILE, &own);
  if (own.rlim_max != RLIM_INFINITY && own.rlim_max <= 1024) {
    BOOST_TEST_MESSAGE("skipped: the hard open-files limit here is " << own.rlim_max);
    return;
  }
  start(with_open_files_limit(1024, /*soft_only=*/true));
  auto [soft, hard] = open_files_limits(pid());
  BOOST_TEST(soft == hard, "the node runs with soft " << soft << ", hard " << hard);
  BOOST_TEST(log().find("raised its open-files limit from 1024 to " + hard) != std::string::npos,
             log());
}

BOOST_AUTO_TEST_CASE(a_thousand_idle_connections_neither_lock_out_a_client_nor_spin_a_core) {
  if (!allow_own_descriptors(4096)) {
    BOOST_TEST_MESSAGE("skipped: this process cannot have 1,100 connections open");
    return;
  }
  // The default limit of Linux processes, soft and hard: raising it does not help here.
  cfg["node"]["listen"]["handshake_timeout_ms"] = 30000;
  start(with_open_files_limit(1024));
  std::vector<raw_connection> idle;
  for (int i = 0; i < 1100; ++i)
    idle.emplace_back(node->port());
  auto connected = std::count_if(idle.begin(), idle.end(),
                                 [](const raw_connection& c) { return c.connected(); });
  BOOST_TEST_MESSAGE(connected << " idle connections made");
  // Idle connections use no CPU of a healthy node. The window starts a second after the
  // last connect: evicting ~800 connections and the middleman's side of ~300 relays is work
  // the node does once, while a node that cannot accept spins for as long as they stay.
  std::this_thread::sleep_for(1s);
  auto cpu_before = process_cpu_seconds(pid());
  std::this_thread::sleep_for(2s);
  auto cpu_used = process_cpu_seconds(pid()) - cpu_before;
  BOOST_TEST_MESSAGE("the node used " << cpu_used << " s of CPU in 2 s");
  auto took = hello_takes(system, node->port(), 10s);
  BOOST_TEST(cpu_used < 0.5, "the node used " << cpu_used << " s of CPU in 2 s");
  BOOST_REQUIRE_MESSAGE(took.has_value(), "a client was not served; node log:\n"
                                            << tail_of(log_path));
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(*took).count() < 5000);
  // The node kept only what its limit allows; the rest were closed, and it said so.
  auto still_open = std::count_if(idle.begin(), idle.end(), [](raw_connection& c) {
    return c.connected() && !c.closed_by_peer_now();
  });
  BOOST_TEST_MESSAGE(still_open << " idle connections still open");
  BOOST_TEST(still_open < 400);
  auto text = log();
  BOOST_TEST(text.find("to make room") != std::string::npos, text);
  BOOST_TEST(text.find("keeps at most") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(connections_that_send_nothing_are_closed_at_the_handshake_timeout) {
  cfg["node"]["listen"]["handshake_timeout_ms"] = 1000;
  start();
  auto opened = steady::now();
  std::vector<raw_connection> silent;
  for (int i = 0; i < 5; ++i)
    silent.emplace_back(node->port());
  // A real client completes its handshake and keeps its connection past the timeout.
  auto gateway = connect_gateway(system, node->port(), 10s);
  BOOST_REQUIRE(gateway);
  for (auto& connection : silent) {
    BOOST_REQUIRE(connection.connected());
    BOOST_TEST(connection.closed_by_peer_before(opened + 4s));
  }
  auto closed_after = steady::now() - opened;
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(closed_after).count() >= 900);
  caf::scoped_actor self{system};
  bool answered = false;
  self->request(*gateway, 5s, hello_atom::value, protocol_version)
    .receive([&](uint32_t, std::string&) { answered = true; }, [](caf::error&) {});
  BOOST_TEST(answered, "the client that completed its handshake lost its connection");
  BOOST_TEST(log().find("no handshake within 1000 ms") != std::string::npos, log());
}

BOOST_AUTO_TEST_SUITE_END()
