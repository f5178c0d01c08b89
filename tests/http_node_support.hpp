#pragma once

// For the tests of a node's HTTP listener: a node whose configuration has an HTTP API on a
// free port, a synchronous HTTP/1.1 client (Boost.Beast, one keep-alive connection to
// 127.0.0.1), the headers that sign a merchant's request, and the samples of a scrape of
// GET /metrics.

#include "api/merchant_api.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace topup::testing {

struct http_reply {
  unsigned status = 0;
  nlohmann::json body;  ///< the body parsed as JSON (discarded when it is not JSON)
  std::string text;     ///< the body as sent
  std::string content_type;
  std::string retry_after;
  bool closed = false;  ///< the connection was closed instead of answered
};

struct merchant_key {
  std::string id;
  std::string secret;
};

/// X-Topup-Merchant, X-Topup-Timestamp (now, moved by `skew_s`) and X-Topup-Signature.
inline std::map<std::string, std::string> signed_headers(const merchant_key& who,
                                                         const std::string& method,
                                                         const std::string& target,
                                                         const std::string& body,
                                                         int64_t skew_s = 0) {
  auto timestamp = std::to_string(static_cast<int64_t>(std::time(nullptr)) + skew_s);
  return {{std::string{merchant_api::merchant_header}, who.id},
          {std::string{merchant_api::timestamp_header}, timestamp},
          {std::string{merchant_api::signature_header},
           merchant_api::sign(who.secret, timestamp, method, target, body)}};
}

class http_client {
public:
  explicit http_client(uint16_t port) : stream_(io_) {
    stream_.connect(boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"),
                                                   port});
  }

  /// One request and its answer (within 10 s); `content_type` goes with a body or a POST.
  http_reply call(boost::beast::http::verb method, const std::string& target,
                  const std::string& body = {},
                  const std::map<std::string, std::string>& headers = {},
                  const std::string& content_type = "application/json") {
    namespace http = boost::beast::http;
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.keep_alive(true);
    if (!body.empty() || method == http::verb::post)
      request.set(http::field::content_type, content_type);
    for (const auto& [name, value] : headers)
      request.set(name, value);
    request.body() = body;
    request.prepare_payload();
    stream_.expires_after(std::chrono::seconds(10));
    http_reply reply;
    boost::beast::error_code error;
    http::write(stream_, request, error);
    http::response<http::string_body> response;
    if (!error)
      http::read(stream_, buffer_, response, error);
    if (error) {
      reply.closed = true;
      return reply;
    }
    reply.status = response.result_int();
    reply.text = response.body();
    reply.body = nlohmann::json::parse(reply.text, nullptr, false);
    reply.content_type = std::string{response[http::field::content_type]};
    reply.retry_after = std::string{response[http::field::retry_after]};
    return reply;
  }

private:
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
};

/// The samples of a scrape: "name{labels}" (as written) to value.
inline std::map<std::string, double> samples_of(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines{text};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    auto space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

/// The sum of every sample of `name` whose labels contain all of `label_parts` (e.g.
/// `outcome="succeeded"`); 0 when there is none.
inline double sum_of(const std::map<std::string, double>& samples, const std::string& name,
              const std::vector<std::string>& label_parts = {}) {
  double sum = 0;
  for (const auto& [key, value] : samples) {
    auto brace = key.find('{');
    if (key.substr(0, brace) != name)
      continue;
    bool all = true;
    for (const auto& part : label_parts)
      all = all && key.find(part) != std::string::npos;
    if (all)
      sum += value;
  }
  return sum;
}

/// A topup-node (test_node_config in a temporary directory) with the HTTP API on 127.0.0.1 at
/// `api_port`; the test adjusts `cfg`, then calls start().
struct http_node_fixture {
  temp_dir dir;
  nlohmann::json cfg = test_node_config(dir.path());
  std::string config_path = dir.file("node.json");
  std::string log_path = dir.file("node.log");
  uint16_t api_port = free_port();
  std::optional<node_process> node;

  http_node_fixture() {
    cfg["http_api"] = {{"listen", {{"host", "127.0.0.1"}, {"port", api_port}}}};
  }

  /// One merchant, the default, whose requests `who` signs; results go to `callback_url`
  /// when given.
  void single_merchant(const merchant_key& who, const std::string& callback_url = {}) {
    nlohmann::json entry = {{"id", who.id}, {"secret", who.secret}};
    if (!callback_url.empty())
      entry["callback_url"] = callback_url;
    cfg["merchants"] = {{"default", who.id}, {"list", {entry}}};
  }

  /// Every cmcc order waits for a provider (cancellable): both providers of cmcc allow one
  /// call a minute, taken at once; admission off and deadlines of a minute, so nothing
  /// refuses, re-sends or expires them meanwhile.
  void hold_cmcc_orders() {
    for (auto name : {"p-cmcc", "p-agg"}) {
      provider_entry(cfg, name)["rate"] = 0.02;
      provider_entry(cfg, name)["burst"] = 1;
    }
    cfg["admission"] = {{"enabled", false}};
    cfg["deadline"]["limit_ms"] = 60000;
    cfg["deadline"]["resend_at_ms"] = {50000, 55000};
  }

  /// Writes the configuration and starts `binary` on it.
  /// Starts the node and, unless `until_ready` is false, waits (at most 30 s) until
  /// /v1/ready answers 200: before that the API refuses orders as "unavailable" while the
  /// node hands on the store's unfinished orders, even when there are none.
  void start(const std::string& binary, bool until_ready = true) {
    write_json(config_path, cfg);
    node.emplace(binary, config_path, log_path);
    if (!until_ready)
      return;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    for (;;) {
      try {
        if (http_client{api_port}.call(boost::beast::http::verb::get, "/v1/ready").status == 200u)
          return;
      } catch (const std::exception&) {
        // not listening yet
      }
      if (std::chrono::steady_clock::now() > give_up)
        throw std::runtime_error("the node's /v1/ready did not answer 200 within 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }
};

} // namespace topup::testing
