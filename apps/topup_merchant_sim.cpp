// topup-merchant-sim: a merchant's endpoint for topup's result callbacks, for tests and
// rehearsals. It checks each callback's signature with the merchant's secret, records every
// delivery in an SQLite ledger, and can be told to fail, hang or answer wrongly for a while;
// `report` reads a ledger back (deliveries, distinct, duplicates, bad signatures, gaps).

#include "api/merchant_api.hpp"
#include "apps/app_support.hpp"
#include "apps/merchant_sim/receipt_ledger.hpp"
#include "apps/merchant_sim/receipts.hpp"
#include "apps/provider_sim/sim_config.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <list>
#include <mutex>
#include <set>
#include <thread>

namespace {

using namespace topup;
using namespace topup::merchant_sim;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

const char* const description =
  R"(topup-merchant-sim: a merchant's endpoint for topup's result callbacks.

Serving (the default command): every POST to any path but /control is a callback. Its
signature (X-Topup-Merchant, X-Topup-Timestamp, X-Topup-Signature) is checked with the
merchant's secret, and it is recorded in the ledger (delivery id, order id, status, received
at, signature ok, how it was answered) before the answer goes out:
  ack    200 and the acknowledgement (--ack, "success")
  fail   500
  hang   no answer: the connection is held until the period ends (the node times out)
  wrong  200 with a body other than the acknowledgement (a failed attempt for the node)
A callback whose signature does not verify is answered 401.
  GET  /health                           200 while it runs
  GET  /report                           the ledger's report as JSON (see `report`)
  POST /control {"mode":"fail","for_s":30}   answer so for 30 s (0 or absent: until told
                                         otherwise), then acknowledge again
On start it prints one line, "listening on HOST:PORT", to stdout. SIGINT or SIGTERM stop it.

  topup-merchant-sim --merchant demo-shop --secret demo-secret --ledger cb.db \
                     --listen 127.0.0.1:8580 --fail-for 60
  topup-merchant-sim report --ledger cb.db [--expect ORDER_IDS_FILE]

`report` prints {"deliveries","distinct","duplicates","bad_signatures","acknowledged",
"orders","final_orders","missing_orders"}: duplicates are deliveries of a delivery id seen
before (allowed: delivery is at least once); missing_orders are the orders of --expect (one
id a line) of which no final (succeeded or failed) notification arrived.

Exit codes: 0 stopped by a signal / a report without bad signatures or missing orders, 1 could
not run / a report with bad signatures or missing orders, 2 bad arguments.)";

std::atomic<bool> stopping{false};

extern "C" void on_stop_signal(int) { stopping = true; }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct serve_options {
  std::string listen = "127.0.0.1:8580";
  std::string merchant;
  std::string secret;
  std::string secret_file;
  std::string ledger_path;
  std::string ack = "success";
  int64_t fail_for_s = 0, hang_for_s = 0, wrong_for_s = 0;
  int64_t window_s = 300;
};

/// The endpoint: one thread per connection (keep-alive), the ledger shared between them.
class endpoint {
public:
  endpoint(const serve_options& options, merchant_directory merchants)
    : options_(options), merchants_(std::move(merchants)), ledger_(options.ledger_path) {
    auto start = now_ms();
    if (options.fail_for_s > 0)
      plan_.set(answer_mode::fail, start, options.fail_for_s * 1000);
    else if (options.hang_for_s > 0)
      plan_.set(answer_mode::hang, start, options.hang_for_s * 1000);
    else if (options.wrong_for_s > 0)
      plan_.set(answer_mode::wrong, start, options.wrong_for_s * 1000);
  }

  void serve(tcp::acceptor& acceptor) {
    acceptor.non_blocking(true);
    while (!stopping) {
      tcp::socket socket{acceptor.get_executor()};
      beast::error_code error;
      acceptor.accept(socket, error);
      if (error) {
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
        continue;
      }
      std::lock_guard<std::mutex> guard{mutex_};
      open_.insert(socket.native_handle());
      threads_.emplace_back([this, s = std::move(socket)]() mutable { converse(std::move(s)); });
    }
    {
      // Wakes the connection threads blocked in a read.
      std::lock_guard<std::mutex> guard{mutex_};
      for (auto handle : open_)
        ::shutdown(handle, SHUT_RDWR);
    }
    for (auto& t : threads_)
      t.join();
  }

private:
  using response = http::response<http::string_body>;

  void converse(tcp::socket socket) {
    beast::flat_buffer buffer;
    beast::error_code error;
    while (!stopping) {
      http::request<http::string_body> request;
      http::read(socket, buffer, request, error);
      if (error)
        break;
      auto answer = handle(request);
      if (!answer)
        break;  // held unanswered: the connection closes
      answer->keep_alive(request.keep_alive());
      answer->prepare_payload();
      http::write(socket, *answer, error);
      if (error || !request.keep_alive())
        break;
    }
    std::lock_guard<std::mutex> guard{mutex_};
    open_.erase(socket.native_handle());
  }

  static response text(http::status status, std::string body,
                       std::string type = "text/plain") {
    response r{status, 11};
    r.set(http::field::content_type, type);
    r.body() = std::move(body);
    return r;
  }

  std::optional<response> handle(const http::request<http::string_body>& request) {
    auto target = std::string{request.target()};
    if (request.method() == http::verb::get && target == "/health")
      return text(http::status::ok, "ok\n");
    if (request.method() == http::verb::get && target == "/report")
      return text(http::status::ok, to_json(report_of(ledger_.all(), {})).dump() + "\n",
                  "application/json");
    if (request.method() == http::verb::post && target == "/control")
      return control(request.body());
    if (request.method() != http::verb::post)
      return text(http::status::method_not_allowed, "callbacks are POSTed\n");
    return callback(request, target);
  }

  response control(const std::string& body) {
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    std::optional<answer_mode> mode;
    if (parsed.is_object() && parsed.contains("mode") && parsed["mode"].is_string())
      mode = answer_mode_from(parsed["mode"].get<std::string>());
    auto for_s = parsed.is_object() ? parsed.value("for_s", int64_t{0}) : 0;
    if (!mode || for_s < 0)
      return text(http::status::bad_request,
                  "expected {\"mode\":\"ack|fail|hang|wrong\",\"for_s\":N}\n");
    std::lock_guard<std::mutex> guard{mutex_};
    plan_.set(*mode, now_ms(), for_s * 1000);
    spdlog::info("merchant-sim answers {} {}", to_string(*mode),
                 for_s > 0 ? "for " + std::to_string(for_s) + " s" : "until told otherwise");
    return text(http::status::ok,
                nlohmann::json{{"mode", to_string(*mode)}, {"until_ms", plan_.until_ms()}}.dump()
                  + "\n",
                "application/json");
  }

  std::optional<response> callback(const http::request<http::string_body>& request,
                                   const std::string& target) {
    auto header = [&](std::string_view name) {
      auto found = request.find(beast::string_view{name.data(), name.size()});
      return found == request.end() ? std::string{} : std::string{found->value()};
    };
    auto merchant = header(merchant_api::merchant_header);
    auto timestamp = header(merchant_api::timestamp_header);
    auto signature = header(merchant_api::signature_header);
    auto now = now_ms();
    auto verified = merchant_api::authenticate(
      merchants_, {merchant, timestamp, signature, "POST", target, request.body()}, now / 1000,
      options_.window_s);
    auto got = receipt_of_body(request.body());
    if (got.delivery_id.empty())
      got.delivery_id = header(merchant_api::delivery_header);
    got.received_at_ms = now;
    got.signature_ok = std::holds_alternative<const topup::merchant*>(verified);
    answer_mode mode;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      mode = plan_.mode_at(now);
    }
    got.answered = got.signature_ok ? std::string{to_string(mode)} : "refused";
    ledger_.add(got);
    if (!got.signature_ok) {
      spdlog::warn("merchant-sim: callback {} has a bad signature", got.delivery_id);
      return text(http::status::unauthorized, "bad signature\n");
    }
    spdlog::debug("merchant-sim: callback {} ({}) answered {}", got.delivery_id, got.status,
                  to_string(mode));
    switch (mode) {
      case answer_mode::ack:
        return text(http::status::ok, options_.ack);
      case answer_mode::fail:
        return text(http::status::internal_server_error, "simulated failure\n");
      case answer_mode::wrong:
        return text(http::status::ok, "not the acknowledgement\n");
      case answer_mode::hang:
        break;
    }
    while (!stopping) {
      {
        std::lock_guard<std::mutex> guard{mutex_};
        if (plan_.mode_at(now_ms()) != answer_mode::hang)
          break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    return std::nullopt;
  }

  serve_options options_;
  merchant_directory merchants_;
  receipt_ledger ledger_;
  std::mutex mutex_;  ///< plan_, open_, threads_
  answer_plan plan_;
  std::set<int> open_;
  std::list<std::thread> threads_;
};

int serve(serve_options options) {
  if (!options.secret_file.empty()) {
    std::ifstream in{options.secret_file};
    if (!std::getline(in, options.secret)) {
      spdlog::error("merchant-sim: cannot read the secret from {}", options.secret_file);
      return 2;
    }
  }
  if (options.secret.empty()) {
    spdlog::error("merchant-sim: --secret or --secret-file is required");
    return 2;
  }
  merchant_directory merchants{{{options.merchant, options.secret, "", {}}}, options.merchant};
  auto address = provider_sim::parse_listen_address(options.listen);
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint{asio::ip::make_address(address.host), address.port}};
  endpoint sim{options, std::move(merchants)};
  auto bound = acceptor.local_endpoint();
  spdlog::info("merchant-sim for merchant {}, ledger {}", options.merchant, options.ledger_path);
  std::cout << "listening on " << bound.address().to_string() << ":" << bound.port()
            << std::endl;
  sim.serve(acceptor);
  spdlog::info("merchant-sim stops");
  return 0;
}

int report(const std::string& ledger_path, const std::string& expect_path) {
  std::set<std::string> expected;
  if (!expect_path.empty()) {
    std::ifstream in{expect_path};
    if (!in) {
      spdlog::error("merchant-sim: cannot read {}", expect_path);
      return 2;
    }
    for (std::string line; std::getline(in, line);)
      if (!line.empty())
        expected.insert(line);
  }
  receipt_ledger ledger{ledger_path};
  auto summary = report_of(ledger.all(), expected);
  std::cout << to_json(summary).dump() << std::endl;
  return summary.bad_signatures == 0 && summary.missing_orders.empty() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{description, "topup-merchant-sim"};
  serve_options options;
  std::string log_level = "info";
  app.add_option("--listen", options.listen, "HOST:PORT to listen on (port 0: any free port)")
    ->capture_default_str();
  app.add_option("--merchant", options.merchant, "The merchant id the callbacks are for");
  app.add_option("--secret", options.secret, "The merchant's secret (signatures)");
  app.add_option("--secret-file", options.secret_file, "A file whose first line is the secret")
    ->check(CLI::ExistingFile);
  app.add_option("--ledger", options.ledger_path, "SQLite file recording every callback");
  app.add_option("--ack", options.ack, "The acknowledgement body (the node's callback_ack)")
    ->capture_default_str();
  app.add_option("--fail-for", options.fail_for_s, "Answer 500 for the first S seconds")
    ->check(CLI::NonNegativeNumber);
  app.add_option("--hang-for", options.hang_for_s, "Answer nothing for the first S seconds")
    ->check(CLI::NonNegativeNumber);
  app.add_option("--wrong-for", options.wrong_for_s,
                 "Answer 200 with a wrong body for the first S seconds")
    ->check(CLI::NonNegativeNumber);
  app.add_option("--window-s", options.window_s,
                 "How far a callback's timestamp may be from this clock")
    ->capture_default_str();
  app.add_option("--log-level", log_level, "How much to log on stderr")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
    ->capture_default_str();
  std::string report_ledger, expect_path;
  auto report_command =
    app.add_subcommand("report", "Print the report of a ledger (see above) as one JSON line");
  report_command->add_option("--ledger", report_ledger, "The ledger file")
    ->required()
    ->check(CLI::ExistingFile);
  report_command->add_option("--expect", expect_path,
                             "A file of order ids (one a line) that each should have had a "
                             "final notification");
  CLI11_PARSE(app, argc, argv);

  log_to_stderr("topup-merchant-sim", log_level);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    if (report_command->parsed())
      return report(report_ledger, expect_path);
    if (options.merchant.empty() || options.ledger_path.empty()) {
      std::cerr << "topup-merchant-sim: --merchant and --ledger are required to serve (--help)\n";
      return 2;
    }
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    return serve(options);
  } catch (const std::exception& error) {
    spdlog::error("merchant-sim cannot run: {}", error.what());
    return 1;
  }
}
