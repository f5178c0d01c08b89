#include "apps/bench/http_submitter.hpp"

#include "api/merchant_api.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

namespace topup::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using nlohmann::json;

namespace {

bool acknowledges(unsigned status) {
  return status == 200 || status == 201;
}

bool retryable(unsigned status) {
  return status == 429 || status == 503;
}

/// The outcome of an order answered `status`, with the error object of a refusal.
http_order_outcome outcome_of(unsigned status, const json& error, int64_t retry_after_s) {
  http_order_outcome outcome;
  if (acknowledges(status)) {
    outcome.verdict = answer::acknowledged;
    return outcome;
  }
  outcome.code = error.is_object() ? error.value("code", std::string{"other"}) : "other";
  if (retryable(status)) {
    outcome.verdict = answer::retry;
    outcome.retry_after = std::chrono::seconds{retry_after_s};
    return outcome;
  }
  outcome.description = "HTTP " + std::to_string(status) + " " + outcome.code + ": "
                        + (error.is_object() ? error.value("message", std::string{}) : "");
  return outcome;
}

} // namespace

std::vector<http_order_outcome> http_outcomes(http_submit_kind kind, unsigned status,
                                              std::string_view body, int64_t retry_after_s,
                                              size_t orders) {
  auto document = json::parse(body.begin(), body.end(), nullptr, false);
  auto error_of = [](const json& answer) {
    return answer.is_object() && answer.contains("error") ? answer["error"] : json{};
  };
  if (kind == http_submit_kind::single || status != 200)
    return std::vector<http_order_outcome>(orders,
                                           outcome_of(status, error_of(document), retry_after_s));
  std::vector<http_order_outcome> outcomes;
  outcomes.reserve(orders);
  const json* results = document.is_object() && document.contains("results")
                          && document["results"].is_array()
                          ? &document["results"]
                          : nullptr;
  for (size_t i = 0; i < orders; ++i) {
    if (!results || i >= results->size() || !(*results)[i].contains("status")) {
      outcomes.push_back(outcome_of(0, json{{"code", "malformed_answer"}}, 0));
      continue;
    }
    const auto& entry = (*results)[i];
    outcomes.push_back(outcome_of(entry["status"].get<unsigned>(), error_of(entry),
                                  std::max<int64_t>(1, retry_after_s)));
  }
  return outcomes;
}

http_order_request http_request_for(http_submit_kind kind,
                                    const std::vector<order_request>& orders) {
  if (kind == http_submit_kind::single)
    return {"/v1/orders", merchant_api::request_json(orders.at(0)).dump()};
  auto list = json::array();
  for (const auto& order : orders)
    list.push_back(merchant_api::request_json(order));
  return {"/v1/orders/batch", json{{"orders", std::move(list)}}.dump()};
}

struct http_submitter::impl {
  std::shared_ptr<shared_book> shared;
  workload load;
  std::shared_ptr<const order_generator> orders;
  http_api_target target;
  http_submit_kind kind;
  steady_time start;
  std::chrono::milliseconds request_timeout;
  asio::io_context io;
  std::atomic<uint64_t> reconnects{0};
  std::thread thread;
  bool stopped = false;

  uint64_t orders_per_message() const {
    return kind == http_submit_kind::single ? 1 : load.batch;
  }
};

namespace {

/// How long an idle connection waits before it looks at the book again.
constexpr std::chrono::milliseconds idle_wait{5};
/// How long a connection waits before it connects again after a failure.
constexpr std::chrono::milliseconds reconnect_wait{100};

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

class connection : public std::enable_shared_from_this<connection> {
public:
  explicit connection(http_submitter::impl& owner)
    : owner_(owner), stream_(owner.io), timer_(owner.io) {}

  void connect() {
    error_code error;
    auto address = asio::ip::make_address(owner_.target.host, error);
    if (error)
      return;
    stream_.expires_after(owner_.request_timeout);
    stream_.async_connect(tcp::endpoint{address, owner_.target.port},
                          [self = shared_from_this()](error_code failed) {
                            if (failed)
                              return self->again();
                            self->next();
                          });
  }

private:
  void wait(std::chrono::milliseconds how_long, void (connection::*then)()) {
    timer_.expires_after(how_long);
    timer_.async_wait([self = shared_from_this(), then](error_code error) {
      if (!error)
        ((*self).*then)();
    });
  }

  /// The connection broke: its message queues again, and it connects anew.
  void again() {
    if (in_flight_) {
      std::lock_guard<std::mutex> lock{owner_.shared->mutex};
      owner_.shared->book.unanswered(*in_flight_);
      in_flight_.reset();
    }
    error_code ignored;
    stream_.socket().close(ignored);
    ++owner_.reconnects;
    wait(reconnect_wait, &connection::connect);
  }

  void next() {
    std::vector<submission_book::batch> due;
    {
      std::lock_guard<std::mutex> lock{owner_.shared->mutex};
      due = due_messages(owner_.load, owner_.shared->book, owner_.start,
                         steady_clock::now(), true, owner_.orders_per_message(), 1);
    }
    if (due.empty())
      return wait(idle_wait, &connection::next);
    send(std::move(due.front()));
  }

  void send(submission_book::batch message) {
    std::vector<order_request> requests;
    requests.reserve(message.orders.size());
    for (auto n : message.orders)
      requests.push_back(owner_.orders->nth(n));
    in_flight_ = message.id;
    in_flight_orders_ = message.orders.size();
    auto [target, body] = http_request_for(owner_.kind, requests);
    auto timestamp = std::to_string(unix_seconds());
    request_ = {http::verb::post, target, 11};
    request_.set(http::field::host, owner_.target.host);
    request_.set(http::field::content_type, "application/json");
    request_.set(std::string{merchant_api::merchant_header}, owner_.target.merchant);
    request_.set(std::string{merchant_api::timestamp_header}, timestamp);
    request_.set(std::string{merchant_api::signature_header},
                 merchant_api::sign(owner_.target.secret, timestamp, "POST", target, body));
    request_.body() = std::move(body);
    request_.prepare_payload();
    stream_.expires_after(owner_.request_timeout);
    http::async_write(stream_, request_, [self = shared_from_this()](error_code error, size_t) {
      if (error)
        return self->again();
      self->read();
    });
  }

  void read() {
    response_ = {};
    buffer_.clear();
    http::async_read(stream_, buffer_, response_,
                     [self = shared_from_this()](error_code error, size_t) {
                       if (error)
                         return self->again();
                       self->book_answer();
                     });
  }

  void book_answer() {
    int64_t retry_after_s = 0;
    if (auto hint = response_[http::field::retry_after]; !hint.empty())
      retry_after_s = std::atoll(std::string{hint}.c_str());
    auto outcomes = http_outcomes(owner_.kind, response_.result_int(), response_.body(),
                                  retry_after_s, in_flight_orders_);
    std::vector<answer> answers;
    std::vector<std::chrono::milliseconds> hints;
    bool retrying = false;
    {
      std::lock_guard<std::mutex> lock{owner_.shared->mutex};
      for (const auto& outcome : outcomes) {
        answers.push_back(outcome.verdict);
        hints.push_back(outcome.retry_after);
        if (outcome.verdict != answer::acknowledged)
          owner_.shared->note_refusal(outcome.code, outcome.verdict == answer::retry,
                                      outcome.description);
        retrying |= outcome.verdict == answer::retry;
      }
      owner_.shared->book.answered(*in_flight_, answers, hints, steady_clock::now());
    }
    in_flight_.reset();
    if (!response_.keep_alive())
      return again();
    // Orders the node pushed back wait a little: a short pause, not a spin.
    if (retrying)
      return wait(idle_wait, &connection::next);
    next();
  }

  http_submitter::impl& owner_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::optional<uint64_t> in_flight_;
  size_t in_flight_orders_ = 0;
};

} // namespace

http_submitter::http_submitter(std::shared_ptr<shared_book> shared, workload load,
                               std::shared_ptr<const order_generator> orders,
                               http_api_target target, http_submit_kind kind,
                               size_t connections, steady_time start,
                               std::chrono::milliseconds request_timeout)
  : impl_(std::make_shared<impl>()) {
  impl_->shared = std::move(shared);
  impl_->load = std::move(load);
  impl_->orders = std::move(orders);
  impl_->target = std::move(target);
  impl_->kind = kind;
  impl_->start = start;
  impl_->request_timeout = request_timeout;
  for (size_t i = 0; i < connections; ++i)
    std::make_shared<connection>(*impl_)->connect();
  impl_->thread = std::thread{[state = impl_] { state->io.run(); }};
}

http_submitter::~http_submitter() {
  stop();
}

void http_submitter::stop() {
  if (impl_->stopped)
    return;
  impl_->stopped = true;
  impl_->io.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

uint64_t http_submitter::reconnects() const {
  return impl_->reconnects.load();
}

} // namespace topup::bench
