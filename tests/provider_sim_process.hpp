#pragma once

// A real topup-provider-sim process for tests, and GET requests to it: the providers'
// ground truth (GET /ledger) for tests that run the engine against it over HTTP. A test
// that includes it defines TOPUP_PROVIDER_SIM, the path of the program.

#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace topup::testing {

/// The secret a node and a simulator share for `provider` in tests.
inline std::string secret_of(const std::string& provider) {
  return provider + "-secret";
}

/// A provider of a simulator's configuration: 2 ms answers, `outcomes` drawn per call.
inline nlohmann::json sim_provider(const std::string& name, const nlohmann::json& outcomes,
                                   double unknown_success_probability = 0.5) {
  return {{"name", name},
          {"secret", secret_of(name)},
          {"model",
           {{"latency", {{"distribution", "fixed"}, {"fixed_ms", 2}}},
            {"outcomes", outcomes},
            {"unknown_success_probability", unknown_success_probability},
            {"seed", 7}}}};
}

/// GET `target` of the simulator on 127.0.0.1:`port`: its body. Fails the test unless a 200
/// arrives within 5 s.
inline std::string sim_get_text(uint16_t port, const std::string& target) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  asio::io_context io;
  beast::tcp_stream stream{io};
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "127.0.0.1");
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code failure;
  stream.expires_after(std::chrono::seconds(5));  // bounds every step below
  stream.async_connect({asio::ip::make_address("127.0.0.1"), port}, [&](beast::error_code ec) {
    if (ec) {
      failure = ec;
      return;
    }
    http::async_write(stream, request, [&](beast::error_code write_ec, size_t) {
      if (write_ec) {
        failure = write_ec;
        return;
      }
      http::async_read(stream, buffer, response,
                       [&](beast::error_code read_ec, size_t) { failure = read_ec; });
    });
  });
  io.run();
  BOOST_REQUIRE_MESSAGE(!failure, "GET " << target << " on port " << port << ": "
                                         << failure.message());
  BOOST_REQUIRE_MESSAGE(response.result_int() == 200u,
                        "GET " << target << " answered " << response.result_int() << ": "
                               << response.body());
  return response.body();
}

/// GET `target` of the simulator: its JSON body.
inline nlohmann::json sim_get(uint16_t port, const std::string& target) {
  return nlohmann::json::parse(sim_get_text(port, target));
}

/// A running topup-provider-sim playing `providers`, its configuration, ledger and log in
/// `dir` under `tag`. Started on any free port, or on `port` to come back where a node
/// expects it; it announces "listening on HOST:PORT" like topup-node, hence node_process.
class provider_sim_process {
public:
  provider_sim_process(const temp_dir& dir, const std::string& tag, const nlohmann::json& providers,
                       uint16_t port = 0)
    : config_path_(dir.file(tag + ".json")), ledger_path_(dir.file(tag + "-ledger.db")),
      log_path_(dir.file(tag + ".log")) {
    write_json(config_path_, {{"providers", providers}});
    start(port);
  }

  uint16_t port() const { return port_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& ledger_path() const { return ledger_path_; }

  /// The base_url of `provider` at this simulator.
  std::string base_url(const std::string& provider) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + provider;
  }

  /// SIGKILL: every connection to it is refused until restart().
  void kill() { process_->kill(); }

  /// A new process on the same port and ledger file.
  void restart() { start(port_); }

  /// GET /ledger?detail=1.
  nlohmann::json ledger() const { return sim_get(port_, "/ledger?detail=1"); }

  /// GET /statement of `provider` (all its recharges): the CSV a provider supplies.
  std::string statement(const std::string& provider) const {
    return sim_get_text(port_, "/statement?provider=" + provider);
  }

private:
  void start(uint16_t port) {
    process_.reset();
    process_.emplace(TOPUP_PROVIDER_SIM, config_path_, log_path_,
                     std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port),
                                              "--ledger", ledger_path_});
    port_ = process_->port();
  }

  std::string config_path_;
  std::string ledger_path_;
  std::string log_path_;
  std::optional<node_process> process_;
  uint16_t port_ = 0;
};

} // namespace topup::testing
