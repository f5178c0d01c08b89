#define BOOST_TEST_MODULE tls_tests
#include <boost/test/unit_test.hpp>

// A real topup-node publishing through CAF's OpenSSL module, and the real topup-cli
// connecting to it, with certificates made at test time by the openssl command line: a CA,
// a server and a client certificate it signed, and a client certificate of another CA.

#include "tests/process_support.hpp"
#include "tests/test_certificates.hpp"
#include "tests/test_support.hpp"

using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

constexpr int handshake_timeout_ms = 2000;

struct tls_fixture {
  temp_dir dir;
  std::unique_ptr<node_process> node;

  tls_fixture() {
    make_ca(dir, "good");
    make_ca(dir, "rogue");
    make_certificate(dir, "good", "server");
    make_certificate(dir, "good", "client");
    make_certificate(dir, "rogue", "client");
    auto cfg = test_node_config(dir.path());
    cfg["node"]["tls"] = {{"certificate", dir.file("good-server.pem")},
                          {"key", dir.file("good-server.key")},
                          {"ca_file", dir.file("good-ca.pem")}};
    // Short, so that the tests see what happens to connections once it has passed.
    cfg["node"]["listen"]["handshake_timeout_ms"] = handshake_timeout_ms;
    write_json(dir.file("node.json"), cfg);
    node = std::make_unique<node_process>(TOPUP_NODE, dir.file("node.json"), dir.file("node.log"));
  }

  /// Runs topup-cli `stats` with `tls_args`; its exit code (nothing if it hung).
  std::optional<int> cli_stats(const std::vector<std::string>& tls_args) {
    std::vector<std::string> args{TOPUP_CLI, "--node", "127.0.0.1:" + std::to_string(node->port()),
                                  "--timeout", "5s", "--json"};
    args.insert(args.end(), tls_args.begin(), tls_args.end());
    args.push_back("stats");
    child_process cli{args, dir.file("cli.log")};
    line_reader output{cli.stdout_fd()};
    output.read_to_end(std::chrono::steady_clock::now() + 30s);
    if (!cli.wait_for_exit(std::chrono::steady_clock::now() + 30s))
      return std::nullopt;
    last_output = output.lines();
    return cli.exit_code();
  }

  std::vector<std::string> tls_as(const std::string& ca_name) {
    return {"--tls", "--ca", dir.file("good-ca.pem"), "--cert", dir.file(ca_name + "-client.pem"),
            "--key", dir.file(ca_name + "-client.key")};
  }

  std::vector<std::string> last_output;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(mutual_tls, tls_fixture)

BOOST_AUTO_TEST_CASE(a_client_with_a_certificate_of_the_nodes_ca_is_served) {
  auto code = cli_stats(tls_as("good"));
  BOOST_TEST((code == 0), tail_of(dir.file("cli.log")));
  BOOST_REQUIRE(!last_output.empty());
  BOOST_TEST(last_output.front().find("\"node\"") != std::string::npos, last_output.front());
}

BOOST_AUTO_TEST_CASE(a_client_certificate_of_another_ca_is_refused) {
  auto code = cli_stats(tls_as("rogue"));
  BOOST_TEST((code == 3), "exit " << (code ? std::to_string(*code) : "none") << "; "
                                  << tail_of(dir.file("cli.log")));
  // The node keeps serving valid clients after refusing one.
  BOOST_TEST((cli_stats(tls_as("good")) == 0));
}

BOOST_AUTO_TEST_CASE(a_plain_client_is_refused_by_a_tls_node) {
  auto code = cli_stats({});
  BOOST_TEST((code == 3), "exit " << (code ? std::to_string(*code) : "none") << "; "
                                  << tail_of(dir.file("cli.log")));
}

BOOST_AUTO_TEST_CASE(an_authenticated_client_keeps_its_connection_past_the_handshake_timeout) {
  // The port sees only TLS records: the handshake counts as complete with the client's
  // first application-data record, which a peer the node does not accept never sends.
  std::vector<std::string> args{TOPUP_CLI, "--node", "127.0.0.1:" + std::to_string(node->port())};
  auto tls = tls_as("good");
  args.insert(args.end(), tls.begin(), tls.end());
  args.push_back("watch");
  child_process watcher{args, dir.file("watch.log")};
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2 * handshake_timeout_ms + 1000);
  bool ended = watcher.wait_for_exit(until);
  BOOST_TEST(!ended, "topup-cli watch " << watcher.ended() << "; " << tail_of(dir.file("watch.log")));
}

BOOST_AUTO_TEST_CASE(a_connection_that_does_not_finish_the_tls_handshake_is_closed) {
  auto opened = std::chrono::steady_clock::now();
  raw_connection silent{node->port()};
  raw_connection stalled{node->port()};
  BOOST_REQUIRE(silent.connected());
  BOOST_REQUIRE(stalled.connected());
  // The start of a TLS record, and then nothing.
  BOOST_REQUIRE(stalled.send_all({22, 3, 1, 0, 200, 1, 0}));
  auto limit = opened + std::chrono::milliseconds(handshake_timeout_ms + 3000);
  BOOST_TEST(silent.closed_by_peer_before(limit));
  BOOST_TEST(stalled.closed_by_peer_before(limit));
  // Bytes that are no TLS record at all are refused at once.
  raw_connection garbage{node->port()};
  BOOST_REQUIRE(garbage.send_all({'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'}));
  BOOST_TEST(garbage.closed_by_peer_before(std::chrono::steady_clock::now() + 1s));
}

BOOST_AUTO_TEST_CASE(tls_without_a_client_certificate_is_a_clear_argument_error) {
  auto code = cli_stats({"--tls", "--ca", dir.file("good-ca.pem")});
  BOOST_TEST((code == 2), tail_of(dir.file("cli.log")));
}

BOOST_AUTO_TEST_SUITE_END()
