#include "providers/http_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <mutex>
#include <stdexcept>

namespace topup {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

/// No protocol answer is anywhere near this; a larger one is not an answer of the protocol.
constexpr uint64_t max_response_body = 64 * 1024;

std::string ms_text(milliseconds duration) {
  return std::to_string(duration.count()) + " ms";
}

/// The TLS client context of an https:// destination: the peer must present a certificate
/// that chains to a trusted CA (`ca_file`, else the system's store); the host name is checked
/// per connection (connection::secure_for).
asio::ssl::context tls_context(const std::string& ca_file) {
  asio::ssl::context context{asio::ssl::context::tls_client};
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2
                      | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1
                      | asio::ssl::context::no_tlsv1_1);
  context.set_verify_mode(asio::ssl::verify_peer);
  error_code ec;
  if (ca_file.empty())
    context.set_default_verify_paths(ec);
  else
    context.load_verify_file(ca_file, ec);
  if (ec)
    throw std::invalid_argument(
      (ca_file.empty() ? std::string{"the system's CA store"} : "CA file '" + ca_file + "'")
      + " cannot be loaded: " + ec.message());
  return context;
}

using tls_stream = asio::ssl::stream<beast::tcp_stream&>;

struct connection {
  connection(asio::io_context& io, asio::ssl::context* tls)
    : stream(io), resolver(io), connect_timer(io) {
    if (tls)
      secure.emplace(stream, *tls);
  }

  /// Runs `operation` on the stream HTTP goes over: TLS on top of TCP, or TCP itself.
  template <class Operation>
  void with_stream(Operation operation) {
    if (secure)
      operation(*secure);
    else
      operation(stream);
  }

  beast::tcp_stream stream;
  std::optional<tls_stream> secure;  ///< https:// only; over `stream`, so declared after it
  tcp::resolver resolver;
  asio::steady_timer connect_timer;  ///< resolve + connect, capped by connect_timeout_ms
  beast::flat_buffer buffer;
  bool connecting = false;
  bool connect_timed_out = false;
};

struct exchange {
  exchange(asio::io_context& io, const http_wire::endpoint& where, http_post post)
    : call_id(post.call_id), budget(post.budget), deadline(io_clock::now() + post.budget),
      wait_limit(deadline - post.budget / 4), send_by(post.send_by), queue_timer(io) {
    request.method(http::verb::post);
    request.target(post.target);
    request.version(11);
    request.set(http::field::host, where.host + ":" + where.port);
    request.set(http::field::content_type, "application/json");
    for (auto& [name, value] : post.headers)
      request.set(name, value);
    request.body() = std::move(post.body);
    request.prepare_payload();
  }

  uint64_t call_id;
  milliseconds budget;
  io_clock::time_point deadline;
  /// A call still waiting for a connection here is not sent at all: with under a quarter of
  /// its budget left it would most likely end unanswered, an unknown outcome that costs a
  /// status query, where "not sent" lets it be retried at once.
  io_clock::time_point wait_limit;
  std::optional<io_clock::time_point> send_by;
  http::request<http::string_body> request;
  asio::steady_timer queue_timer;  ///< fires at wait_limit while waiting for a connection
  std::optional<http::response_parser<http::string_body>> parser;
  bool queued = false;
  bool resent = false;  ///< already re-sent once after a stale keep-alive connection
  bool finished = false;
};

using connection_ptr = std::shared_ptr<connection>;
using exchange_ptr = std::shared_ptr<exchange>;

} // namespace

/// Everything the asio thread touches. The thread holds a shared reference, so the core
/// outlives the thread even when the client is destroyed on that very thread. Handlers capture
/// `this` raw: they run only inside io.run(), while the thread holds the core.
class http_client::core {
public:
  core(http_wire::endpoint where, std::string url, milliseconds connect_timeout,
       size_t pool_size, std::function<void()> wake, const std::string& ca_file)
    : where_(std::move(where)), url_(std::move(url)), connect_timeout_(connect_timeout),
      pool_size_(pool_size), wake_(std::move(wake)) {
    if (where_.tls)
      tls_.emplace(tls_context(ca_file));
  }

  asio::io_context io;

  const http_wire::endpoint& where() const { return where_; }

  void run() {
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        // The exchange in that handler stays unanswered: its caller times out (unknown).
        spdlog::error("http client of {} caught an exception and goes on: {}", url_, e.what());
      }
    }
  }

  void start(const exchange_ptr& ex) {
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (still_open(*c)) {
        send(ex, c, true);
        return;
      }
      drop(c, false);
    }
    if (open_ < pool_size_) {
      connect(ex);
      return;
    }
    wait_for_connection(ex);
  }

  /// Closes every pooled connection and forgets waiting calls; on the asio thread, or after
  /// it stopped. Their callers time out, which for a recharge is the unknown outcome.
  void forget_everything() {
    for (auto& c : idle_)
      c->stream.close();
    idle_.clear();
    waiting_.clear();
  }

  std::vector<http_result> take_results() {
    std::vector<http_result> results;
    std::lock_guard<std::mutex> guard{mutex_};
    results.swap(finished_);
    woken_ = false;
    return results;
  }

private:
  void wait_for_connection(const exchange_ptr& ex) {
    ex->queued = true;
    waiting_.push_back(ex);
    ex->queue_timer.expires_at(ex->wait_limit);
    ex->queue_timer.async_wait([this, ex](const error_code&) {
      // A cancel can come too late to stop the handler: `queued` is what counts.
      if (!ex->queued)
        return;
      ex->queued = false;
      waiting_.erase(std::find(waiting_.begin(), waiting_.end(), ex));
      give_up_waiting(ex);
    });
  }

  void give_up_waiting(const exchange_ptr& ex) {
    finish(ex, http_reach::not_sent,
           "all " + std::to_string(pool_size_) + " connections to " + url_
             + " stayed busy for " + ms_text(ex->budget - ex->budget / 4) + " of the call's "
             + ms_text(ex->budget) + ": not sent");
  }

  /// The first waiting call that still has time for an exchange; those that do not are
  /// answered on the way.
  exchange_ptr next_waiter() {
    while (!waiting_.empty()) {
      auto ex = std::move(waiting_.front());
      waiting_.pop_front();
      ex->queued = false;
      ex->queue_timer.cancel();
      if (io_clock::now() < ex->wait_limit)
        return ex;
      give_up_waiting(ex);
    }
    return nullptr;
  }

  /// True when an idle connection can carry a request: the provider has not closed it (no
  /// EOF waiting to be read) and sent nothing unasked. Catches the common stale keep-alive
  /// case before a request is written into a dead connection.
  static bool still_open(connection& c) {
    if (c.buffer.size() != 0 || !c.stream.socket().is_open())
      return false;
    char byte = 0;
    auto got = ::recv(c.stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void connect(const exchange_ptr& ex) {
    ++open_;
    auto c = std::make_shared<connection>(io, tls_ ? &*tls_ : nullptr);
    c->connecting = true;
    c->connect_timer.expires_at(std::min(io_clock::now() + connect_timeout_, ex->deadline));
    c->connect_timer.async_wait([c](const error_code&) {
      if (!c->connecting)
        return;
      c->connect_timed_out = true;
      c->resolver.cancel();
      c->stream.close();
    });
    c->resolver.async_resolve(
      where_.host, where_.port,
      [this, ex, c](const error_code& ec, const tcp::resolver::results_type& endpoints) {
        if (ec || c->connect_timed_out) {
          connect_failed(ex, c, ec, true);
          return;
        }
        c->stream.async_connect(endpoints, [this, ex, c](const error_code& error,
                                                         const tcp::endpoint&) {
          if (error || c->connect_timed_out) {
            connect_failed(ex, c, error, false);
            return;
          }
          c->connecting = false;
          c->connect_timer.cancel();
          if (c->secure)
            handshake(ex, c);
          else
            send(ex, c, false);
        });
      });
  }

  /// TLS over a fresh connection, within the connect timeout (and the call's budget): the
  /// server's name for SNI, the certificate checked against the trusted CAs and the host.
  void handshake(const exchange_ptr& ex, const connection_ptr& c) {
    auto* ssl = c->secure->native_handle();
    auto* checks = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(checks, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    error_code not_address;
    asio::ip::make_address(where_.host, not_address);
    if (not_address) {
      SSL_set_tlsext_host_name(ssl, where_.host.c_str());
      X509_VERIFY_PARAM_set1_host(checks, where_.host.c_str(), 0);
    } else {
      // An IP address is matched against the certificate's IP addresses, and is no SNI name.
      X509_VERIFY_PARAM_set1_ip_asc(checks, where_.host.c_str());
    }
    c->stream.expires_at(std::min(io_clock::now() + connect_timeout_, ex->deadline));
    c->secure->async_handshake(asio::ssl::stream_base::client, [this, ex, c](const error_code& ec) {
      if (!ec) {
        c->stream.expires_never();
        send(ex, c, false);
        return;
      }
      auto verdict = SSL_get_verify_result(c->secure->native_handle());
      std::string reason;
      if (ec == beast::error::timeout)
        reason = "no TLS handshake within " + ms_text(connect_timeout_);
      else if (verdict != X509_V_OK)
        reason = std::string{"its certificate is refused: "}
                 + X509_verify_cert_error_string(verdict);
      else
        reason = "the TLS handshake failed: " + ec.message();
      finish(ex, http_reach::not_sent, url_ + ": " + reason + ": not sent");
      drop(c, true);
    });
  }

  void connect_failed(const exchange_ptr& ex, const connection_ptr& c, const error_code& ec,
                      bool resolving) {
    c->connecting = false;
    c->connect_timer.cancel();
    std::string detail;
    if (c->connect_timed_out && io_clock::now() >= ex->deadline)
      detail = "no connection to " + url_ + " within the call's " + ms_text(ex->budget);
    else if (c->connect_timed_out)
      detail = "connecting to " + url_ + " timed out after " + ms_text(connect_timeout_);
    else if (ec == asio::error::connection_refused)
      detail = "connection refused by " + url_;
    else if (resolving)
      detail = "cannot resolve " + where_.host + " of " + url_ + ": " + ec.message();
    else
      detail = "cannot connect to " + url_ + ": " + ec.message();
    finish(ex, http_reach::not_sent, detail + ": not sent");
    drop(c, true);
  }

  void send(const exchange_ptr& ex, const connection_ptr& c, bool reused) {
    if (ex->send_by && io_clock::now() >= *ex->send_by) {
      // The last moment the call leaves: a node paused since its lane let the call go (or
      // kept waiting for a connection) must not call under a lease that has lapsed.
      finish(ex, http_reach::too_late,
             "the lease it was made under lapsed before the request to " + url_
               + " could be written: not sent");
      give_back(c);
      return;
    }
    c->stream.expires_at(ex->deadline);
    c->with_stream([&](auto& stream) { write(stream, ex, c, reused); });
  }

  template <class Stream>
  void write(Stream& stream, const exchange_ptr& ex, const connection_ptr& c, bool reused) {
    http::async_write(stream, ex->request, [this, ex, c, reused](const error_code& ec,
                                                                 std::size_t) {
      if (!ec) {
        receive(ex, c);
        return;
      }
      // The request did not get out whole, so the provider cannot have acted on it. On a
      // reused connection that is usually a keep-alive the provider closed while idle: try
      // once more on a fresh connection (never after a complete write).
      bool stale = reused && !ex->resent && ec != beast::error::timeout;
      drop(c, !stale);
      if (stale) {
        ex->resent = true;
        connect(ex);
        return;
      }
      auto reason = ec == beast::error::timeout ? "not written within the call's "
                                                    + ms_text(ex->budget)
                                                : ec.message();
      finish(ex, http_reach::not_sent,
             "the request to " + url_ + " could not be written (" + reason + "): not sent");
    });
  }

  void receive(const exchange_ptr& ex, const connection_ptr& c) {
    ex->parser.emplace();
    ex->parser->body_limit(max_response_body);
    c->with_stream([&](auto& stream) { read(stream, ex, c); });
  }

  template <class Stream>
  void read(Stream& stream, const exchange_ptr& ex, const connection_ptr& c) {
    http::async_read(stream, c->buffer, *ex->parser, [this, ex, c](const error_code& ec,
                                                                   std::size_t) {
      if (ec) {
        std::string detail;
        if (ec == beast::error::timeout)
          detail = "no answer from " + url_ + " within the call's " + ms_text(ex->budget);
        else if (ec == http::error::end_of_stream || ec == asio::error::eof
                 || ec == asio::error::connection_reset || ec == http::error::partial_message
                 || ec == asio::ssl::error::stream_truncated)
          detail = url_ + " closed the connection before answering";
        else
          detail = "reading the answer of " + url_ + " failed: " + ec.message();
        finish(ex, http_reach::maybe_sent, detail + " (the request was sent)");
        drop(c, true);
        return;
      }
      auto& response = ex->parser->get();
      bool keep = response.keep_alive();
      http_result result{ex->call_id, http_reach::answered, response.result_int(),
                         std::move(response.body()), {}};
      finish(ex, std::move(result));
      if (keep) {
        c->stream.expires_never();
        give_back(c);
      } else {
        drop(c, true);
      }
    });
  }

  void give_back(const connection_ptr& c) {
    if (auto ex = next_waiter())
      send(ex, c, true);
    else
      idle_.push_back(c);
  }

  /// Closes a connection; its slot goes to the first waiting call unless the caller has a
  /// use for it itself.
  void drop(const connection_ptr& c, bool serve_waiter) {
    c->stream.close();
    --open_;
    if (serve_waiter)
      if (auto ex = next_waiter())
        connect(ex);
  }

  void finish(const exchange_ptr& ex, http_reach reach, std::string detail) {
    finish(ex, http_result{ex->call_id, reach, 0, {}, std::move(detail)});
  }

  void finish(const exchange_ptr& ex, http_result result) {
    if (ex->finished)
      return;
    ex->finished = true;
    bool wake = false;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      finished_.push_back(std::move(result));
      wake = !woken_;
      woken_ = true;
    }
    if (wake)
      wake_();
  }

  const http_wire::endpoint where_;
  const std::string url_;
  const milliseconds connect_timeout_;
  const size_t pool_size_;
  const std::function<void()> wake_;
  std::optional<asio::ssl::context> tls_;  ///< https:// only

  // Asio thread only. Declared after `io`, so destroyed before it.
  std::vector<connection_ptr> idle_;  ///< most recently used last: reused first
  std::deque<exchange_ptr> waiting_;
  size_t open_ = 0;  ///< connections connecting, busy or idle

  std::mutex mutex_;
  std::vector<http_result> finished_;
  bool woken_ = false;  ///< a wake is on its way and finished_ not yet taken
};

void check_tls_trust(const std::string& ca_file) {
  if (!ca_file.empty())
    tls_context(ca_file);
}

http_client::http_client(http_wire::endpoint where, std::string url,
                         milliseconds connect_timeout, size_t pool_size,
                         std::function<void()> wake, const std::string& ca_file)
  : core_(std::make_shared<core>(std::move(where), std::move(url), connect_timeout,
                                 std::max<size_t>(pool_size, 1), std::move(wake), ca_file)) {
  auto work = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
    core_->io.get_executor());
  thread_ = std::thread([held = core_, work] { held->run(); });
}

http_client::~http_client() {
  core_->io.stop();
  // The last reference to the actor may be dropped on the asio thread (by a wake), which
  // then destroys the actor's state and with it this client: that thread cannot join itself.
  if (thread_.get_id() == std::this_thread::get_id())
    thread_.detach();
  else
    thread_.join();
  core_->forget_everything();
}

void http_client::post(http_post request) {
  auto ex = std::make_shared<exchange>(core_->io, core_->where(), std::move(request));
  asio::post(core_->io, [held = core_.get(), ex] { held->start(ex); });
}

std::vector<http_result> http_client::take_results() {
  return core_->take_results();
}

} // namespace topup
