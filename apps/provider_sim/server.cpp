#include "apps/provider_sim/server.hpp"

#include "providers/http_wire.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <optional>

namespace topup::provider_sim {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

std::string header_value(const http::request<http::string_body>& request,
                         std::string_view name) {
  auto value = request[boost::beast::string_view{name.data(), name.size()}];
  return std::string{value.data(), value.size()};
}

/// One client connection: reads a request, carries out the simulator's action, and reads the
/// next one once the answer is written (HTTP/1.1 answers in order, so one at a time).
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, server& owner)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), owner_(owner) {}

  void start() { read(); }

private:
  void read() {
    parser_.emplace();
    parser_->body_limit(max_request_body);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code error, size_t) {
                       self->on_read(error);
                     });
  }

  void on_read(error_code error) {
    if (error) {
      // The client closed, sent something that is not HTTP, or a body over the limit.
      close();
      return;
    }
    auto& request = parser_->get();
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    auto method = request.method_string();
    auto target = request.target();
    action_ = owner_.sim().handle({std::string{method.data(), method.size()},
                                   std::string{target.data(), target.size()},
                                   header_value(request, http_wire::timestamp_header),
                                   header_value(request, http_wire::signature_header),
                                   std::move(request.body())});
    if (owner_.sim().has_unwritten())
      owner_.schedule_commit();
    switch (action_.what) {
      case sim_action::kind::reset:
        reset();
        return;
      case sim_action::kind::hold:
        hold();
        return;
      case sim_action::kind::summary:
        answer_summary();
        return;
      case sim_action::kind::statement:
        answer_statement();
        return;
      case sim_action::kind::answer:
        break;
    }
    if (action_.delay <= nanoseconds{0}) {
      // Behind the commit scheduled above, so that a zero latency still groups recharges.
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->answer(); });
      return;
    }
    timer_.expires_after(action_.delay);
    timer_.async_wait([self = shared_from_this()](error_code timer_error) {
      if (!timer_error)
        self->answer();
    });
  }

  void answer() {
    // The body may report a recharge still waiting for its commit: write it first.
    if (action_.source != sim_action::body_source::fixed)
      owner_.commit_unwritten();
    write(action_.status, owner_.sim().render(action_));
  }

  void answer_summary() {
    try {
      owner_.commit_unwritten();
      auto counts = owner_.book().recharges_per_order();
      write(200, owner_.sim().summary(counts, action_.detail).dump());
    } catch (const std::exception& error) {
      spdlog::error("provider-sim cannot read its ledger: {}", error.what());
      write(500, error_body("ledger unavailable"));
    }
  }

  void answer_statement() {
    try {
      owner_.commit_unwritten();
      auto rows = owner_.book().records_of(action_.statement_provider, action_.from_ms,
                                           action_.to_ms);
      write(200, statement_csv(rows), "text/csv; charset=utf-8");
    } catch (const std::exception& error) {
      spdlog::error("provider-sim cannot read its ledger: {}", error.what());
      write(500, error_body("ledger unavailable"));
    }
  }

  void write(unsigned status, std::string body,
             std::string_view content_type = "application/json") {
    response_ = {};
    response_.version(version_);
    response_.result(status);
    response_.set(http::field::content_type,
                  boost::beast::string_view{content_type.data(), content_type.size()});
    response_.keep_alive(keep_alive_);
    response_.body() = std::move(body);
    response_.prepare_payload();
    http::async_write(socket_, response_,
                      [self = shared_from_this()](error_code error, size_t) {
                        self->on_write(error);
                      });
  }

  void on_write(error_code error) {
    if (error || !keep_alive_) {
      close();
      return;
    }
    read();
  }

  /// A provider that is down: the client sees a connection error, not an HTTP status.
  void reset() {
    error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }

  /// An unknown outcome: no answer. The connection stays open until the client gives up
  /// (closes it) or hold_limit passes; whatever else the client sends is ignored.
  void hold() {
    timer_.expires_after(hold_limit);
    timer_.async_wait([self = shared_from_this()](error_code error) {
      if (!error)
        self->close();
    });
    watch_for_close();
  }

  void watch_for_close() {
    socket_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](error_code error, size_t) {
                              if (!error) {
                                self->watch_for_close();
                                return;
                              }
                              self->timer_.cancel();
                              self->close();
                            });
  }

  void close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  server& owner_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  sim_action action_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  std::array<char, 1024> discard_{};
};

tcp::endpoint resolve(asio::io_context& io, const listen_address& address) {
  tcp::resolver resolver{io};
  auto results = resolver.resolve(address.host, std::to_string(address.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service);
  return results.begin()->endpoint();
}

} // namespace

server::server(asio::io_context& io, const listen_address& address, simulator& sim,
               ledger& book)
  : io_(io), acceptor_(io), accept_retry_(io), sim_(sim), book_(book) {
  auto endpoint = resolve(io, address);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void server::start() {
  accept();
}

void server::stop() {
  error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  commit_unwritten();
}

void server::accept() {
  acceptor_.async_accept([this](error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted)
      return;
    if (error) {
      // Out of descriptors, most likely: wait for connections to close instead of spinning.
      spdlog::warn("provider-sim cannot accept a connection: {}", error.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](error_code timer_error) {
        if (!timer_error)
          accept();
      });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<session>(std::move(socket), *this)->start();
    accept();
  });
}

void server::schedule_commit() {
  if (commit_scheduled_)
    return;
  commit_scheduled_ = true;
  asio::post(io_, [this] {
    commit_scheduled_ = false;
    commit_unwritten();
  });
}

void server::commit_unwritten() {
  if (!sim_.has_unwritten())
    return;
  auto rows = sim_.take_unwritten();
  try {
    book_.record(rows);
    commits_.commits++;
    commits_.rows += rows.size();
  } catch (const ledger_error& error) {
    commits_.failures++;
    spdlog::error("provider-sim lost a ledger commit of {} recharges: {}", rows.size(),
                  error.what());
    sim_.unwritten_lost(rows);
  }
}

} // namespace topup::provider_sim
