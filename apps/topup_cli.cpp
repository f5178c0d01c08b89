// topup-cli: the command-line client of a topup node (see `topup-cli --help`).
//
// This file is the CAF plumbing only: the configuration, the bounded connect, and one client
// actor that says hello, runs the command against the node's gateway_actor and ends the run.
// Parsing, formatting, exit codes and the submission bookkeeping live in apps/cli/, which
// needs no actor system and is unit-tested (tests/cli_tests.cpp).
//
// Bounded time, always: every request carries --timeout; the gateway's proxy is monitored so
// a node that goes down fails pending work at once rather than at the timeout; heartbeats
// detect a node that hangs with its connection open; and the connect itself runs against the
// same timeout (CAF 0.17's remote_actor has none).

#include "apps/app_support.hpp"
#include "apps/cli/command_line.hpp"
#include "apps/cli/exit_codes.hpp"
#include "apps/cli/order_input.hpp"
#include "apps/cli/output.hpp"
#include "apps/cli/progress.hpp"
#include "apps/cli/reconcile.hpp"
#include "apps/cli/submission.hpp"
#include "messages/errors.hpp"
#include "messages/interfaces.hpp"

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <thread>
#include <unistd.h>

using namespace topup;
using namespace topup::cli;

namespace {

// --- Ctrl-C ---------------------------------------------------------------------------------

/// Ctrl-C presses so far; main's wait loop turns the first into a graceful stop.
std::atomic<int> interrupts{0};

extern "C" void count_interrupt(int) {
  // The second Ctrl-C kills the process the default way, in case the graceful stop hangs.
  std::signal(SIGINT, SIG_DFL);
  interrupts.fetch_add(1);
}

/// watch stops on Ctrl-C with exit 0 and submit stops sending and reports every order; the
/// other commands are short and bounded by --timeout, so Ctrl-C simply ends them.
bool stops_gracefully(command_kind command) {
  return command == command_kind::watch || command == command_kind::submit;
}

// --- configuration --------------------------------------------------------------------------

/// CAF's configuration, built in code: CLI11 owns argv, so CAF never parses the command line
/// (no CAF --help, no caf-application.ini read from the working directory).
struct client_config : caf::actor_system_config {
  explicit client_config(const cli_options& options) {
    // Set up like the node (apps/app_support): two threads in `sharing` mode, the protocol
    // registered. The node drops connections silent for its connection timeout, so the
    // client sends heartbeats every second too; with its own timeout it notices a hung node
    // the same way (both sides need heartbeats, or a one-sided timeout gives false DOWNs:
    // measured with CAF 0.17.6 on loopback).
    configure_caf(*this, 2, heartbeat_interval_ms, options.connection_timeout.count());
    if (options.tls.enabled) {
      load<caf::openssl::manager>();
      openssl_cafile = options.tls.ca_file;
      openssl_certificate = options.tls.certificate;
      openssl_key = options.tls.key;
    }
  }
};

int64_t wall_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void setup_logging(verbosity level) {
  // stdout carries the results; every diagnostic goes to stderr.
  auto logger = spdlog::stderr_color_mt("topup-cli");
  logger->set_pattern("%n: %^%l%$: %v");
  switch (level) {
    case verbosity::quiet: logger->set_level(spdlog::level::err); break;
    case verbosity::normal: logger->set_level(spdlog::level::info); break;
    case verbosity::verbose: logger->set_level(spdlog::level::debug); break;
  }
  spdlog::set_default_logger(std::move(logger));
}

// --- connecting -----------------------------------------------------------------------------

/// The first queued OpenSSL error as text, or nothing.
std::string openssl_reason() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return {};
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return std::string{" ("} + text + ")";
}

/// Loads the TLS files the way CAF's OpenSSL module will. That module reports a bad file only
/// by an exception inside its own actor, after which the connect never finishes; loading them
/// here first turns that into a clear message and exit 2.
std::optional<std::string> check_tls_files(const tls_options& tls) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context{SSL_CTX_new(TLS_client_method()),
                                                            SSL_CTX_free};
  if (!context)
    return "cannot initialise OpenSSL" + openssl_reason();
  // An encrypted key would make OpenSSL ask for its passphrase on the terminal.
  SSL_CTX_set_default_passwd_cb(context.get(), [](char*, int, int, void*) { return 0; });
  // The key first: loaded after the certificate, a key of another pair fails as unreadable.
  if (SSL_CTX_use_PrivateKey_file(context.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return "--key " + tls.key + ": not an unencrypted PEM private key" + openssl_reason();
  if (SSL_CTX_use_certificate_chain_file(context.get(), tls.certificate.c_str()) != 1)
    return "--cert " + tls.certificate + ": not a PEM certificate" + openssl_reason();
  if (SSL_CTX_check_private_key(context.get()) != 1)
    return "--key " + tls.key + " does not belong to --cert " + tls.certificate
           + openssl_reason();
  if (SSL_CTX_load_verify_locations(context.get(), tls.ca_file.c_str(), nullptr) != 1)
    return "--ca " + tls.ca_file + ": not a PEM CA certificate" + openssl_reason();
  return std::nullopt;
}

caf::expected<gateway_actor> connect_gateway(caf::actor_system& system,
                                             const cli_options& options) {
  const auto& node = options.node;
  if (options.tls.enabled)
    return caf::openssl::remote_actor<gateway_actor>(system, node.host, node.port);
  return system.middleman().remote_actor<gateway_actor>(node.host, node.port);
}

/// Connects within --timeout, or gives up: nullopt. remote_actor blocks without a limit of
/// its own (a host that drops packets, or a port where something accepts and never answers),
/// so it runs on a thread of its own that the caller abandons on timeout.
std::optional<caf::expected<gateway_actor>> connect_within(caf::actor_system& system,
                                                           const cli_options& options) {
  auto promise = std::make_shared<std::promise<caf::expected<gateway_actor>>>();
  auto connected = promise->get_future();
  std::thread connector{[&system, &options, promise] {
    promise->set_value(connect_gateway(system, options));
  }};
  if (connected.wait_for(options.timeout) != std::future_status::ready) {
    connector.detach();
    return std::nullopt;
  }
  connector.join();
  return connected.get();
}

// --- the client actor -----------------------------------------------------------------------

struct client_state {
  static constexpr const char* name = "topup_cli";

  cli_options options;
  output_style style;
  gateway_actor gateway;
  bool gateway_down = false;
  std::shared_ptr<exit_code> result;  ///< read by main once this actor has terminated

  // submit
  std::unique_ptr<submit_pipeline> pipeline;
  std::unique_ptr<progress_bar> progress;
  bool from_file = false;
  bool stdout_is_terminal = false;
  std::chrono::steady_clock::time_point started;

  // watch
  bool watching = false;
  uint64_t events = 0;

  // reconcile
  std::unique_ptr<reconcile_job> reconciling;
  std::vector<std::string> lookups;  ///< orders to ask the node about
  size_t next_lookup = 0;
  size_t lookups_in_flight = 0;
};

using client_pointer = caf::stateful_actor<client_state>*;

/// Writes results to stdout, flushed so a pipe sees each watch event as it happens. When
/// stdout is the progress bar's terminal too, the bar is erased first so the two never
/// share a line (the next update draws it again below the output).
void emit(client_pointer self, const std::string& text) {
  auto& st = self->state;
  if (st.progress && st.stdout_is_terminal)
    st.progress->clear();
  std::cout << text << std::flush;
}

/// Ends the run with `code` (the worse of it and any earlier one).
void finish(client_pointer self, exit_code code) {
  auto& st = self->state;
  *st.result = worse(*st.result, code);
  if (st.watching && !st.gateway_down) {
    st.watching = false;
    self->send(st.gateway, unwatch_atom::value, caf::actor_cast<caf::actor>(self));
  }
  self->quit();
}

void after_answer(client_pointer self);

/// Reports a failed command (stderr; with --json also as a JSON object on stdout, where
/// scripts look) and ends the run with its exit code. A submission reports it on each
/// order's result line instead: one line per order, whatever happens.
void fail(client_pointer self, const std::string& what, const failure_report& failure) {
  spdlog::error("{}: {}", what, failure.message);
  if (auto& pipeline = self->state.pipeline) {
    pipeline->abandon(failure);
    after_answer(self);
    return;
  }
  if (self->state.style.json)
    emit(self, render(failure, self->state.style));
  finish(self, failure.code);
}

/// An error handler for a request made for `what`.
auto fail_with(client_pointer self, std::string what) {
  return [self, what = std::move(what)](caf::error& error) { fail(self, what, classify(error)); };
}

// submit

void send_batches(client_pointer self);

/// Prints what has settled, redraws the progress bar, and sends more or ends the run.
void after_answer(client_pointer self) {
  auto& st = self->state;
  auto& pipeline = *st.pipeline;
  std::string text;
  for (const auto& submission : pipeline.take_ready())
    text += render(submission, st.style);
  if (!text.empty())
    emit(self, text);
  st.progress->update(pipeline.settled());
  if (!pipeline.finished()) {
    send_batches(self);
    return;
  }
  st.progress->clear();
  if (st.from_file) {
    auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - st.started).count();
    spdlog::info("{}", summary_line(pipeline.tally(), seconds));
  }
  finish(self, pipeline.tally().code);
}

void send_batches(client_pointer self) {
  auto& st = self->state;
  while (auto next = st.pipeline->next_batch()) {
    auto first = next->first;
    self->request(st.gateway, st.options.timeout, submit_atom::value, std::move(next->requests))
      .then(
        [self, first](std::vector<submit_result>& results) {
          self->state.pipeline->answered(first, results);
          after_answer(self);
        },
        [self, first](caf::error& error) {
          self->state.pipeline->failed(first, classify(error));
          after_answer(self);
        });
  }
}

void start_submit(client_pointer self) {
  auto& st = self->state;
  st.started = std::chrono::steady_clock::now();
  send_batches(self);
}

// watch

void on_update(client_pointer self, const order_update& update) {
  auto& st = self->state;
  emit(self, render(update, st.style));
  ++st.events;
  auto followed_to_the_end =
    !st.options.order_id.empty() && update.snapshot.id == st.options.order_id
    && is_final(update.snapshot.status);
  if (followed_to_the_end || (st.options.event_count > 0 && st.events >= st.options.event_count))
    finish(self, exit_code::ok);
}

/// `watch ID`: shows where the order stands now, since changes that happened before the
/// watch began are never sent; an order already final will not change again, so that ends
/// the run instead of waiting forever.
void show_current(client_pointer self) {
  auto& st = self->state;
  self->request(st.gateway, st.options.timeout, caf::get_atom::value, st.options.order_id)
    .then(
      [self](order& current) {
        auto& state = self->state;
        // An event that overtook this answer is newer than `current`.
        if (state.events > 0)
          return;
        emit(self, render(order_update{current, "current"}, state.style));
        if (is_final(current.status))
          finish(self, exit_code::ok);
      },
      fail_with(self, "watch " + st.options.order_id));
}

void start_watch(client_pointer self) {
  auto& st = self->state;
  auto what = st.options.order_id.empty() ? std::string{"all orders"} : st.options.order_id;
  // From now on the run ends with an unwatch: events may overtake the reply, and --count may
  // be reached before it arrives.
  st.watching = true;
  self
    ->request(st.gateway, st.options.timeout, watch_atom::value,
              caf::actor_cast<caf::actor>(self), st.options.order_id)
    .then(
      [self, what](ack_atom) {
        auto& state = self->state;
        spdlog::info("watching {} (Ctrl-C to stop)", what);
        if (!state.options.order_id.empty())
          show_current(self);
      },
      fail_with(self, "watch " + what));
}

// reconcile

/// Orders looked up at once: enough to hide the round trip, few enough not to flood a node.
constexpr size_t lookups_at_once = 16;

void finish_reconcile(client_pointer self) {
  auto& job = *self->state.reconciling;
  auto result = job.compare();
  emit(self, render(job, result));
  finish(self, exit_code_of(result));
}

/// Asks the node about the orders of statement rows no attempt matched: whether it has them
/// at all decides between not_sent_here and unknown_order.
void look_up_orders(client_pointer self) {
  auto& st = self->state;
  while (st.next_lookup < st.lookups.size() && st.lookups_in_flight < lookups_at_once) {
    auto id = st.lookups[st.next_lookup++];
    ++st.lookups_in_flight;
    self->request(st.gateway, st.options.timeout, caf::get_atom::value, id)
      .then(
        [self, id](order&) {
          self->state.reconciling->order_known(id);
          --self->state.lookups_in_flight;
          look_up_orders(self);
        },
        [self, id](caf::error& error) {
          auto refusal = as_failure(error);
          if (!refusal || refusal->code != errc::not_found) {
            fail(self, "reconcile: looking up order " + id, classify(error));
            return;
          }
          --self->state.lookups_in_flight;
          look_up_orders(self);
        });
  }
  if (st.next_lookup == st.lookups.size() && st.lookups_in_flight == 0)
    finish_reconcile(self);
}

void read_attempts(client_pointer self, attempt_query query) {
  auto& st = self->state;
  self->request(st.gateway, st.options.timeout, attempts_atom::value, std::move(query))
    .then(
      [self](std::vector<attempt_record>& page) {
        auto& state = self->state;
        if (auto next = state.reconciling->page_arrived(page)) {
          read_attempts(self, std::move(*next));
          return;
        }
        state.lookups = state.reconciling->orders_to_look_up();
        spdlog::debug("reconcile: {} attempts read; {} orders to look up",
                      state.reconciling->attempts_read(), state.lookups.size());
        look_up_orders(self);
      },
      fail_with(self, "reconcile: reading the attempts of " + st.options.reconcile.provider));
}

void start_reconcile(client_pointer self) {
  auto& st = self->state;
  auto& job = *st.reconciling;
  if (job.options().settle_wait.count() == 0) {
    job.settle_failed("skipped: --settle-wait 0");
    read_attempts(self, job.first_page());
    return;
  }
  // The node answers once the outcomes are settled or its wait is over: allow for both.
  auto bound = job.options().settle_wait + st.options.timeout;
  self->request(st.gateway, bound, settle_atom::value, job.settle())
    .then(
      [self](settle_report& report) {
        auto& state = self->state;
        spdlog::info("node {} queried {} unknown outcomes of {}, waited for {} calls in flight: "
                     "{} settled, {} not",
                     report.node, report.unknown, state.options.reconcile.provider,
                     report.in_flight, report.settled, report.unsettled.size());
        state.reconciling->settled(std::move(report));
        read_attempts(self, state.reconciling->first_page());
      },
      [self](caf::error& error) {
        auto failure = classify(error);
        if (!is_refusal(failure.code)) {
          fail(self, "reconcile: settling unknown outcomes", failure);
          return;
        }
        // The comparison stays right without it: outcomes still unknown are reported so.
        spdlog::warn("reconcile: the node did not settle unknown outcomes first: {}",
                     failure.message);
        auto& state = self->state;
        state.reconciling->settle_failed(failure.message);
        read_attempts(self, state.reconciling->first_page());
      });
}

// the other commands

void start_command(client_pointer self) {
  auto& st = self->state;
  const auto& options = st.options;
  auto print_order = [self](order& x) {
    emit(self, render(x, self->state.style));
    finish(self, exit_code::ok);
  };
  switch (options.command) {
    case command_kind::submit:
      start_submit(self);
      return;
    case command_kind::watch:
      start_watch(self);
      return;
    case command_kind::reconcile:
      start_reconcile(self);
      return;
    case command_kind::backup:
    case command_kind::archive:
      finish(self, exit_code::internal);  // run() does these without the node
      return;
    case command_kind::stats:
      self->request(st.gateway, options.timeout, stats_atom::value)
        .then(
          [self](cluster_stats& stats) {
            emit(self, render(stats, self->state.style));
            finish(self, exit_code::ok);
          },
          fail_with(self, "stats"));
      return;
    case command_kind::members:
      self->request(st.gateway, options.timeout, members_atom::value)
        .then(
          [self](std::vector<member_info>& members) {
            emit(self, render(members, self->state.style));
            finish(self, exit_code::ok);
          },
          fail_with(self, "members"));
      return;
    case command_kind::status: {
      auto what = options.order_id.empty() ? "status --ref " + options.client_ref
                                           : "status " + options.order_id;
      auto print_history = [self](order_history& x) {
        emit(self, render(x, self->state.style));
        finish(self, exit_code::ok);
      };
      auto ask_history = [self, print_history, what](const std::string& id) {
        self->request(self->state.gateway, self->state.options.timeout, history_atom::value, id)
          .then(print_history, fail_with(self, what));
      };
      if (!options.order_id.empty() && options.history)
        ask_history(options.order_id);
      else if (!options.order_id.empty())
        self->request(st.gateway, options.timeout, caf::get_atom::value, options.order_id)
          .then(print_order, fail_with(self, what));
      else if (options.history)
        self->request(st.gateway, options.timeout, find_ref_atom::value, options.merchant,
                      options.client_ref)
          .then([ask_history](order& x) { ask_history(x.id); }, fail_with(self, what));
      else
        self->request(st.gateway, options.timeout, find_ref_atom::value, options.merchant,
                      options.client_ref)
          .then(print_order, fail_with(self, what));
      return;
    }
    case command_kind::list:
      self->request(st.gateway, options.timeout, list_atom::value, options.filter)
        .then(
          [self](std::vector<order>& orders) {
            emit(self, render(orders, self->state.style));
            finish(self, exit_code::ok);
          },
          fail_with(self, "list"));
      return;
    case command_kind::cancel:
      self->request(st.gateway, options.timeout, cancel_atom::value, options.order_id)
        .then(
          [self](order& cancelled) {
            const auto& style = self->state.style;
            emit(self, style.json ? render(cancelled, style)
                                  : "cancelled " + render(cancelled, style));
            finish(self, exit_code::ok);
          },
          fail_with(self, "cancel " + options.order_id));
      return;
    case command_kind::deliveries:
      self->request(st.gateway, options.timeout, deliveries_atom::value, options.order_id)
        .then(
          [self](std::vector<callback_record>& deliveries) {
            emit(self, render(deliveries, self->state.style));
            finish(self, exit_code::ok);
          },
          fail_with(self, "deliveries " + options.order_id));
      return;
    case command_kind::redeliver: {
      auto shown = [self](callback_record& due) {
        emit(self, render(due, self->state.style));
        finish(self, exit_code::ok);
      };
      if (options.delivery_id.empty())
        self->request(st.gateway, options.timeout, redeliver_atom::value, options.order_id)
          .then(shown, fail_with(self, "redeliver " + options.order_id));
      else
        self->request(st.gateway, options.timeout, redeliver_atom::value, delivery_atom::value,
                      options.delivery_id)
          .then(shown, fail_with(self, "redeliver --delivery " + options.delivery_id));
      return;
    }
  }
}

/// Checks the node speaks this client's protocol before anything else is sent.
void say_hello(client_pointer self) {
  auto& st = self->state;
  self->request(st.gateway, st.options.timeout, hello_atom::value, protocol_version)
    .then(
      [self](uint32_t node_protocol, std::string& node_name) {
        if (node_protocol != protocol_version) {
          fail(self, "hello",
               {exit_code::internal, "protocol_mismatch",
                fmt::format("node {} speaks protocol {}, this topup-cli speaks {}: use a "
                            "topup-cli of the node's version",
                            node_name, node_protocol, protocol_version)});
          return;
        }
        spdlog::debug("connected to node {} at {}", node_name,
                      self->state.options.node.to_string());
        start_command(self);
      },
      fail_with(self, "hello"));
}

void on_gateway_down(client_pointer self, const caf::error& reason) {
  auto& st = self->state;
  st.gateway_down = true;
  auto report = node_down(st.options.node.to_string(), reason);
  if (st.pipeline) {
    // Batches in flight will never be answered; report each order, then end.
    st.progress->clear();
    spdlog::error("{}", report.message);
    st.pipeline->abandon(report);
    after_answer(self);
    return;
  }
  fail(self, std::string{to_string(st.options.command)}, report);
}

/// Ctrl-C (main forwards it as an exit message).
void on_interrupt(client_pointer self) {
  auto& st = self->state;
  switch (st.options.command) {
    case command_kind::watch:
      finish(self, exit_code::ok);
      return;
    case command_kind::submit:
      if (st.pipeline) {
        st.progress->clear();
        spdlog::warn("interrupted: sending no more orders, waiting for those in flight "
                     "(Ctrl-C again to quit at once)");
        st.pipeline->stop({exit_code::interrupted, "interrupted", "not sent: interrupted"});
        after_answer(self);
        return;
      }
      break;
    default:
      break;
  }
  finish(self, exit_code::interrupted);
}

caf::behavior client(client_pointer self, cli_options options, gateway_actor gateway,
                     std::vector<numbered_request> orders, std::vector<statement_row> statement,
                     std::shared_ptr<exit_code> result) {
  auto& st = self->state;
  st.style = {options.json, options.zone};
  st.options = std::move(options);
  st.gateway = std::move(gateway);
  st.result = std::move(result);
  if (st.options.command == command_kind::submit) {
    st.from_file = !st.options.order_file.empty();
    st.pipeline = std::make_unique<submit_pipeline>(std::move(orders), st.options.batch_size,
                                                    st.options.batches_in_flight);
    auto show_progress = st.from_file && st.options.level != verbosity::quiet
                         && isatty(STDERR_FILENO) == 1;
    st.stdout_is_terminal = isatty(STDOUT_FILENO) == 1;
    st.progress = std::make_unique<progress_bar>(std::cerr, st.pipeline->total(), show_progress);
  }
  if (st.options.command == command_kind::reconcile)
    st.reconciling = std::make_unique<reconcile_job>(st.options.reconcile, std::move(statement));
  self->monitor(st.gateway);
  self->set_down_handler([self](caf::down_msg& down) {
    if (down.source == self->state.gateway.address())
      on_gateway_down(self, down.reason);
  });
  self->set_exit_handler([self](caf::exit_msg&) { on_interrupt(self); });
  // An exception in a handler would otherwise end this actor through CAF's default handler,
  // which prints to stdout (where results go) and leaves the exit code as it was: 0.
  self->set_exception_handler([self](std::exception_ptr& thrown) -> caf::error {
    std::string what = "an exception of unknown type";
    try {
      std::rethrow_exception(thrown);
    } catch (const std::exception& error) {
      what = error.what();
    } catch (...) {
    }
    fail(self, std::string{to_string(self->state.options.command)},
         {exit_code::internal, "exception", "topup-cli failed (a bug): " + what});
    return caf::exit_reason::unhandled_exception;
  });
  say_hello(self);
  return {
    [self](event_atom, order_update& update) { on_update(self, update); },
  };
}

// --- main -----------------------------------------------------------------------------------

/// The orders of a submit and the exit code the input alone calls for: bad_input when
/// malformed lines were skipped. No orders means nothing may be sent; `code` says why.
struct submit_input {
  std::vector<numbered_request> orders;
  exit_code code = exit_code::ok;
};

submit_input orders_to_submit(const cli_options& options) {
  if (options.single_order)
    return {{{0, *options.single_order}}, exit_code::ok};
  const auto& path = options.order_file;
  auto source = path == "-" ? std::string{"stdin"} : path;
  order_input input;
  if (path == "-") {
    input = read_orders(std::cin, options.format);
  } else {
    std::ifstream file{path};
    if (!file) {
      spdlog::error("{}: cannot open the file", path);
      return {{}, exit_code::bad_input};
    }
    input = read_orders(file, options.format);
  }
  // Enough to fix a file by; a file that is wrong throughout would otherwise flood stderr.
  constexpr size_t problems_shown = 20;
  for (size_t i = 0; i < input.problems.size() && i < problems_shown; ++i)
    spdlog::error("{}:{}: {}", source, input.problems[i].line, input.problems[i].message);
  if (input.problems.size() > problems_shown)
    spdlog::error("{}: {} more malformed lines", source, input.problems.size() - problems_shown);
  auto code = input.problems.empty() ? exit_code::ok : exit_code::bad_input;
  if (code != exit_code::ok && !options.skip_malformed) {
    spdlog::error("{}: nothing sent; fix the lines above, or send the rest with "
                  "--skip-malformed",
                  source);
    return {{}, code};
  }
  if (input.orders.empty()) {
    spdlog::error("{}: no orders", source);
    return {{}, exit_code::bad_input};
  }
  for (auto& numbered : input.orders)
    numbered.request.merchant = options.merchant;
  return {std::move(input.orders), code};
}

/// The statement of a reconcile, read and checked before connecting; nothing when it has
/// problems (reported on stderr with their line numbers).
std::optional<std::vector<statement_row>> statement_to_compare(const reconcile_options& options) {
  const auto& path = options.statement_path;
  auto source = path == "-" ? std::string{"stdin"} : path;
  statement read;
  if (path == "-") {
    read = read_statement(std::cin);
  } else {
    std::ifstream file{path};
    if (!file) {
      spdlog::error("{}: cannot open the file", path);
      return std::nullopt;
    }
    read = read_statement(file);
  }
  constexpr size_t problems_shown = 20;
  for (size_t i = 0; i < read.problems.size() && i < problems_shown; ++i)
    spdlog::error("{}:{}: {}", source, read.problems[i].line, read.problems[i].message);
  if (read.problems.size() > problems_shown)
    spdlog::error("{}: {} more problems", source, read.problems.size() - problems_shown);
  if (!read.problems.empty()) {
    spdlog::error("{}: the statement has problems; nothing compared", source);
    return std::nullopt;
  }
  return std::move(read.rows);
}

exit_code run(const cli_options& options) {
  if (options.command == command_kind::backup)
    return run_backup(options.store, options.json, std::cout);
  if (options.command == command_kind::archive)
    return run_archive(options.store, options.json, wall_now_ms(), std::cout);
  submit_input input;
  if (options.command == command_kind::submit) {
    // Read before connecting: bad input is reported without bothering the node.
    input = orders_to_submit(options);
    if (input.orders.empty())
      return input.code;
  }
  std::vector<statement_row> statement;
  if (options.command == command_kind::reconcile) {
    auto rows = statement_to_compare(options.reconcile);
    if (!rows)
      return exit_code::bad_input;
    statement = std::move(*rows);
  }

  if (options.tls.enabled) {
    if (auto problem = check_tls_files(options.tls)) {
      spdlog::error("{}", *problem);
      return exit_code::bad_input;
    }
  }

  client_config cfg{options};
  caf::actor_system system{cfg};
  auto report_no_connection = [&](const failure_report& failure) {
    spdlog::error("cannot reach node {}: {}", options.node.to_string(), failure.message);
    output_style style{options.json, options.zone};
    if (options.command == command_kind::submit) {
      // Scripts read one result line per order: each order was not sent, and why.
      for (const auto& unsent : unsent_submissions(input.orders, failure))
        std::cout << render(unsent, style);
    } else if (options.json) {
      std::cout << render(failure, style);
    }
    std::cout << std::flush;
  };
  auto connected = connect_within(system, options);
  if (!connected) {
    report_no_connection({exit_code::unreachable, "connect_timeout",
                          fmt::format("no connection within {} ms (--timeout)",
                                      options.timeout.count())});
    // The abandoned connect cannot be cancelled, and ~actor_system would wait for it.
    // Nothing needs cleaning up: nothing was sent.
    std::_Exit(static_cast<int>(exit_code::unreachable));
  }
  if (!*connected) {
    auto failure = classify(connected->error());
    // CAF's OpenSSL module reports a failed TLS handshake with a plain node this way.
    if (options.tls.enabled && failure.kind == "cannot_connect_to_node")
      failure.message += "; with --tls this is also what a node without TLS looks like";
    report_no_connection(failure);
    return failure.code;
  }

  auto result = std::make_shared<exit_code>(input.code);
  if (stops_gracefully(options.command))
    std::signal(SIGINT, count_interrupt);
  auto session = system.spawn(client, options, std::move(**connected),
                              std::move(input.orders), std::move(statement), result);
  caf::scoped_actor self{system};
  self->monitor(session);
  bool done = false;
  bool forwarded_interrupt = false;
  caf::error ended_by;
  while (!done)
    self->receive([&](caf::down_msg& down) {
                    done = true;
                    ended_by = std::move(down.reason);
                  },
                  caf::after(std::chrono::milliseconds(100)) >> [&] {
                    if (!forwarded_interrupt && interrupts.load() > 0) {
                      forwarded_interrupt = true;
                      self->send_exit(session, caf::exit_reason::user_shutdown);
                    }
                  });
  // The client actor ends normally, or has reported why not; any other end is a failure
  // that must not look like success.
  if (ended_by && ended_by != caf::exit_reason::normal) {
    spdlog::error("the client stopped: {}", system.render(ended_by));
    return worse(*result, exit_code::internal);
  }
  return *result;
}

} // namespace

int main(int argc, char** argv) {
  // Nothing is thrown out of main: every way out says what went wrong on stderr and ends
  // with an exit code that is not 0.
  try {
    auto command_line = parse_command_line(argc, argv, wall_now_ms(), std::cout, std::cerr);
    if (!command_line.options)
      return static_cast<int>(command_line.code);
    setup_logging(command_line.options->level);
    return static_cast<int>(run(*command_line.options));
  } catch (const std::exception& error) {
    std::cerr << "topup-cli: error: " << error.what() << std::endl;
  } catch (...) {
    std::cerr << "topup-cli: error: an exception of unknown type" << std::endl;
  }
  return static_cast<int>(exit_code::internal);
}
