#define BOOST_TEST_MODULE http_provider_tests
#include <boost/test/unit_test.hpp>

#include "providers/http_provider.hpp"
#include "providers/http_wire.hpp"
#include "tests/callback_receiver.hpp"
#include "tests/test_certificates.hpp"
#include "tests/test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

const std::string secret = "test-secret";

std::string_view as_std(beast::string_view text) {
  return {text.data(), text.size()};
}

/// How the scripted provider answers every request from now on.
enum class script {
  success,              ///< recharge success / query recharged
  failed_retryable,
  failed_permanent,
  wrong_carrier,        ///< failed with "code":"wrong_carrier"
  server_error,         ///< 500
  garbage,              ///< 200 with a body that is not the protocol's
  reset_after_request,  ///< reads the whole request, then resets the connection
  never_answer,         ///< reads the request and keeps the connection open, silent
  close_when_idle,      ///< answers success (keep-alive), then closes the connection
};

/// A provider on 127.0.0.1:<ephemeral> with its own thread, answering as scripted. It checks
/// signatures (401 when wrong) and counts connections and requests per request id.
class scripted_server {
public:
  explicit scripted_server(milliseconds answer_delay = 0ms)
    : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), answer_delay_(answer_delay) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~scripted_server() {
    io_.stop();
    thread_.join();
    silent_.clear();
  }

  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

  void play(script s) { script_ = s; }
  size_t connections() const { return connections_; }
  size_t bad_signatures() const { return bad_signatures_; }

  int requests_for(const std::string& request_id) const {
    std::lock_guard<std::mutex> guard{mutex_};
    auto found = requests_.find(request_id);
    return found == requests_.end() ? 0 : found->second;
  }

private:
  struct session {
    explicit session(tcp::socket s) : socket(std::move(s)), delay(socket.get_executor()) {}
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
    asio::steady_timer delay;
  };
  using session_ptr = std::shared_ptr<session>;

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec)
        return;
      connections_++;
      read(std::make_shared<session>(std::move(socket)));
      accept();
    });
  }

  void read(const session_ptr& s) {
    s->request = {};
    http::async_read(s->socket, s->buffer, s->request,
                     [this, s](const boost::system::error_code& ec, size_t) {
                       if (!ec)
                         answer(s);
                     });
  }

  /// The request id of a request, counted; empty for a body outside the protocol.
  std::string count(const http::request<http::string_body>& request) {
    std::string id;
    try {
      if (as_std(request.target()) == http_wire::recharge_path)
        id = http_wire::parse_recharge_request(request.body()).request_id;
      else
        id = http_wire::parse_query_request(request.body()).request_id;
    } catch (const http_wire::wire_error&) {
    }
    std::lock_guard<std::mutex> guard{mutex_};
    requests_[id]++;
    return id;
  }

  bool signed_correctly(const http::request<http::string_body>& request) const {
    auto timestamp = as_std(request[std::string{http_wire::timestamp_header}]);
    auto signature = as_std(request[std::string{http_wire::signature_header}]);
    return http_wire::timestamp_fresh(timestamp, system_clock{}.wall_ms())
           && http_wire::verify(secret, timestamp, request.body(), signature);
  }

  void answer(const session_ptr& s) {
    auto id = count(s->request);
    bool recharge = as_std(s->request.target()) == http_wire::recharge_path;
    auto& response = s->response;
    response = {http::status::ok, 11};
    response.set(http::field::content_type, "application/json");
    response.keep_alive(true);
    script now = script_;
    if (!signed_correctly(s->request)) {
      bad_signatures_++;
      response.result(http::status::unauthorized);
      response.body() = R"({"error":"bad signature"})";
      now = script::success;
    } else {
      switch (now) {
        case script::success:
        case script::close_when_idle:
          response.body() = recharge ? http_wire::recharge_response_body(
                                         {recharge_outcome::success, "txn-" + id, ""})
                                     : http_wire::query_response_body(
                                         {query_outcome::recharged, "txn-" + id, ""});
          break;
        case script::failed_retryable:
          response.body() = http_wire::recharge_response_body(
            {recharge_outcome::transient_failure, "", "provider busy"});
          break;
        case script::failed_permanent:
          response.body() = http_wire::recharge_response_body(
            {recharge_outcome::permanent_failure, "", "number cannot be recharged"});
          break;
        case script::wrong_carrier:
          response.body() = http_wire::recharge_response_body(
            {recharge_outcome::wrong_carrier, "", "ported to cucc"});
          break;
        case script::server_error:
          response.result(http::status::internal_server_error);
          response.body() = "internal error";
          break;
        case script::garbage:
          response.body() = "<html>surprise</html>";
          break;
        case script::reset_after_request: {
          boost::system::error_code ignored;
          s->socket.set_option(asio::socket_base::linger(true, 0), ignored);
          s->socket.close(ignored);
          return;
        }
        case script::never_answer:
          silent_.push_back(s);
          return;
      }
    }
    response.prepare_payload();
    s->delay.expires_after(answer_delay_);
    s->delay.async_wait([this, s, now](const boost::system::error_code&) {
      http::async_write(s->socket, s->response,
                        [this, s, now](const boost::system::error_code& ec, size_t) {
                          if (ec)
                            return;
                          if (now == script::close_when_idle) {
                            boost::system::error_code ignored;
                            s->socket.shutdown(tcp::socket::shutdown_both, ignored);
                            s->socket.close(ignored);
                            return;
                          }
                          read(s);
                        });
    });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  milliseconds answer_delay_;
  std::atomic<script> script_{script::success};
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> bad_signatures_{0};
  mutable std::mutex mutex_;
  std::map<std::string, int> requests_;
  std::vector<session_ptr> silent_;  ///< never answered; closed when the server stops
  std::thread thread_;
};

/// A port on 127.0.0.1 where nothing listens (it was bound a moment ago, then released).
std::string closed_port_url() {
  asio::io_context io;
  tcp::acceptor probe{io, {asio::ip::make_address("127.0.0.1"), 0}};
  auto port = probe.local_endpoint().port();
  probe.close();
  return "http://127.0.0.1:" + std::to_string(port);
}

/// A listening socket that never accepts, with its accept queue filled so that a further
/// connect stays unanswered (Linux drops SYNs to a full queue). Empty url when the kernel
/// keeps completing connections all the same.
class full_listener {
public:
  full_listener() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0
        || ::listen(listener_, 0) != 0
        || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
      return;
    for (int i = 0; i < 16; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      fillers_.push_back(fd);
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), size);
      pollfd ready{fd, POLLOUT, 0};
      if (::poll(&ready, 1, 200) == 0) {
        url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
        return;
      }
    }
  }

  ~full_listener() {
    for (int fd : fillers_)
      ::close(fd);
    if (listener_ >= 0)
      ::close(listener_);
  }

  std::string url;

private:
  int listener_ = -1;
  std::vector<int> fillers_;
};

using recharge_result = std::variant<recharge_reply, caf::error>;

struct adapter_fixture : actor_fixture {
  std::shared_ptr<const topup::clock> time = std::make_shared<system_clock>();
  std::vector<provider_actor> adapters;

  ~adapter_fixture() {
    for (auto& adapter : adapters)
      caf::anon_send_exit(adapter, caf::exit_reason::user_shutdown);
  }

  provider_actor spawn(const std::string& url, size_t pool_size = 4,
                       milliseconds timeout = 1000ms, milliseconds connect_timeout = 500ms,
                       const std::string& key = secret) {
    http_adapter_config cfg{url, key, connect_timeout.count(), pool_size};
    adapters.push_back(spawn_http_provider(system, "p-http", cfg, timeout, time));
    return adapters.back();
  }

  static recharge_call call_for(const std::string& request_id) {
    return {request_id, "order-" + request_id, "13800138000", 1000};
  }

  /// Waits past the adapter's own budget, so what comes back is the adapter's answer.
  recharge_result recharge(const provider_actor& adapter, const std::string& request_id,
                           milliseconds timeout = 1000ms) {
    recharge_result result;
    self->request(adapter, timeout + 2s, recharge_atom::value, call_for(request_id))
      .receive([&](recharge_reply& reply) { result = std::move(reply); },
               [&](caf::error& error) { result = std::move(error); });
    return result;
  }

  query_reply query(const provider_actor& adapter, const std::string& request_id) {
    query_reply result;
    self->request(adapter, 3s, query_atom::value, status_query{request_id})
      .receive([&](query_reply& reply) { result = std::move(reply); },
               [&](caf::error& error) {
                 BOOST_FAIL("a query is always answered, got " << describe(error));
               });
    return result;
  }
};

/// The reply, failing the test with what came instead.
recharge_reply reply_of(const recharge_result& result) {
  if (auto error = std::get_if<caf::error>(&result))
    BOOST_FAIL("expected a recharge reply, got " << describe(*error));
  return std::get<recharge_reply>(result);
}

/// The reason of the unknown-outcome error, failing the test on a reply.
std::string unknown_reason(const recharge_result& result) {
  if (auto reply = std::get_if<recharge_reply>(&result))
    BOOST_FAIL("expected the unknown outcome, got a reply: " << reply->detail);
  auto failure = as_failure(std::get<caf::error>(result));
  BOOST_REQUIRE(failure.has_value());
  BOOST_CHECK(failure->code == errc::outcome_unknown);
  return failure->reason;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(answers, adapter_fixture)

BOOST_AUTO_TEST_CASE(success_is_the_parsed_reply_and_every_request_is_signed) {
  scripted_server server;
  auto adapter = spawn(server.base_url());
  auto reply = reply_of(recharge(adapter, "r-ok"));
  BOOST_CHECK(reply.outcome == recharge_outcome::success);
  BOOST_CHECK_EQUAL(reply.provider_txn, "txn-r-ok");
  BOOST_CHECK_EQUAL(server.requests_for("r-ok"), 1);
  BOOST_CHECK_EQUAL(server.bad_signatures(), 0u);
}

BOOST_AUTO_TEST_CASE(failed_answers_keep_their_retryability) {
  scripted_server server;
  auto adapter = spawn(server.base_url());
  server.play(script::failed_retryable);
  auto retryable = reply_of(recharge(adapter, "r-busy"));
  BOOST_CHECK(retryable.outcome == recharge_outcome::transient_failure);
  BOOST_CHECK_EQUAL(retryable.detail, "provider busy");
  server.play(script::failed_permanent);
  auto permanent = reply_of(recharge(adapter, "r-never"));
  BOOST_CHECK(permanent.outcome == recharge_outcome::permanent_failure);
  BOOST_CHECK_EQUAL(permanent.detail, "number cannot be recharged");
  server.play(script::wrong_carrier);
  auto ported = reply_of(recharge(adapter, "r-ported"));
  BOOST_CHECK(ported.outcome == recharge_outcome::wrong_carrier);
  BOOST_CHECK_EQUAL(ported.detail, "ported to cucc");
}

BOOST_AUTO_TEST_CASE(a_wrong_secret_is_a_failure_naming_the_signature) {
  scripted_server server;
  auto adapter = spawn(server.base_url(), 4, 1000ms, 500ms, "not-the-secret");
  auto reply = reply_of(recharge(adapter, "r-forged"));
  BOOST_CHECK(reply.outcome == recharge_outcome::transient_failure);
  BOOST_CHECK_MESSAGE(contains(reply.detail, "rejected the signature (401)"), reply.detail);
  BOOST_CHECK_EQUAL(server.bad_signatures(), 1u);
}

BOOST_AUTO_TEST_CASE(server_errors_and_garbage_are_unknown_outcomes) {
  scripted_server server;
  auto adapter = spawn(server.base_url());
  server.play(script::server_error);
  BOOST_CHECK(contains(unknown_reason(recharge(adapter, "r-500")), "answered 500"));
  server.play(script::garbage);
  BOOST_CHECK(contains(unknown_reason(recharge(adapter, "r-garbage")), "outside the protocol"));
  BOOST_CHECK_EQUAL(server.requests_for("r-500"), 1);
  BOOST_CHECK_EQUAL(server.requests_for("r-garbage"), 1);
}

BOOST_AUTO_TEST_CASE(a_reset_after_the_request_is_unknown_and_never_resent) {
  scripted_server server;
  auto adapter = spawn(server.base_url());
  // Warm the pool first: the reset then hits a reused keep-alive connection, the case where
  // a resend would be tempting.
  reply_of(recharge(adapter, "r-warm"));
  server.play(script::reset_after_request);
  auto reason = unknown_reason(recharge(adapter, "r-reset"));
  BOOST_CHECK_MESSAGE(contains(reason, "the request was sent"), reason);
  std::this_thread::sleep_for(100ms);
  BOOST_CHECK_EQUAL(server.requests_for("r-reset"), 1);
}

BOOST_AUTO_TEST_CASE(silence_until_the_budget_ends_is_unknown) {
  scripted_server server;
  auto adapter = spawn(server.base_url(), 4, 300ms);
  server.play(script::never_answer);
  auto started = std::chrono::steady_clock::now();
  auto reason = unknown_reason(recharge(adapter, "r-silent", 300ms));
  auto waited = std::chrono::steady_clock::now() - started;
  BOOST_CHECK_MESSAGE(contains(reason, "no answer from"), reason);
  // The adapter gave the call its whole budget, then answered by itself.
  BOOST_CHECK(waited >= http_call_budget(300ms));
  BOOST_CHECK(waited < 2s);
  BOOST_CHECK_EQUAL(server.requests_for("r-silent"), 1);
}

BOOST_AUTO_TEST_CASE(a_call_that_never_got_a_connection_is_a_failure) {
  scripted_server server;
  auto adapter = spawn(server.base_url(), 1, 300ms);
  server.play(script::never_answer);
  // One connection, held by a silent call: the second waits for it until its budget ends.
  auto first = self->request(adapter, 5s, recharge_atom::value, call_for("r-holds"));
  auto second = recharge(adapter, "r-waits", 300ms);
  auto reply = reply_of(second);
  BOOST_CHECK(reply.outcome == recharge_outcome::transient_failure);
  BOOST_CHECK_MESSAGE(contains(reply.detail, "stayed busy"), reply.detail);
  first.receive([](recharge_reply&) { BOOST_FAIL("a silent provider cannot answer"); },
                [](caf::error& error) { BOOST_CHECK(as_failure(error).has_value()); });
  BOOST_CHECK_EQUAL(server.requests_for("r-waits"), 0);
}

BOOST_AUTO_TEST_CASE(a_refused_connection_is_a_failure_naming_the_url) {
  auto url = closed_port_url();
  auto adapter = spawn(url);
  auto reply = reply_of(recharge(adapter, "r-refused"));
  BOOST_CHECK(reply.outcome == recharge_outcome::transient_failure);
  BOOST_CHECK_MESSAGE(contains(reply.detail, "connection refused by " + url), reply.detail);
}

BOOST_AUTO_TEST_CASE(a_connect_timeout_is_a_failure) {
  full_listener listener;
  if (listener.url.empty()) {
    BOOST_TEST_MESSAGE("skipped: the kernel completed every connect to a full accept queue");
    return;
  }
  auto adapter = spawn(listener.url, 4, 2000ms, 200ms);
  auto started = std::chrono::steady_clock::now();
  auto reply = reply_of(recharge(adapter, "r-slow-connect", 2000ms));
  auto waited = std::chrono::steady_clock::now() - started;
  BOOST_CHECK(reply.outcome == recharge_outcome::transient_failure);
  BOOST_CHECK_MESSAGE(contains(reply.detail, "timed out after 200 ms"), reply.detail);
  BOOST_CHECK(waited < 1500ms);
}

BOOST_AUTO_TEST_CASE(queries_answer_or_fail_but_never_error) {
  scripted_server server;
  auto adapter = spawn(server.base_url());
  auto recharged = query(adapter, "r-q");
  BOOST_CHECK(recharged.outcome == query_outcome::recharged);
  BOOST_CHECK_EQUAL(recharged.provider_txn, "txn-r-q");
  server.play(script::server_error);
  auto failed = query(adapter, "r-q500");
  BOOST_CHECK(failed.outcome == query_outcome::query_failed);
  BOOST_CHECK_MESSAGE(contains(failed.detail, "500"), failed.detail);
  server.play(script::garbage);
  BOOST_CHECK(query(adapter, "r-qgarbage").outcome == query_outcome::query_failed);
  auto unreachable = spawn(closed_port_url());
  auto refused = query(unreachable, "r-qrefused");
  BOOST_CHECK(refused.outcome == query_outcome::query_failed);
  BOOST_CHECK_MESSAGE(contains(refused.detail, "connection refused"), refused.detail);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(connections, adapter_fixture)

BOOST_AUTO_TEST_CASE(sequential_calls_share_one_keep_alive_connection) {
  scripted_server server;
  auto adapter = spawn(server.base_url());
  for (int i = 0; i < 20; ++i) {
    auto reply = reply_of(recharge(adapter, "r-seq-" + std::to_string(i)));
    BOOST_REQUIRE(reply.outcome == recharge_outcome::success);
  }
  BOOST_CHECK_EQUAL(server.connections(), 1u);
}

BOOST_AUTO_TEST_CASE(a_connection_the_provider_closed_while_idle_is_not_used) {
  scripted_server server;
  server.play(script::close_when_idle);
  auto adapter = spawn(server.base_url());
  for (int i = 0; i < 3; ++i) {
    auto reply = reply_of(recharge(adapter, "r-idle-" + std::to_string(i)));
    BOOST_CHECK(reply.outcome == recharge_outcome::success);
    std::this_thread::sleep_for(50ms);  // the close reaches the client while it is idle
  }
  BOOST_CHECK_EQUAL(server.connections(), 3u);
}

BOOST_AUTO_TEST_CASE(concurrent_calls_beyond_the_pool_wait_their_turn) {
  scripted_server server{10ms};
  auto adapter = spawn(server.base_url(), 4, 5000ms);
  using handle = decltype(self->request(adapter, 1s, recharge_atom::value, recharge_call{}));
  std::vector<handle> calls;
  for (int i = 0; i < 64; ++i)
    calls.push_back(
      self->request(adapter, 10s, recharge_atom::value, call_for("r-pool-" + std::to_string(i))));
  size_t succeeded = 0;
  for (auto& call : calls)
    call.receive(
      [&](recharge_reply& reply) {
        if (reply.outcome == recharge_outcome::success)
          succeeded++;
      },
      [&](caf::error& error) { BOOST_ERROR("pooled call failed: " << describe(error)); });
  BOOST_CHECK_EQUAL(succeeded, 64u);
  BOOST_CHECK_LE(server.connections(), 4u);
  BOOST_CHECK_GE(server.connections(), 2u);  // the calls did overlap
  for (int i = 0; i < 64; ++i)
    BOOST_CHECK_EQUAL(server.requests_for("r-pool-" + std::to_string(i)), 1);
}

// The last check of a cluster's fence: a call kept waiting for a connection until the lease
// it was made under lapsed is not written at all (stale_owner), nor is a status query; the
// connection serves the next call.
BOOST_AUTO_TEST_CASE(a_call_whose_lease_lapsed_before_it_could_be_written_is_not_sent) {
  scripted_server server{300ms};
  auto adapter = spawn(server.base_url(), 1, 2000ms);
  auto busy = self->request(adapter, 5s, recharge_atom::value, call_for("r-busy"));
  std::this_thread::sleep_for(50ms);  // r-busy holds the only connection for 300 ms
  auto late = call_for("r-late");
  late.origin = {"node-1", 7, std::chrono::steady_clock::now() + 100ms};
  recharge_result result;
  self->request(adapter, 5s, recharge_atom::value, late)
    .receive([&](recharge_reply& reply) { result = std::move(reply); },
             [&](caf::error& error) { result = std::move(error); });
  busy.receive([](recharge_reply&) {}, [](caf::error& error) { BOOST_ERROR(describe(error)); });
  auto error = std::get_if<caf::error>(&result);
  BOOST_REQUIRE_MESSAGE(error, "a call past its lease's validity was answered");
  auto failure = as_failure(*error);
  BOOST_CHECK_MESSAGE((failure && failure->code == errc::stale_owner), describe(*error));
  BOOST_CHECK_EQUAL(server.requests_for("r-late"), 0);

  caf::error query_error;
  self->request(adapter, 5s, query_atom::value,
                status_query{"r-busy", {"node-1", 7, std::chrono::steady_clock::now()}})
    .receive([](query_reply&) {}, [&](caf::error& e) { query_error = std::move(e); });
  failure = as_failure(query_error);
  BOOST_CHECK_MESSAGE((failure && failure->code == errc::stale_owner), describe(query_error));

  auto in_time = call_for("r-in-time");
  in_time.origin = {"node-1", 7, std::chrono::steady_clock::now() + 5s};
  self->request(adapter, 5s, recharge_atom::value, in_time)
    .receive([](recharge_reply& reply) { BOOST_CHECK(reply.outcome == recharge_outcome::success); },
             [](caf::error& e) { BOOST_ERROR(describe(e)); });
  BOOST_CHECK_EQUAL(server.requests_for("r-in-time"), 1);
  BOOST_CHECK_EQUAL(server.requests_for("r-busy"), 1);  // the refused query never went out
  BOOST_CHECK_EQUAL(server.connections(), 1u);
}

BOOST_AUTO_TEST_CASE(a_base_url_that_is_not_http_or_https_is_refused_at_spawn) {
  http_adapter_config cfg{"ftp://provider.example", secret, 500, 4};
  BOOST_CHECK_THROW(spawn_http_provider(system, "p-ftp", cfg, 1000ms, time),
                    std::invalid_argument);
  // An https provider whose CA file holds no certificate cannot be trusted at all.
  temp_dir dir;
  std::ofstream{dir.file("empty.pem")} << "no certificate\n";
  cfg = {"https://provider.example", secret, 500, 4, dir.file("empty.pem")};
  BOOST_CHECK_THROW(spawn_http_provider(system, "p-tls", cfg, 1000ms, time),
                    std::invalid_argument);
}

// An https base URL: the provider's certificate (for 127.0.0.1, from a CA made here) is
// checked against the adapter's ca_file; one of a CA it does not trust is a failure naming
// the certificate, and nothing reaches the provider.
BOOST_AUTO_TEST_CASE(an_https_provider_is_called_over_tls_with_its_certificate_checked) {
  temp_dir dir;
  make_ca(dir, "provider");
  make_ca(dir, "other");
  make_certificate(dir, "provider", "server");
  callback_receiver provider{always(200, R"({"result":"success","txn":"txn-tls"})"),
                             tls_identity{dir.file("provider-server.pem"),
                                          dir.file("provider-server.key")}};
  auto url = "https://127.0.0.1:" + std::to_string(provider.port());
  auto trusted = adapters.emplace_back(spawn_http_provider(
    system, "p-tls", {url, secret, 500, 4, dir.file("provider-ca.pem")}, 1000ms, time));
  auto reply = reply_of(recharge(trusted, "r-tls"));
  BOOST_CHECK(reply.outcome == recharge_outcome::success);
  BOOST_CHECK_EQUAL(reply.provider_txn, "txn-tls");
  BOOST_REQUIRE_EQUAL(provider.received().size(), 1u);
  BOOST_CHECK_EQUAL(provider.received().front().target, std::string{http_wire::recharge_path});

  auto distrusting = adapters.emplace_back(spawn_http_provider(
    system, "p-tls-other", {url, secret, 500, 4, dir.file("other-ca.pem")}, 1000ms, time));
  auto refused = reply_of(recharge(distrusting, "r-untrusted"));
  BOOST_CHECK(refused.outcome == recharge_outcome::transient_failure);
  BOOST_CHECK_MESSAGE(contains(refused.detail, "certificate is refused"), refused.detail);
  BOOST_CHECK_EQUAL(provider.received().size(), 1u);
  BOOST_CHECK_GE(provider.failed_handshakes(1), 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(the_budget_ends_a_little_before_the_callers_timeout) {
  BOOST_CHECK(http_call_budget(2000ms) == 1950ms);
  BOOST_CHECK(http_call_budget(300ms) == 270ms);
  BOOST_CHECK(http_call_budget(10ms) == 9ms);
}
