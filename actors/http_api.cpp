#include "actors/http_api.hpp"

#include "api/console_api.hpp"
#include "api/merchant_api.hpp"
#include "messages/errors.hpp"
#include "metrics/exposition.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

namespace topup {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct http_api_listener::impl : std::enable_shared_from_this<http_api_listener::impl> {
  impl(caf::actor_system& sys, gateway_actor gw, http_api_options opts)
    : system(sys), gateway(std::move(gw)), options(std::move(opts)),
      acceptor(io, tcp::endpoint{asio::ip::make_address(options.config.host),
                                 options.config.port}) {
    for (const auto& [id, known] : options.merchants.all())
      merchant_ids.push_back(id);
  }

  caf::actor_system& system;
  gateway_actor gateway;
  http_api_options options;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::thread thread;
  std::atomic<size_t> connections{0};
  std::atomic<bool> stopped{false};

  // The console's state, touched on the io thread only.
  asio::steady_timer sampler{io};
  throughput_history throughput;
  /// The cluster's stats as last read for the console, when (wall ms), and the providers'
  /// call rates between that read and the one before it.
  std::optional<cluster_stats> cluster_counts;
  std::chrono::steady_clock::time_point cluster_counts_at{};
  std::vector<console_api::provider_rate> provider_rates;
  /// The configured merchants, whose client references a console search looks up.
  std::vector<std::string> merchant_ids;

  bool console_on() const { return !options.config.admin_token.empty(); }
  int64_t now_ms() const { return options.now_s() * 1000; }

  /// Once a second: this node's counters into the throughput history.
  void sample();

  /// The cluster's stats for the console: read again when older than cluster_stats_max_age.
  void with_cluster_stats(std::function<void(std::variant<cluster_stats, failure>)> done);

  caf::duration request_timeout() const {
    return caf::duration{std::chrono::milliseconds{options.config.request_timeout_ms}};
  }

  void accept();

  /// Asks the gateway on a short-lived actor and calls `done` on the io thread with the answer
  /// or the failure (a CAF error that is not a topup one, e.g. a timeout, is `unavailable`).
  template <class Reply, class... Ts>
  void ask(std::function<void(std::variant<Reply, failure>)> done, Ts... xs) {
    ask_within<Reply>(request_timeout(), std::move(done), std::move(xs)...);
  }

  template <class Reply, class... Ts>
  void ask_within(caf::duration timeout, std::function<void(std::variant<Reply, failure>)> done,
                  Ts... xs) {
    auto self_impl = shared_from_this();
    auto finish = [self_impl, done](std::variant<Reply, failure> answer) {
      asio::post(self_impl->io, [done, answer = std::move(answer)]() mutable {
        done(std::move(answer));
      });
    };
    system.spawn([gw = gateway, timeout, finish,
                  xs...](caf::event_based_actor* self) {
      self->request(gw, timeout, xs...)
        .then([finish](Reply& reply) { finish(std::move(reply)); },
              [finish](caf::error& error) {
                finish(as_failure(error).value_or(failure{errc::unavailable, describe(error)}));
              });
    });
  }
};

namespace {

using request_type = http::request<http::string_body>;

/// The console reads the cluster's stats (which count the store's orders by status) at most
/// this often, however many pages poll.
constexpr std::chrono::milliseconds cluster_stats_max_age{2500};
constexpr std::chrono::seconds sample_interval{1};
/// How long a console's re-query waits for the provider's answer.
constexpr int64_t requery_wait_ms = 5000;

/// How long a scrape waits for the node's stats at most (less if request_timeout_ms is).
constexpr std::chrono::milliseconds metrics_stats_timeout{5000};

std::string_view header_of(const request_type& request, std::string_view name) {
  auto value = request[beast::string_view{name.data(), name.size()}];
  return {value.data(), value.size()};
}

/// One client connection: reads a request (the whole of it within read_timeout_ms), answers
/// it, and reads the next one (HTTP/1.1 answers in order, so one at a time).
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, std::shared_ptr<http_api_listener::impl> owner)
    : stream_(std::move(socket)), owner_(std::move(owner)) {
    owner_->connections++;
  }
  ~session() { owner_->connections--; }

  void start() { read(); }

private:
  const http_api_config& config() const { return owner_->options.config; }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(config().max_header_bytes));
    parser_->body_limit(config().max_body_bytes);
    // One deadline for the whole request: a client that trickles bytes is cut off at it.
    stream_.expires_after(std::chrono::milliseconds{config().read_timeout_ms});
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](error_code error, size_t) {
                              self->on_header(error);
                            });
  }

  void on_header(error_code error) {
    if (error)
      return on_read_error(error);
    const auto& header = parser_->get();
    auto count = static_cast<size_t>(std::distance(header.begin(), header.end()));
    if (count > config().max_header_count)
      return refuse_and_close(
        {errc::request_too_large, std::to_string(count) + " header fields; at most "
                                    + std::to_string(config().max_header_count)});
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code read_error, size_t) {
                       if (read_error)
                         return self->on_read_error(read_error);
                       self->handle();
                     });
  }

  void on_read_error(error_code error) {
    if (error == http::error::body_limit)
      return refuse_and_close({errc::request_too_large,
                               "the body is larger than "
                                 + std::to_string(config().max_body_bytes) + " bytes"});
    if (error == http::error::header_limit)
      return refuse_and_close(
        {errc::request_too_large,
         "the header is larger than " + std::to_string(config().max_header_bytes) + " bytes"});
    // Closed by the client, timed out (a slow client), or not HTTP at all: nothing to answer.
    close();
  }

  void refuse_and_close(const failure& why) {
    keep_alive_ = false;
    version_ = 11;
    write(merchant_api::status_of(why.code), merchant_api::error_json(why), why);
  }

  void handle() {
    request_ = parser_->release();
    keep_alive_ = request_.keep_alive();
    version_ = request_.version();
    auto method = request_.method_string();
    auto target = request_.target();
    if (owner_->console_on() && console_api::is_console_target({target.data(), target.size()}))
      return console({method.data(), method.size()}, {target.data(), target.size()});
    auto routed = merchant_api::route_of({method.data(), method.size()},
                                         {target.data(), target.size()});
    if (auto refused = std::get_if<merchant_api::http_error>(&routed))
      return write(refused->status, merchant_api::error_json(refused->error), refused->error);
    route_ = std::move(std::get<merchant_api::route>(routed));
    if (route_.which == merchant_api::endpoint::health)
      return write(200, nlohmann::json{{"status", "alive"}});
    if (route_.which == merchant_api::endpoint::ready)
      return ready();
    if (route_.which == merchant_api::endpoint::metrics)
      return metrics();
    auto signer = merchant_api::authenticate(
      owner_->options.merchants,
      {header_of(request_, merchant_api::merchant_header),
       header_of(request_, merchant_api::timestamp_header),
       header_of(request_, merchant_api::signature_header),
       {method.data(), method.size()},
       {target.data(), target.size()},
       request_.body()},
      owner_->options.now_s(), config().signature_window_s);
    if (auto refused = std::get_if<failure>(&signer))
      return fail(*refused);
    merchant_ = std::get<const merchant*>(signer)->id;
    if (route_.has_body()
        && !merchant_api::is_json_content_type(header_of(request_, "Content-Type")))
      return write(415, merchant_api::error_json({errc::malformed_message,
                                                  "Content-Type must be application/json"}));
    switch (route_.which) {
      case merchant_api::endpoint::submit: return submit();
      case merchant_api::endpoint::submit_batch: return submit_batch();
      case merchant_api::endpoint::get_order: return get_order(false);
      case merchant_api::endpoint::cancel: return get_order(true);
      case merchant_api::endpoint::find_by_ref: return find_by_ref();
      case merchant_api::endpoint::health:
      case merchant_api::endpoint::ready:
      case merchant_api::endpoint::metrics: break;
    }
  }

  /// Ready once the router has handed on the unfinished orders of its start-up recovery and
  /// the store answers a read (an unknown id comes back not_found from it).
  void ready() {
    owner_->ask<bool>(
      [self = shared_from_this()](std::variant<bool, failure> recovered) {
        if (auto f = std::get_if<failure>(&recovered))
          return self->write(503, merchant_api::error_json(*f), *f);
        if (!std::get<bool>(recovered)) {
          failure recovering{errc::unavailable, "recovering the unfinished orders of the store"};
          return self->write(503, merchant_api::error_json(recovering), recovering);
        }
        self->store_ready();
      },
      recover_atom::value, caf::get_atom::value);
  }

  void store_ready() {
    owner_->ask<order>(
      [self = shared_from_this()](std::variant<order, failure> answer) {
        auto f = std::get_if<failure>(&answer);
        if (f && f->code != errc::not_found)
          return self->write(503, merchant_api::error_json(*f), *f);
        self->write(200, nlohmann::json{{"status", "ready"}});
      },
      caf::get_atom::value, std::string{"-readiness-probe-"});
  }

  /// The scrape: this node's stats (without the store-wide counts, which read every order)
  /// and the live instruments. Served without the stats when the node does not answer
  /// within metrics_stats_timeout (topup_stats_up 0): a scrape shows a stuck node rather
  /// than timing out at Prometheus (10 s by default).
  void metrics() {
    const auto& metrics = owner_->options.metrics;
    if (!metrics)
      return fail({errc::not_found, "no endpoint /metrics: metrics are off"});
    if (!merchant_api::metrics_authorized(header_of(request_, "Authorization"),
                                          config().metrics_token))
      return fail({errc::unauthenticated, "GET /metrics needs Authorization: Bearer <token>"});
    auto timeout = std::min(std::chrono::milliseconds{config().request_timeout_ms},
                            metrics_stats_timeout);
    owner_->ask_within<node_stats>(
      caf::duration{timeout},
      [self = shared_from_this(), metrics](std::variant<node_stats, failure> answer) {
        self->write_body(200, metrics_content_type,
                         metrics_text(*metrics, std::get_if<node_stats>(&answer)));
      },
      stats_atom::value, local_atom::value);
  }

  void submit() {
    auto parsed = merchant_api::parse_submit(request_.body());
    if (auto refused = std::get_if<failure>(&parsed))
      return fail(*refused);
    std::vector<order_request> requests{std::move(std::get<order_request>(parsed))};
    requests.front().merchant = merchant_;
    submit_all(std::move(requests), {std::nullopt}, true);
  }

  void submit_batch() {
    auto parsed = merchant_api::parse_batch(request_.body(), config().max_batch);
    if (auto refused = std::get_if<failure>(&parsed))
      return fail(*refused);
    std::vector<order_request> requests;
    std::vector<std::optional<failure>> refusals;
    for (auto& entry : std::get<0>(parsed)) {
      if (auto f = std::get_if<failure>(&entry)) {
        refusals.emplace_back(*f);
        continue;
      }
      refusals.emplace_back(std::nullopt);
      requests.push_back(std::move(std::get<order_request>(entry)));
      requests.back().merchant = merchant_;
    }
    submit_all(std::move(requests), std::move(refusals), false);
  }

  /// Submits the requests that parsed (in the batch's order) and answers one result per
  /// entry: the parse refusal in its place, else the gateway's result for it.
  void submit_all(std::vector<order_request> requests,
                  std::vector<std::optional<failure>> refusals, bool single) {
    auto answer = [self = shared_from_this(), refusals,
                   single](std::variant<std::vector<submit_result>, failure> reply) {
      std::vector<merchant_api::order_answer> answers;
      auto results = std::get_if<std::vector<submit_result>>(&reply);
      size_t next = 0;
      for (const auto& refusal : refusals) {
        if (refusal) {
          answers.push_back({refusal, {}, false});
        } else if (!results || next >= results->size()) {
          answers.push_back({results ? failure{errc::unavailable, "no answer for this order"}
                                     : std::get<failure>(reply),
                             {},
                             false});
        } else {
          auto& result = (*results)[next++];
          if (result.error)
            answers.push_back({as_failure(result.error).value_or(
                                 failure{errc::unavailable, describe(result.error)}),
                               {},
                               false});
          else
            answers.push_back({std::nullopt, std::move(result.accepted), result.existing});
        }
      }
      if (single) {
        const auto& only = answers.front();
        return self->write(merchant_api::status_of(only), merchant_api::answer_json(only),
                           only.error);
      }
      self->write(200, merchant_api::batch_json(answers));
    };
    if (requests.empty())
      return answer(std::vector<submit_result>{});
    owner_->ask<std::vector<submit_result>>(std::move(answer), submit_atom::value,
                                            std::move(requests));
  }

  /// GET /v1/orders/{id}, and the first half of a cancel: another merchant's order is
  /// answered exactly like one that does not exist.
  void get_order(bool then_cancel) {
    auto id = route_.order_id;
    owner_->ask<order>(
      [self = shared_from_this(), then_cancel, id](std::variant<order, failure> answer) {
        if (auto f = std::get_if<failure>(&answer))
          return self->fail(*f);
        auto& found = std::get<order>(answer);
        if (found.merchant != self->merchant_)
          return self->fail({errc::not_found, "no order " + id});
        if (!then_cancel)
          return self->write(200, merchant_api::order_json(found));
        self->owner_->ask<order>(
          [self](std::variant<order, failure> cancelled) {
            if (auto refused = std::get_if<failure>(&cancelled))
              return self->fail(*refused);
            self->write(200, merchant_api::order_json(std::get<order>(cancelled)));
          },
          cancel_atom::value, id);
      },
      caf::get_atom::value, id);
  }

  void find_by_ref() {
    owner_->ask<order>(
      [self = shared_from_this()](std::variant<order, failure> answer) {
        if (auto f = std::get_if<failure>(&answer))
          return self->fail(*f);
        self->write(200, merchant_api::order_json(std::get<order>(answer)));
      },
      find_ref_atom::value, merchant_, route_.client_ref);
  }

  // The web console (api/console_api): the page, then read-only JSON and two actions, each
  // answered from the gateway like the merchant API's requests.

  void console(std::string_view method, std::string_view target) {
    auto routed = console_api::route_of(method, target);
    if (auto refused = std::get_if<merchant_api::http_error>(&routed))
      return write(refused->status, merchant_api::error_json(refused->error), refused->error);
    auto route = std::get<console_api::route>(std::move(routed));
    if (route.which == console_api::endpoint::page)
      return write_body(200, "text/html; charset=utf-8", std::string{console_api::page_html()});
    if (!console_api::authorized(header_of(request_, "Authorization"), config().admin_token))
      return fail({errc::unauthenticated, "the console's API needs Authorization: Bearer <admin token>"});
    switch (route.which) {
      case console_api::endpoint::overview: return console_overview();
      case console_api::endpoint::providers: return console_providers();
      case console_api::endpoint::cluster: return console_cluster();
      case console_api::endpoint::search: return console_search(route.search);
      case console_api::endpoint::order: return console_story(route.order_id);
      case console_api::endpoint::cancel:
      case console_api::endpoint::requery: return console_action(route);
      case console_api::endpoint::page: break;
    }
  }

  /// Lists the orders of every filter in turn and calls `done` with all of them (a failure
  /// ends the list early with it).
  void list_each(std::vector<order_filter> filters, std::vector<order> gathered,
                 std::function<void(std::variant<std::vector<order>, failure>)> done) {
    if (filters.empty())
      return done(std::move(gathered));
    auto next = filters.front();
    filters.erase(filters.begin());
    owner_->ask<std::vector<order>>(
      [self = shared_from_this(), filters, gathered,
       done](std::variant<std::vector<order>, failure> answer) mutable {
        if (auto f = std::get_if<failure>(&answer))
          return done(*f);
        auto& found = std::get<std::vector<order>>(answer);
        gathered.insert(gathered.end(), found.begin(), found.end());
        self->list_each(std::move(filters), std::move(gathered), std::move(done));
      },
      list_atom::value, next);
  }

  void console_overview() {
    owner_->with_cluster_stats([self = shared_from_this()](std::variant<cluster_stats, failure> stats) {
      if (auto f = std::get_if<failure>(&stats))
        return self->fail(*f);
      // The oldest of each unfinished status, the oldest of those shown.
      std::vector<order_filter> oldest;
      for (auto status : {order_status::accepted, order_status::dispatched, order_status::unknown}) {
        order_filter filter;
        filter.status = std::string{to_string(status)};
        filter.limit = 1;
        filter.oldest_first = true;
        oldest.push_back(filter);
      }
      self->list_each(std::move(oldest), {},
        [self, stats = std::get<cluster_stats>(std::move(stats))](
          std::variant<std::vector<order>, failure> pending) {
          if (auto f = std::get_if<failure>(&pending))
            return self->fail(*f);
          console_api::overview_input in;
          in.now_ms = self->owner_->now_ms();
          in.throughput = &self->owner_->throughput;
          for (const auto& o : std::get<std::vector<order>>(pending))
            if (!in.oldest_pending || o.accepted_at_ms < in.oldest_pending->accepted_at_ms)
              in.oldest_pending = o;
          const auto& node = stats.nodes.empty() ? stats.totals : stats.nodes.front();
          auto shown = node;
          shown.orders = stats.totals.orders;
          self->write(200, console_api::overview_json(shown, in));
        });
    });
  }

  void console_providers() {
    owner_->with_cluster_stats([self = shared_from_this()](std::variant<cluster_stats, failure> stats) {
      if (auto f = std::get_if<failure>(&stats))
        return self->fail(*f);
      self->write(200, console_api::providers_json(self->owner_->options.providers,
                                                   std::get<cluster_stats>(stats),
                                                   self->owner_->provider_rates));
    });
  }

  void console_cluster() {
    owner_->ask<std::vector<member_info>>(
      [self = shared_from_this()](std::variant<std::vector<member_info>, failure> answer) {
        if (auto f = std::get_if<failure>(&answer))
          return self->fail(*f);
        const auto& members = std::get<std::vector<member_info>>(answer);
        self->write(200, console_api::cluster_json(self->owner_->options.clustered,
                                                   members.empty() ? "" : members.front().node,
                                                   members));
      },
      members_atom::value);
  }

  /// By id first (an unknown id is no failure), then by reference and by phone number.
  void console_search(console_api::search search) {
    auto list = [self = shared_from_this(), search](std::vector<order> by_id) {
      self->list_each(console_api::filters_of(search, self->owner_->merchant_ids), std::move(by_id),
                      [self, limit = search.limit](std::variant<std::vector<order>, failure> found) {
                        if (auto f = std::get_if<failure>(&found))
                          return self->fail(*f);
                        self->write(200, console_api::orders_json(
                                           std::get<std::vector<order>>(std::move(found)), limit));
                      });
    };
    if (search.text.empty())
      return list({});
    owner_->ask<order>(
      [list, search](std::variant<order, failure> answer) {
        auto found = std::get_if<order>(&answer);
        if (!found || (!search.status.empty() && to_string(found->status) != search.status))
          return list({});
        list({std::move(*found)});
      },
      caf::get_atom::value, search.text);
  }

  /// The order's history, then its result callbacks.
  void console_story(const std::string& id) {
    owner_->ask<order_history>(
      [self = shared_from_this(), id](std::variant<order_history, failure> answer) {
        if (auto f = std::get_if<failure>(&answer))
          return self->fail(*f);
        self->owner_->ask<std::vector<callback_record>>(
          [self, history = std::get<order_history>(std::move(answer))](
            std::variant<std::vector<callback_record>, failure> deliveries) {
            if (auto f = std::get_if<failure>(&deliveries))
              return self->fail(*f);
            self->write(200, console_api::story_json(
                               history, std::get<std::vector<callback_record>>(deliveries)));
          },
          deliveries_atom::value, id);
      },
      history_atom::value, id);
  }

  /// Cancel: the gateway's cancel, wherever the order waits. Re-query: the provider's
  /// reconciliation (settle), which queries its unknown outcomes now, this order's among them.
  /// Both are logged with who asked (the console's address) and the masked phone number.
  void console_action(const console_api::route& route) {
    auto who = remote_address();
    auto id = route.order_id;
    bool cancel = route.which == console_api::endpoint::cancel;
    auto answer_with_order = [self = shared_from_this(), id]() {
      self->owner_->ask<order>(
        [self](std::variant<order, failure> now) {
          if (auto f = std::get_if<failure>(&now))
            return self->fail(*f);
          self->write(200,
                      nlohmann::json{{"order", console_api::order_json(std::get<order>(now))}});
        },
        caf::get_atom::value, id);
    };
    owner_->ask<order>(
      [self = shared_from_this(), who, id, cancel, answer_with_order](std::variant<order, failure> answer) {
        if (auto f = std::get_if<failure>(&answer))
          return self->fail(*f);
        auto found = std::get<order>(std::move(answer));
        auto phone = mask_phone(found.phone);
        if (cancel) {
          spdlog::info("console: {} cancels order={} ({}, {})", who, id, phone, to_string(found.status));
          return self->owner_->ask<order>(
            [self, who, id, raw_phone = found.phone](std::variant<order, failure> cancelled) {
              if (auto f = std::get_if<failure>(&cancelled)) {
                spdlog::info("console: cancel of order={} refused: {}", id,
                             mask_phone_in(f->reason, raw_phone));
                return self->fail(*f);
              }
              spdlog::info("console: {} cancelled order={}", who, id);
              self->write(200, nlohmann::json{{"order", console_api::order_json(
                                                           std::get<order>(cancelled))}});
            },
            cancel_atom::value, id);
        }
        if (found.status != order_status::unknown || found.provider.empty())
          return self->fail({errc::illegal_transition,
                             "order " + id + " is " + std::string{to_string(found.status)}
                               + ": only an unknown outcome is queried"});
        spdlog::info("console: {} re-queries order={} ({}) at provider {}", who, id, phone,
                     found.provider);
        self->owner_->ask_within<settle_report>(
          caf::duration{std::chrono::milliseconds{requery_wait_ms + self->config().request_timeout_ms}},
          [self, id, answer_with_order](std::variant<settle_report, failure> settled) {
            if (auto f = std::get_if<failure>(&settled))
              return self->fail(*f);
            const auto& report = std::get<settle_report>(settled);
            spdlog::info("console: re-query of order={}: {} of {} unknown outcomes settled", id,
                         report.settled, report.unknown);
            answer_with_order();
          },
          settle_atom::value, settle_request{found.provider, requery_wait_ms});
      },
      caf::get_atom::value, id);
  }

  std::string remote_address() {
    error_code error;
    auto endpoint = stream_.socket().remote_endpoint(error);
    return error ? std::string{"an unknown client"}
                 : "admin@" + endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  void fail(const failure& why) {
    write(merchant_api::status_of(why.code), merchant_api::error_json(why), why);
  }

  void write(unsigned status, const nlohmann::json& body,
             const std::optional<failure>& why = {}) {
    write_body(status, "application/json", body.dump(), why);
  }

  void write_body(unsigned status, std::string_view content_type, std::string body,
                  const std::optional<failure>& why = {}) {
    response_ = {};
    response_.version(version_);
    response_.result(status);
    response_.set(http::field::content_type,
                  beast::string_view{content_type.data(), content_type.size()});
    if (why && why->code == errc::overloaded)
      response_.set(http::field::retry_after,
                    std::to_string(merchant_api::retry_after_s(*why)));
    response_.keep_alive(keep_alive_);
    response_.body() = std::move(body);
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](error_code error, size_t) {
                        if (error || !self->keep_alive_)
                          return self->close();
                        self->read();
                      });
  }

  void close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<http_api_listener::impl> owner_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  request_type request_;
  http::response<http::string_body> response_;
  merchant_api::route route_;
  std::string merchant_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

} // namespace

void http_api_listener::impl::sample() {
  sampler.expires_after(sample_interval);
  sampler.async_wait([self = shared_from_this()](error_code error) {
    if (error || self->stopped)
      return;
    self->ask_within<node_stats>(
      caf::duration{std::chrono::milliseconds{900}},
      [self](std::variant<node_stats, failure> answer) {
        if (auto stats = std::get_if<node_stats>(&answer))
          self->throughput.record(self->options.now_s(), console_api::throughput_of(*stats));
      },
      stats_atom::value, local_atom::value);
    self->sample();
  });
}

void http_api_listener::impl::with_cluster_stats(
  std::function<void(std::variant<cluster_stats, failure>)> done) {
  auto now = std::chrono::steady_clock::now();
  if (cluster_counts && now - cluster_counts_at < cluster_stats_max_age)
    return done(*cluster_counts);
  ask<cluster_stats>(
    [self = shared_from_this(), now, done](std::variant<cluster_stats, failure> answer) {
      if (auto stats = std::get_if<cluster_stats>(&answer)) {
        if (self->cluster_counts)
          self->provider_rates = console_api::rates_between(
            self->cluster_counts->totals.providers, stats->totals.providers,
            std::chrono::duration_cast<std::chrono::milliseconds>(now - self->cluster_counts_at)
              .count());
        self->cluster_counts = *stats;
        self->cluster_counts_at = now;
      }
      done(std::move(answer));
    },
    stats_atom::value);
}

void http_api_listener::impl::accept() {
  acceptor.async_accept([self = shared_from_this()](error_code error, tcp::socket socket) {
    if (self->stopped)
      return;
    if (!error) {
      if (self->connections.load() >= self->options.config.max_connections) {
        error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<session>(std::move(socket), self)->start();
      }
    }
    self->accept();
  });
}

http_api_listener::http_api_listener(caf::actor_system& system, gateway_actor gateway,
                                     http_api_options options)
  : impl_(std::make_shared<impl>(system, std::move(gateway), std::move(options))) {}

http_api_listener::~http_api_listener() {
  stop();
}

uint16_t http_api_listener::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void http_api_listener::start() {
  impl_->accept();
  if (impl_->console_on())
    impl_->sample();
  impl_->thread = std::thread([state = impl_] { state->io.run(); });
}

void http_api_listener::stop() {
  // Connections still open when the io_context stops are dropped with it, at exit.
  if (impl_->stopped.exchange(true))
    return;
  asio::post(impl_->io, [state = impl_] {
    error_code ignored;
    state->acceptor.close(ignored);
    state->sampler.cancel();
    state->io.stop();
  });
  if (impl_->thread.joinable())
    impl_->thread.join();
}

} // namespace topup
