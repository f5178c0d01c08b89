#ifdef TOPUP_STORE_OUTAGE_POSTGRESQL
#define BOOST_TEST_MODULE store_outage_tests_postgresql
#else
#define BOOST_TEST_MODULE store_outage_tests
#endif
#include <boost/test/unit_test.hpp>

// A real topup-node under load while its store cannot write: a full disk (a small tmpfs,
// mounted when the test runs as root) or a stopped PostgreSQL server (the tests' throwaway
// one, stopped for six seconds). The node must not flood its log or burn a core while it
// waits, must back off instead of retrying at once, must give clients one clean line in
// `unavailable`, and must lose no accepted order once the store is back.

#include "messages/errors.hpp"
#include "tests/backend_fixture.hpp"
#include "tests/order_polling.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

uintmax_t file_size(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

size_t line_count(const std::string& path) {
  std::ifstream in{path};
  size_t lines = 0;
  std::string line;
  while (std::getline(in, line))
    ++lines;
  return lines;
}

/// A node, a client of it, and what the client saw while submitting.
struct outage_fixture {
  temp_dir dir;
  nlohmann::json cfg = test_node_config(dir.path());
  std::string log_path = dir.file("node.log");
  std::optional<node_process> node;
  client_config client_cfg;
  caf::actor_system system{client_cfg};
  caf::scoped_actor self{system};
  gateway_actor gateway;
  uint64_t submitted = 0;
  std::vector<std::string> accepted;        ///< ids
  std::vector<std::string> error_texts;     ///< every error a submit got, described
  std::vector<std::string> phones;          ///< every number submitted

  void start() {
    write_json(dir.file("node.json"), cfg);
    node.emplace(TOPUP_NODE, dir.file("node.json"), log_path);
    auto connected = connect_gateway(system, node->port());
    BOOST_REQUIRE_MESSAGE(connected, error_text(connected));
    gateway = *connected;
  }

  caf::expected<order> submit() {
    auto n = submitted++;
    auto request = valid_request("r-" + std::to_string(n), 1000 + n);
    phones.push_back(request.phone);
    caf::expected<order> result{caf::make_error(caf::sec::request_timeout)};
    self->request(gateway, 10s, submit_atom::value, request)
      .receive([&](order& o) { result = std::move(o); },
               [&](caf::error& e) { result = std::move(e); });
    if (result)
      accepted.push_back(result->id);
    else
      error_texts.push_back(describe(result.error()));
    return result;
  }

  /// Submits one order every `every` for `how_long`.
  void submit_for(steady::duration how_long, std::chrono::milliseconds every) {
    auto until = steady::now() + how_long;
    while (steady::now() < until) {
      submit();
      std::this_thread::sleep_for(every);
    }
  }

  caf::expected<order> get(const std::string& id) {
    caf::expected<order> result{caf::make_error(caf::sec::request_timeout)};
    self->request(gateway, 10s, caf::get_atom::value, id)
      .receive([&](order& o) { result = std::move(o); },
               [&](caf::error& e) { result = std::move(e); });
    return result;
  }

  /// Every error a client saw is one line, without any number that was submitted.
  void check_error_texts() {
    size_t multi_line = 0;
    size_t quoting = 0;
    std::string example;
    for (const auto& text : error_texts) {
      bool bad_lines = text.find('\n') != std::string::npos;
      bool quotes = std::any_of(phones.begin(), phones.end(), [&](const std::string& phone) {
        return text.find(phone) != std::string::npos;
      });
      multi_line += bad_lines ? 1 : 0;
      quoting += quotes ? 1 : 0;
      if ((bad_lines || quotes) && example.empty())
        example = text;
    }
    BOOST_TEST(multi_line == 0u, multi_line << " errors span several lines, e.g.: " << example);
    BOOST_TEST(quoting == 0u, quoting << " errors quote a submitted number, e.g.: " << example);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(store_outages, outage_fixture)

#ifndef TOPUP_STORE_OUTAGE_POSTGRESQL

/// A tmpfs of `size` mounted on `path` for the test's lifetime (root only).
class small_filesystem {
public:
  small_filesystem(const std::string& path, const std::string& size) : path_(path) {
    std::filesystem::create_directories(path);
    mounted_ = ::geteuid() == 0
               && ::mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~small_filesystem() {
    if (mounted_)
      ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

private:
  std::string path_;
  bool mounted_ = false;
};

/// Writes zeros into `path` until the filesystem is full.
void fill(const std::string& path) {
  std::FILE* out = std::fopen(path.c_str(), "wb");
  BOOST_REQUIRE(out);
  std::vector<char> block(64 * 1024, 0);
  while (std::fwrite(block.data(), 1, block.size(), out) == block.size()) {
  }
  // The last partial block, byte by byte.
  while (std::fputc(0, out) != EOF && std::fflush(out) == 0) {
  }
  std::fclose(out);
}

BOOST_AUTO_TEST_CASE(a_full_disk_neither_floods_the_log_nor_burns_a_core) {
  small_filesystem disk{dir.file("small"), "3m"};
  if (!disk.mounted()) {
    BOOST_TEST_MESSAGE("skipped: mounting a tmpfs needs root (CI runs as root)");
    return;
  }
  cfg["store"]["sqlite"]["path"] = dir.file("small/orders.db");
  // Calls that take a while, so that outcomes arrive while the disk is full.
  cfg["deadline"] = {{"limit_ms", 60000}, {"resend_at_ms", {50000, 55000}}, {"query_interval_ms", 500}};
  for (auto& provider : cfg["providers"]) {
    provider["timeout_ms"] = 5000;
    provider["adapter"]["latency"] = {{"distribution", "fixed"}, {"fixed_ms", 800}};
  }
  start();
  for (int i = 0; i < 40; ++i)
    BOOST_REQUIRE(submit());
  auto before_outage = accepted;
  fill(dir.file("small/filler"));
  auto log_before = file_size(log_path);
  auto lines_before = line_count(log_path);
  auto cpu_before = process_cpu_seconds(node->process().pid());
  auto started = steady::now();
  submit_for(5s, 5ms);
  auto seconds = std::chrono::duration<double>(steady::now() - started).count();
  auto log_growth = file_size(log_path) - log_before;
  auto lines = line_count(log_path) - lines_before;
  auto cpu_used = process_cpu_seconds(node->process().pid()) - cpu_before;
  BOOST_TEST_MESSAGE("disk full for " << seconds << " s: " << error_texts.size() << " of "
                     << submitted << " submits refused, the log grew " << log_growth
                     << " bytes (" << lines << " lines), the node used " << cpu_used
                     << " s of CPU; the log ends:\n" << tail_of(log_path, 2000));
  BOOST_TEST_REQUIRE(!error_texts.empty(), "no write failed: the disk did not fill up");
  BOOST_TEST(error_texts.front().find("unavailable") != std::string::npos, error_texts.front());
  BOOST_TEST(log_growth < 20000u, "the log grew " << log_growth << " bytes in " << seconds
                                                  << " s; it ends:\n" << tail_of(log_path));
  BOOST_TEST(cpu_used < 0.5 * seconds, "the node used " << cpu_used << " s of CPU in "
                                                         << seconds << " s");
  check_error_texts();
  // Room again: the node writes again without a restart, and the orders it had accepted
  // (whose outcomes arrived while the disk was full) all end.
  std::filesystem::remove(dir.file("small/filler"));
  auto recovered = false;
  for (auto until = steady::now() + 15s; !recovered && steady::now() < until;
       std::this_thread::sleep_for(100ms))
    recovered = static_cast<bool>(submit());
  BOOST_TEST(recovered, "the node did not accept orders again; its log ends:\n"
                          << tail_of(log_path));
  auto final_states = wait_until_final(before_outage, 60s,
                                       [&](const std::string& id) { return get(id); });
  for (const auto& [id, o] : final_states)
    BOOST_TEST((o.status == order_status::succeeded), id << " is " << to_string(o.status));
}

#else

/// The tests' PostgreSQL server (tests/CMakeLists.txt starts it), stopped and started again.
void postgres_server(const std::string& command) {
  std::string script = std::string{std::getenv("TOPUP_SOURCE_DIR")} + "/scripts/postgres-test-server";
  std::string line = script + " " + command + " " + TOPUP_TEST_POSTGRES_DIR;
  if (command == "resume")
    line += " " + std::string{TOPUP_TEST_POSTGRES_PORT};
  BOOST_TEST_REQUIRE(std::system((line + " >/dev/null 2>&1").c_str()) == 0, line);
}

BOOST_AUTO_TEST_CASE(a_stopped_postgresql_is_waited_for_with_backoff_and_quiet_logs) {
  auto database = std::getenv("TOPUP_TEST_POSTGRES");
  BOOST_TEST_REQUIRE(database != nullptr);
  // A cluster of one: its provider leases expire during the outage, so the state changes
  // it writes under them are refused when the server is back.
  cfg["node"]["listen"]["port"] = free_port();
  cfg["store"] = {{"backend", "postgresql"}, {"postgresql", {{"connection", database}}}};
  cfg["cluster"] = {{"heartbeat_interval_ms", 500}, {"down_after_ms", 3000},
                    {"lease_ttl_ms", 3000}};
  cfg["deadline"] = {{"limit_ms", 60000}, {"resend_at_ms", {50000, 55000}}, {"query_interval_ms", 500}};
  for (auto& provider : cfg["providers"]) {
    provider["timeout_ms"] = 5000;
    provider["adapter"]["latency"] = {{"distribution", "fixed"}, {"fixed_ms", 300}};
  }
  empty_postgresql_store();  // a fresh schema for this node
  start();
  submit_for(3s, 5ms);
  auto before_outage = accepted;
  BOOST_TEST_REQUIRE(!before_outage.empty());
  auto lines_before = line_count(log_path);
  auto bytes_before = file_size(log_path);
  auto cpu_before = process_cpu_seconds(node->process().pid());
  auto started = steady::now();
  postgres_server("halt");
  submit_for(6s, 5ms);
  postgres_server("resume");
  submit_for(5s, 5ms);
  auto seconds = std::chrono::duration<double>(steady::now() - started).count();
  auto lines = line_count(log_path) - lines_before;
  auto bytes = file_size(log_path) - bytes_before;
  auto cpu_used = process_cpu_seconds(node->process().pid()) - cpu_before;
  BOOST_TEST_MESSAGE("PostgreSQL stopped for 6 s under load: " << error_texts.size() << " of "
                     << submitted << " submits refused; " << lines << " log lines, " << bytes
                     << " bytes and " << cpu_used << " s of CPU in the " << seconds
                     << " s from the stop; the log ends:\n" << tail_of(log_path, 3000));
  BOOST_TEST_REQUIRE(!error_texts.empty(), "no submit failed while the server was stopped");
  BOOST_TEST(lines < 300u, lines << " log lines; the log ends:\n" << tail_of(log_path));
  BOOST_TEST(bytes < 60000u);
  BOOST_TEST(cpu_used < 0.5 * seconds, "the node used " << cpu_used << " s of CPU in "
                                                         << seconds << " s");
  check_error_texts();
  // Nothing accepted is lost: every order accepted before the outage ends.
  auto final_states = wait_until_final(before_outage, 90s,
                                       [&](const std::string& id) { return get(id); });
  for (const auto& [id, o] : final_states)
    BOOST_TEST((o.status == order_status::succeeded), id << " is " << to_string(o.status));
}

#endif

BOOST_AUTO_TEST_SUITE_END()
