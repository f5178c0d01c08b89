#define BOOST_TEST_MODULE service_tests
#include <boost/test/unit_test.hpp>

// topup-node as a systemd service (Type=notify): what it sends on the socket named by
// NOTIFY_SOCKET, which here is a datagram socket the test binds. READY once the store is open
// and the recovery has run, WATCHDOG pings when WATCHDOG_USEC asks for them, STOPPING at
// SIGTERM.

#include "tests/backlog_support.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// The service manager's end: a unix datagram socket bound at `path`.
class notify_socket {
public:
  explicit notify_socket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    BOOST_REQUIRE(path.size() < sizeof(address.sun_path));
    std::copy(path.begin(), path.end(), address.sun_path);
    BOOST_REQUIRE_MESSAGE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0,
                          errno_text(("bind " + path).c_str()));
  }
  ~notify_socket() {
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;

  /// The next datagram, or nothing by `deadline`.
  std::optional<std::string> next(steady::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (left.count() <= 0)
        return std::nullopt;
      pollfd wanted{fd_, POLLIN, 0};
      if (::poll(&wanted, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char buffer[4096];
      auto got = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (got > 0)
        return std::string(buffer, static_cast<size_t>(got));
    }
  }

  /// Datagrams until one holds `line` (kept in `seen`); false when none did by `deadline`.
  bool wait_for(const std::string& line, steady::time_point deadline,
                std::vector<std::string>& seen) {
    while (auto message = next(deadline)) {
      seen.push_back(*message);
      std::istringstream lines{*message};
      for (std::string each; std::getline(lines, each);)
        if (each == line)
          return true;
    }
    return false;
  }

private:
  std::string path_;
  int fd_ = -1;
};

/// Sets an environment variable for the children started while it lives.
class scoped_env {
public:
  scoped_env(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~scoped_env() { ::unsetenv(name_); }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

private:
  const char* name_;
};

std::string joined(const std::vector<std::string>& messages) {
  std::string all;
  for (const auto& m : messages)
    all += "[" + m + "] ";
  return all;
}

struct service_fixture {
  temp_dir dir;
  std::string socket_path = dir.file("notify.sock");
  notify_socket manager{socket_path};
  std::vector<std::string> seen;

  std::optional<node_process> node;

  /// Starts the node with NOTIFY_SOCKET (and WATCHDOG_USEC when given) in its environment.
  void start(std::optional<std::string> watchdog_usec) {
    write_json(dir.file("node.json"), test_node_config(dir.path()));
    scoped_env notify{"NOTIFY_SOCKET", socket_path};
    ::unsetenv("WATCHDOG_PID");
    std::optional<scoped_env> watchdog;
    if (watchdog_usec)
      watchdog.emplace("WATCHDOG_USEC", *watchdog_usec);
    node.emplace(TOPUP_NODE, dir.file("node.json"), dir.file("node.log"));
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(notify, service_fixture)

BOOST_AUTO_TEST_CASE(ready_after_the_store_and_the_recovery_then_stopping_at_sigterm) {
  // A backlog of unfinished orders, so that the start-up recovery takes a moment.
  store_backlog(dir.file("orders.db"), 20000);
  start(std::nullopt);
  BOOST_REQUIRE_MESSAGE(manager.wait_for("READY=1", steady::now() + 20s, seen),
                        "no READY=1: " << joined(seen) << tail_of(node->log_path()));
  // The router had recovered the backlog before READY was sent.
  BOOST_TEST(read_file(node->log_path()).find("router recovered 20000 waiting orders")
               != std::string::npos,
             tail_of(node->log_path()));
  // No watchdog was asked for: no pings.
  BOOST_TEST(!manager.wait_for("WATCHDOG=1", steady::now() + 1s, seen), joined(seen));
  ::kill(node->process().pid(), SIGTERM);
  BOOST_TEST(manager.wait_for("STOPPING=1", steady::now() + 10s, seen),
             "no STOPPING=1: " << joined(seen));
  BOOST_TEST((node->terminate(10s) == std::optional<int>{0}));
}

BOOST_AUTO_TEST_CASE(watchdog_pings_while_the_node_serves) {
  start(std::string{"400000"});  // WatchdogSec=0.4s: a ping every 200 ms
  BOOST_REQUIRE_MESSAGE(manager.wait_for("READY=1", steady::now() + 20s, seen),
                        "no READY=1: " << joined(seen) << tail_of(node->log_path()));
  for (int ping = 0; ping < 3; ++ping)
    BOOST_REQUIRE_MESSAGE(manager.wait_for("WATCHDOG=1", steady::now() + 5s, seen),
                          "ping " << ping << " missing: " << joined(seen));
  BOOST_TEST((node->terminate(10s) == std::optional<int>{0}));
}

BOOST_AUTO_TEST_CASE(without_notify_socket_the_node_runs_as_before) {
  write_json(dir.file("node.json"), test_node_config(dir.path()));
  node.emplace(TOPUP_NODE, dir.file("node.json"), dir.file("node.log"));
  BOOST_TEST(!manager.next(steady::now() + 1s).has_value());
  BOOST_TEST((node->terminate(10s) == std::optional<int>{0}));
}

BOOST_AUTO_TEST_SUITE_END()
