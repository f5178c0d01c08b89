#include "apps/cli/command_line.hpp"

#include "domain/amount.hpp"

#include <CLI/CLI.hpp>

#include <fstream>
#include <ostream>

namespace topup::cli {
namespace {

constexpr const char* description =
  "topup-cli: the command-line client of a topup node. Submits top-up orders (one, or many "
  "from a file, pipelined), shows orders and node statistics, follows order changes live, "
  "cancels orders that have not been dispatched yet, and reconciles a provider's statement "
  "with the engine's attempts. On the node's host it also backs up the node's SQLite store and "
  "archives its old final orders.";

constexpr const char* output_notes =
  "Output: results on stdout, one line per result; --json makes each line one JSON object\n"
  "with every field (human output masks phone numbers; JSON carries them in full).\n"
  "Diagnostics, the summary of a file submission and the progress bar (only when stderr is\n"
  "a terminal) go to stderr.\n"
  "\n"
  "An order, whether given with --ref/--phone/--amount, in a file or by any other client:\n"
  "  client_ref  UTF-8 text of 1 to 64 characters (not bytes; the node's limit), no\n"
  "              control characters, no white space at either end\n"
  "  phone       an 11-digit mainland mobile number, digits 0-9\n"
  "  amount_fen  a plain decimal integer: digits 0-9 only, no sign, no blanks, no leading\n"
  "              zero, no fraction or exponent (01750, +5000, 0x1388, 1e3 are refused)\n"
  "Values are taken exactly as written: nothing is trimmed, in any channel.\n"
  "\n"
  "Order files (submit --file FILE, or - for stdin), one order per line:\n"
  "  CSV:        client_ref,phone,amount_fen  (header optional; if present, columns in any\n"
  "              order; a field may be \"quoted\" to hold commas; blanks around a comma are\n"
  "              part of the field; blank lines and #-lines are skipped)\n"
  "  JSON lines: {\"client_ref\":\"r-1\",\"phone\":\"13800138000\",\"amount_fen\":1000}\n"
  "A malformed line is reported with its line number and nothing is sent (exit 2); with\n"
  "--skip-malformed the other lines are sent and the exit code is still at least 2.\n"
  "Every order gets one result line, in input order: accepted, existing (the reference was\n"
  "already used with the same content), rejected, unknown (sent but unanswered) or not_sent.\n"
  "\n";

/// Reports a usage error the way CLI11 does and returns the bad-input result.
command_line usage_error(std::ostream& err, const std::string& message) {
  err << "topup-cli: error: " << message << "\nRun with --help for more information.\n";
  return {std::nullopt, exit_code::bad_input};
}

CLI::Validator validator_of(std::function<std::string(const std::string&)> check,
                            std::string what) {
  return CLI::Validator([check = std::move(check)](std::string& text) { return check(text); },
                        std::move(what));
}

std::string check_duration(const std::string& text) {
  auto d = parse_duration(text);
  return d ? std::string{} : d.error;
}

std::string check_node(const std::string& text) {
  auto address = parse_node_address(text);
  return address ? std::string{} : address.error;
}

bool readable(const std::string& path) {
  std::ifstream file{path};
  return file.good();
}

std::vector<std::string> status_names() {
  std::vector<std::string> names;
  for (auto status : all_order_statuses)
    names.emplace_back(to_string(status));
  return names;
}

/// Checks what CLI11 cannot express; returns an error message or nothing.
std::optional<std::string> check_options(const cli_options& options, bool has_ref,
                                         bool has_phone, bool has_amount) {
  if (options.tls.enabled) {
    // CAF 0.17 terminates the process when it has a CA file but no certificate, so a partial
    // TLS configuration must never reach it.
    const std::pair<const char*, const std::string*> files[] = {
      {"--ca", &options.tls.ca_file},
      {"--cert", &options.tls.certificate},
      {"--key", &options.tls.key}};
    for (const auto& [flag, path] : files) {
      if (path->empty())
        return std::string{"--tls needs --ca, --cert and --key; "} + flag + " is missing";
      if (!readable(*path))
        return std::string{flag} + " " + *path + ": cannot read the file";
    }
  }
  switch (options.command) {
    case command_kind::submit: {
      auto single = has_ref || has_phone || has_amount;
      if (single && !options.order_file.empty())
        return std::string{"submit takes either --ref/--phone/--amount or --file, not both"};
      if (!single && options.order_file.empty())
        return std::string{"submit needs --ref, --phone and --amount (one order) or --file"};
      if (single && !(has_ref && has_phone && has_amount))
        return std::string{"submit of one order needs all of --ref, --phone and --amount"};
      if (!options.order_file.empty() && options.order_file != "-"
          && !readable(options.order_file))
        return "--file " + options.order_file + ": cannot read the file";
      break;
    }
    case command_kind::status:
      if (options.order_id.empty() == options.client_ref.empty())
        return std::string{"status takes an order ID or --ref REF (one of them)"};
      break;
    case command_kind::redeliver:
      if (options.order_id.empty() == options.delivery_id.empty())
        return std::string{"redeliver takes an order ID or --delivery DELIVERY_ID (one of them)"};
      break;
    default:
      break;
  }
  return std::nullopt;
}

} // namespace

bool works_on_the_store(command_kind command) {
  return command == command_kind::backup || command == command_kind::archive;
}

std::string_view to_string(command_kind command) {
  switch (command) {
    case command_kind::submit: return "submit";
    case command_kind::status: return "status";
    case command_kind::list: return "list";
    case command_kind::stats: return "stats";
    case command_kind::watch: return "watch";
    case command_kind::cancel: return "cancel";
    case command_kind::members: return "members";
    case command_kind::reconcile: return "reconcile";
    case command_kind::deliveries: return "deliveries";
    case command_kind::redeliver: return "redeliver";
    case command_kind::backup: return "backup";
    case command_kind::archive: return "archive";
  }
  return "stats";
}

command_line parse_command_line(int argc, const char* const* argv, int64_t now_ms,
                                std::ostream& out, std::ostream& err) {
  cli_options options;
  std::string node_text = options.node.to_string();
  std::string timeout_text = "10s";
  std::string connection_timeout_text = "5s";
  bool utc = false;
  bool quiet = false;
  bool verbose = false;

  CLI::App app{description, "topup-cli"};
  app.footer(std::string{output_notes} + exit_codes_help());
  app.require_subcommand(1);
  // Global options may also follow the subcommand: `topup-cli stats --json`.
  app.fallthrough();

  app.add_option("--node", node_text, "The node's gateway, HOST:PORT ([IPV6]:PORT)")
    ->envname("TOPUP_NODE")
    ->capture_default_str()
    ->type_name("HOST:PORT")
    ->check(validator_of(check_node, ""))
    ->group("Connection");
  app.add_option("--timeout", timeout_text,
                 "How long each request waits for the node's answer (500ms, 10s, 2m; a bare "
                 "number is seconds)")
    ->capture_default_str()
    ->type_name("DURATION")
    ->check(validator_of(check_duration, ""))
    ->group("Connection");
  app.add_option("--connection-timeout", connection_timeout_text,
                 "A connection silent this long (not even a heartbeat) counts as lost; longer "
                 "than the heartbeat interval of client and node (1s)")
    ->capture_default_str()
    ->type_name("DURATION")
    ->check(validator_of(check_duration, ""))
    ->group("Connection");
  auto tls_flag = app.add_flag("--tls", options.tls.enabled,
                               "Connect with mutual TLS (needs --ca, --cert and --key)")
                    ->group("Connection");
  app.add_option("--ca", options.tls.ca_file,
                 "PEM file of the CA that signed the node's certificate")
    ->type_name("FILE")
    ->needs(tls_flag)
    ->group("Connection");
  app.add_option("--cert", options.tls.certificate, "PEM file of this client's certificate")
    ->type_name("FILE")
    ->needs(tls_flag)
    ->group("Connection");
  app.add_option("--key", options.tls.key, "PEM file of this client's private key")
    ->type_name("FILE")
    ->needs(tls_flag)
    ->group("Connection");
  app.add_flag("--json", options.json, "One JSON object per line on stdout")->group("Output");
  app.add_flag("--utc", utc, "Show and read times in UTC instead of local time")->group("Output");
  auto quiet_flag =
    app.add_flag("-q,--quiet", quiet, "Only errors on stderr (no summary, no progress bar)")
      ->group("Output");
  app.add_flag("-v,--verbose", verbose, "Debug messages on stderr")
    ->excludes(quiet_flag)
    ->group("Output");

  bool has_ref = false, has_phone = false, has_amount = false;
  order_request single;
  std::string amount_text;
  std::string format_text = "auto";
  auto submit = app.add_subcommand("submit", "Submit one order, or many from a file or stdin");
  auto ref_option = submit->add_option("--ref", single.client_ref,
                                       "Client reference: the idempotency key of the order")
                        ->type_name("REF");
  auto phone_option = submit->add_option("--phone", single.phone, "Mobile number, 11 digits")
                          ->type_name("PHONE");
  // Read as text: CLI11's own integer parsing takes 01750 for octal and 0x1388 for hex.
  auto amount_option =
    submit->add_option("--amount", amount_text,
                       "Amount in fen (1000 = 10 yuan): digits only, no sign, no leading zero")
      ->type_name("FEN");
  auto carrier_option = submit->add_option("--carrier", single.carrier,
                     "Carrier of --phone when it is not its prefix's (a ported number)")
    ->type_name("CARRIER");
  submit->add_option("--merchant", options.merchant,
                     "Merchant the orders are for, --file's too (default: the node's default "
                     "merchant)")
    ->type_name("ID");
  submit->add_option("--file", options.order_file,
                     "Orders to submit, CSV or JSON lines; - reads stdin")
    ->type_name("FILE");
  submit->add_option("--format", format_text, "Format of --file")
    ->capture_default_str()
    ->check(CLI::IsMember({"auto", "csv", "jsonl"}));
  submit->add_option("--batch", options.batch_size, "Orders per submit message")
    ->capture_default_str()
    ->check(CLI::Range(1, 10000));
  submit->add_option("--in-flight", options.batches_in_flight,
                     "Submit messages awaiting an answer at once")
    ->capture_default_str()
    ->check(CLI::Range(1, 64));
  submit->add_flag("--skip-malformed", options.skip_malformed,
                   "Send the well-formed lines of a file that has malformed ones");

  auto status = app.add_subcommand("status", "Show one order, by ID or by client reference");
  status->add_option("id", options.order_id, "Order ID")->type_name("ID");
  status->add_option("--ref", options.client_ref, "Client reference instead of an ID")
    ->type_name("REF");
  status->add_option("--merchant", options.merchant,
                     "Merchant of --ref (default: the node's default merchant)")
    ->type_name("ID");
  status->add_flag("--history", options.history,
                   "Also show the order's story: every state change, attempt (provider, "
                   "request id, outcome, latency), and status query");

  std::string status_filter, since_text;
  auto list = app.add_subcommand("list", "List the newest orders matching all given filters");
  list->add_option("--status", status_filter, "Only orders in this state")
    ->type_name("STATUS")
    ->check(CLI::IsMember(status_names()));
  list->add_option("--carrier", options.filter.carrier, "Only this carrier (e.g. cmcc)")
    ->type_name("CARRIER");
  list->add_option("--provider", options.filter.provider, "Only orders last tried on this provider")
    ->type_name("PROVIDER");
  list->add_option("--since", since_text,
                   "Only orders accepted at or after: 2024-05-01T12:00[:SS][Z|+08:00], "
                   "milliseconds since the epoch, or a duration ago (15m, 2h, 1d)")
    ->type_name("TIME");
  list->add_option("--limit", options.filter.limit, "At most this many orders, newest first")
    ->capture_default_str()
    ->check(CLI::Range(1, 10000));

  app.add_subcommand("stats", "Show the counters: intake, store, orders, providers; in a "
                              "cluster, of every node and their totals");

  auto watch = app.add_subcommand(
    "watch", "Print order changes as they happen, on any node of a cluster, until Ctrl-C "
             "(exit 0). With an ID, print the order's current state first and stop once it is "
             "final");
  watch->add_option("id", options.order_id, "Order ID; without it, every order")
    ->type_name("ID");
  watch->add_option("--count", options.event_count, "Stop after this many changes (0: no limit)")
    ->capture_default_str();

  auto cancel =
    app.add_subcommand("cancel", "Cancel an order that is still waiting for its first call");
  cancel->add_option("id", options.order_id, "Order ID")->type_name("ID")->required();

  auto deliveries = app.add_subcommand(
    "deliveries", "Show an order's result callbacks to its merchant: delivery id, state, "
                  "attempts, the last HTTP status and error, the next try");
  deliveries->add_option("id", options.order_id, "Order ID")->type_name("ID")->required();
  auto redeliver = app.add_subcommand(
    "redeliver", "Send an order's latest result callback (or the one --delivery names) again "
                 "now, under the same delivery id (also one delivered or abandoned); shows it "
                 "as it then stands");
  redeliver->add_option("id", options.order_id, "Order ID")->type_name("ID");
  redeliver->add_option("--delivery", options.delivery_id,
                        "This notification instead of the order's latest (a DELIVERY_ID as "
                        "deliveries shows it)")
    ->type_name("DELIVERY_ID");

  auto members = app.add_subcommand(
    "members", "Show the cluster's members as the node sees them: address, liveness, "
               "heartbeat age and the providers each owns");

  reconcile_arguments reconcile_texts;
  auto reconcile = add_reconcile_command(app, options.reconcile, reconcile_texts);
  store_command_arguments store_texts;
  auto store_commands = add_store_commands(app, options.store, store_texts);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    auto code = app.exit(error, out, err);
    return {std::nullopt, code == 0 ? exit_code::ok : exit_code::bad_input};
  }

  const std::pair<CLI::App*, command_kind> commands[] = {
    {submit, command_kind::submit}, {status, command_kind::status},
    {list, command_kind::list},     {watch, command_kind::watch},
    {cancel, command_kind::cancel}, {members, command_kind::members},
    {reconcile, command_kind::reconcile},
    {deliveries, command_kind::deliveries}, {redeliver, command_kind::redeliver},
    {store_commands.backup, command_kind::backup}, {store_commands.archive, command_kind::archive}};
  options.command = command_kind::stats;
  for (const auto& [sub, kind] : commands)
    if (sub->parsed())
      options.command = kind;

  options.node = *parse_node_address(node_text).value;
  options.timeout = *parse_duration(timeout_text).value;
  options.connection_timeout = *parse_duration(connection_timeout_text).value;
  if (options.timeout.count() == 0)
    return usage_error(err, "--timeout must be longer than 0: every request needs a limit");
  if (options.connection_timeout.count() <= heartbeat_interval_ms)
    return usage_error(err, "--connection-timeout must be longer than the heartbeat interval ("
                              + std::to_string(heartbeat_interval_ms) + " ms)");
  options.zone = utc ? time_zone::utc : time_zone::local;
  options.level = quiet ? verbosity::quiet : verbose ? verbosity::verbose : verbosity::normal;
  options.format = *input_format_from_string(format_text);
  has_ref = ref_option->count() > 0;
  has_phone = phone_option->count() > 0;
  has_amount = amount_option->count() > 0;
  if (has_amount) {
    auto amount = parse_amount(amount_text);
    if (auto refused = std::get_if<failure>(&amount))
      return usage_error(err, "--amount: " + refused->describe());
    single.amount_fen = std::get<int64_t>(amount);
  }
  if (carrier_option->count() > 0 && !options.order_file.empty())
    return usage_error(err, "--carrier is for the one order of --ref/--phone/--amount; the "
                            "orders of a file name theirs in JSON lines (\"carrier\")");
  if (has_ref || has_phone || has_amount) {
    single.merchant = options.merchant;
    options.single_order = single;
  }
  options.filter.status = status_filter;
  if (!since_text.empty()) {
    auto since = parse_time_point(since_text, now_ms, options.zone);
    if (!since)
      return usage_error(err, "--since " + since.error);
    options.filter.since_ms = *since.value;
  }
  if (options.command == command_kind::reconcile)
    if (auto problem = finish_reconcile_options(options.reconcile, reconcile_texts, now_ms, utc,
                                                options.json))
      return usage_error(err, *problem);
  if (works_on_the_store(options.command))
    if (auto problem = finish_store_options(options.store, store_texts))
      return usage_error(err, *problem);
  if (auto problem = check_options(options, has_ref, has_phone, has_amount))
    return usage_error(err, *problem);
  return {std::move(options), exit_code::ok};
}

} // namespace topup::cli
