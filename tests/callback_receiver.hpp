#pragma once

// An HTTP endpoint of a merchant for the result-callback tests (Boost.Beast on 127.0.0.1, one
// thread per connection): records every request and answers what its rule says. Over TLS
// (Boost.Asio ssl) when given a certificate and key.

#include "api/merchant_api.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace topup::testing {

struct received_callback {
  std::string target;
  std::map<std::string, std::string> headers;
  std::string body;
  unsigned answered = 0;  ///< the status answered; 0: held unanswered
};

/// The certificate (PEM, with its chain) and key an https receiver presents.
struct tls_identity {
  std::string certificate;
  std::string key;
};

/// An HTTP endpoint of a merchant: records every request and answers what `answer` says for
/// the n-th request (from 1) of a delivery id; nothing: the request is held unanswered until
/// the receiver goes. Each connection carries one request (the answer closes it). With an
/// identity, it speaks TLS and counts the handshakes its clients broke off.
class callback_receiver {
public:
  using answer_rule = std::function<std::optional<std::pair<unsigned, std::string>>(
    const std::string& delivery_id, int nth)>;

  explicit callback_receiver(answer_rule answer, std::optional<tls_identity> tls = std::nullopt)
    : acceptor_(io_, boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}),
      answer_(std::move(answer)) {
    if (tls) {
      tls_.emplace(boost::asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(tls->certificate);
      tls_->use_private_key_file(tls->key, boost::asio::ssl::context::pem);
    }
    acceptor_.non_blocking(true);
    port_ = acceptor_.local_endpoint().port();
    accepting_ = std::thread([this] { accept_loop(); });
  }

  ~callback_receiver() {
    stop_ = true;
    accepting_.join();
    for (auto& t : connections_)
      t.join();
  }

  uint16_t port() const { return port_; }

  std::vector<received_callback> received() {
    std::lock_guard<std::mutex> guard{mutex_};
    return received_;
  }

  void set_answer(answer_rule answer) {
    std::lock_guard<std::mutex> guard{mutex_};
    answer_ = std::move(answer);
  }

  /// TLS handshakes that did not complete (a client refusing the certificate, say). The
  /// client learns of its refusal before this side's handshake returns, so the count waits
  /// (at most `within`) until it reaches `at_least`.
  int failed_handshakes(int at_least = 0,
                        std::chrono::milliseconds within = std::chrono::seconds{5}) const {
    auto give_up = std::chrono::steady_clock::now() + within;
    while (failed_handshakes_ < at_least && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    return failed_handshakes_;
  }

private:
  void accept_loop() {
    while (!stop_) {
      boost::asio::ip::tcp::socket socket{io_};
      boost::beast::error_code error;
      acceptor_.accept(socket, error);
      if (error) {
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
        continue;
      }
      connections_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(boost::asio::ip::tcp::socket socket) {
    timeval read_timeout{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &read_timeout,
                 sizeof read_timeout);
    if (!tls_) {
      exchange(socket);
      return;
    }
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> secure{socket, *tls_};
    boost::beast::error_code error;
    secure.handshake(boost::asio::ssl::stream_base::server, error);
    if (error) {
      ++failed_handshakes_;
      return;
    }
    exchange(secure);
  }

  template <class Stream>
  void exchange(Stream& socket) {
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> request;
    boost::beast::error_code error;
    boost::beast::http::read(socket, buffer, request, error);
    if (error)
      return;
    received_callback got;
    got.target = std::string{request.target()};
    for (const auto& field : request)
      got.headers[std::string{field.name_string()}] = std::string{field.value()};
    got.body = request.body();
    auto delivery = got.headers[std::string{merchant_api::delivery_header}];
    std::optional<std::pair<unsigned, std::string>> answer;
    size_t index = 0;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      answer = answer_(delivery, ++attempts_[delivery]);
      got.answered = answer ? answer->first : 0;
      index = received_.size();
      received_.push_back(got);
    }
    if (!answer) {
      while (!stop_)
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
      return;
    }
    boost::beast::http::response<boost::beast::http::string_body> response{static_cast<boost::beast::http::status>(answer->first), 11};
    response.keep_alive(false);
    response.body() = answer->second;
    response.prepare_payload();
    boost::beast::http::write(socket, response, error);
    (void)index;
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::ssl::context> tls_;  ///< set before any thread starts
  std::atomic<int> failed_handshakes_{0};
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accepting_;
  std::vector<std::thread> connections_;  ///< accept thread only, joined after it
  std::mutex mutex_;
  answer_rule answer_;
  std::map<std::string, int> attempts_;
  std::vector<received_callback> received_;
};

inline callback_receiver::answer_rule refuse_first_then_ack() {
  return [](const std::string&, int nth) -> std::optional<std::pair<unsigned, std::string>> {
    if (nth == 1)
      return std::pair{500u, std::string{"try later"}};
    return std::pair{200u, std::string{"success"}};
  };
}

inline callback_receiver::answer_rule never_answer() {
  return [](const std::string&, int) -> std::optional<std::pair<unsigned, std::string>> {
    return std::nullopt;
  };
}

inline callback_receiver::answer_rule always(unsigned status, std::string body) {
  return [=](const std::string&, int) -> std::optional<std::pair<unsigned, std::string>> {
    return std::pair{status, body};
  };
}


} // namespace topup::testing
