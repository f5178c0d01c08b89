#include "config/config.hpp"

#include "config/json_reader.hpp"
#include "domain/admission.hpp"
#include "domain/host_port.hpp"
#include "domain/text.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace topup {

config_error::config_error(std::string path, std::string reason)
  : std::runtime_error((path.empty() ? std::string{"(document)"} : path) + ": " + reason),
    path_(std::move(path)), reason_(std::move(reason)) {}

const provider_config* config::find_provider(const std::string& name) const {
  for (const auto& provider : providers)
    if (provider.name == name)
      return &provider;
  return nullptr;
}

namespace json_config {

std::string type_name(const json& value) {
  if (value.is_number_integer())
    return "an integer";
  if (value.is_number())
    return "a number";
  return std::string{"a"} + (value.is_array() || value.is_object() ? "n " : " ") + value.type_name();
}

std::string pointer_token(const std::string& key) {
  std::string token;
  for (char c : key) {
    if (c == '~')
      token += "~0";
    else if (c == '/')
      token += "~1";
    else
      token += c;
  }
  return token;
}

const json& as_array(const json& value, const std::string& path) {
  if (!value.is_array())
    throw config_error(path, "expected an array, got " + type_name(value));
  return value;
}

namespace {

/// Builds the document from nlohmann's SAX events, knowing at each event the JSON pointer of
/// the value being read, so that every failure inside the text names its field: a key given
/// twice in one object (it would silently keep the last value), a number out of range
/// ("rate": 1e400), nesting no configuration needs. Linear in the size of the text: the
/// pointer is only put together when an error is thrown.
class document_builder final : public json::json_sax_t {
public:
  /// Deeper than any configuration goes; stops pathological input early.
  static constexpr size_t max_depth = 64;

  json take() { return std::move(root_); }

  bool null() override { return add(json(nullptr)); }
  bool boolean(bool value) override { return add(json(value)); }
  bool number_integer(number_integer_t value) override { return add(json(value)); }
  bool number_unsigned(number_unsigned_t value) override { return add(json(value)); }
  bool number_float(number_float_t value, const string_t&) override { return add(json(value)); }
  bool string(string_t& value) override { return add(json(std::move(value))); }
  bool binary(binary_t&) override { return true; }  // JSON text has none

  bool start_object(std::size_t) override { return open(json::object()); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_array() override { return close(); }

  bool key(string_t& name) override {
    auto& object = *levels_.back().container;
    if (object.contains(name))
      throw config_error(path_to(levels_.size() - 1) + "/" + json_config::pointer_token(name),
                         "key \"" + name + "\" appears twice in one object");
    levels_.back().key = std::move(name);
    return true;
  }

  bool parse_error(std::size_t, const std::string& token,
                   const nlohmann::detail::exception& error) override {
    if (error.id == 406)
      throw config_error(path_to(levels_.size()), "number is out of range (" + token + ")");
    throw config_error("", std::string{"not valid JSON: "} + error.what());
  }

private:
  struct level {
    json* container;
    std::string key;  ///< objects: the key of the value being read
  };

  /// The pointer of the value being read inside the first `depth` levels. In an array the
  /// value being read is the next element, unless it is the container of a deeper level,
  /// which is its last element already.
  std::string path_to(size_t depth) const {
    std::string path;
    for (size_t i = 0; i < depth && i < levels_.size(); ++i) {
      const auto& l = levels_[i];
      path += "/";
      if (l.container->is_array()) {
        auto placed = i + 1 < levels_.size() ? size_t{1} : size_t{0};
        path += std::to_string(l.container->size() - placed);
      } else {
        path += json_config::pointer_token(l.key);
      }
    }
    return path;
  }

  json* place(json&& value) {
    if (levels_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    auto& parent = levels_.back();
    if (parent.container->is_array()) {
      parent.container->push_back(std::move(value));
      return &parent.container->back();
    }
    return &((*parent.container)[parent.key] = std::move(value));
  }

  bool add(json&& value) {
    place(std::move(value));
    return true;
  }

  bool open(json&& container) {
    if (levels_.size() >= max_depth)
      throw config_error(path_to(levels_.size()),
                         "nested more than " + std::to_string(max_depth) + " levels deep");
    auto placed = place(std::move(container));
    levels_.push_back({placed, {}});
    return true;
  }

  bool close() {
    levels_.pop_back();
    return true;
  }

  json root_;
  std::vector<level> levels_;
};

} // namespace

json parse_document(const std::string& text) {
  document_builder builder;
  json::sax_parse(text, &builder, nlohmann::detail::input_format_t::json, /*strict=*/true,
                  /*ignore_comments=*/true);
  return builder.take();
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::error_code ignored;
  if (!in || std::filesystem::is_directory(path, ignored))
    throw config_error("", "cannot read configuration file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string readable_file(object_reader& reader, const std::string& key) {
  auto path = reader.string(key, "");
  if (path.empty() && reader.has(key))
    throw config_error(reader.path_of(key), "must not be empty");
  if (!path.empty() && !std::ifstream{path})
    throw config_error(reader.path_of(key), "cannot read '" + path + "'");
  return path;
}

} // namespace json_config

namespace {

using json_config::as_array;
using json_config::json;
using json_config::object_reader;
using json_config::pointer_token;


std::vector<std::string> string_list(const json& value, const std::string& path) {
  std::vector<std::string> out;
  const auto& array = as_array(value, path);
  for (size_t i = 0; i < array.size(); ++i)
    out.push_back(object_reader::as_string(array[i], path + "/" + std::to_string(i)));
  return out;
}

std::vector<int64_t> integer_list(const json& value, const std::string& path) {
  std::vector<int64_t> out;
  const auto& array = as_array(value, path);
  for (size_t i = 0; i < array.size(); ++i)
    out.push_back(object_reader::as_integer(array[i], path + "/" + std::to_string(i)));
  return out;
}

template <class Number>
void require_positive(Number value, const std::string& path) {
  if (!(value > 0)) {
    std::ostringstream got;
    got << value;
    throw config_error(path, "must be > 0 (got " + got.str() + ")");
  }
}

template <class Number>
void require_range(Number value, Number low, Number high, const std::string& path) {
  if (!(value >= low && value <= high)) {
    std::ostringstream text;
    text << "must be between " << low << " and " << high << " (got " << value << ")";
    throw config_error(path, text.str());
  }
}

/// Fails on the first value listed a second time. Linear: a configuration may be large.
template <class T>
void require_unique(const std::vector<T>& values, const std::string& path) {
  std::set<T> seen;
  for (size_t i = 0; i < values.size(); ++i)
    if (!seen.insert(values[i]).second) {
      std::ostringstream text;
      text << values[i] << " is listed twice";
      throw config_error(path + "/" + std::to_string(i), text.str());
    }
}

template <class Enum>
Enum choice(object_reader& reader, const std::string& key, Enum fallback,
            std::initializer_list<std::pair<const char*, Enum>> options) {
  auto value = reader.find(key);
  if (!value)
    return fallback;
  auto text = object_reader::as_string(*value, reader.path_of(key));
  std::string allowed;
  for (const auto& [name, option] : options) {
    if (text == name)
      return option;
    allowed += allowed.empty() ? "" : ", ";
    allowed += name;
  }
  throw config_error(reader.path_of(key), "'" + text + "' is not one of: " + allowed);
}

} // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

namespace {

node_config read_node(const json& value, const std::string& path) {
  node_config node;
  object_reader reader{value, path};
  node.name = reader.string("name", node.name);
  if (node.name.empty())
    throw config_error(reader.path_of("name"), "must not be empty");
  if (auto listen = reader.find("listen")) {
    object_reader listen_reader{*listen, reader.path_of("listen")};
    node.host = listen_reader.string("host", node.host);
    if (node.host.empty())
      throw config_error(listen_reader.path_of("host"), "must not be empty");
    auto port = listen_reader.integer("port", node.port);
    require_range<int64_t>(port, 0, 65535, listen_reader.path_of("port"));
    node.port = static_cast<uint16_t>(port);
    auto connections = listen_reader.integer("max_connections",
                                             static_cast<int64_t>(node.max_connections));
    require_range<int64_t>(connections, 1, 1000000, listen_reader.path_of("max_connections"));
    node.max_connections = static_cast<size_t>(connections);
    node.handshake_timeout_ms = listen_reader.integer("handshake_timeout_ms",
                                                      node.handshake_timeout_ms);
    require_range<int64_t>(node.handshake_timeout_ms, 100, 600000,
                           listen_reader.path_of("handshake_timeout_ms"));
    auto message_bytes = listen_reader.integer("max_message_bytes", node.max_message_bytes);
    // Below 64 KiB the engine's own batches would not fit; CAF's length field is 32 bits.
    require_range<int64_t>(message_bytes, 65536, UINT32_MAX,
                           listen_reader.path_of("max_message_bytes"));
    node.max_message_bytes = static_cast<uint32_t>(message_bytes);
    node.allow_unauthenticated_peers =
      listen_reader.boolean("allow_unauthenticated_peers", node.allow_unauthenticated_peers);
    listen_reader.finish();
  }
  if (auto tls = reader.find("tls")) {
    object_reader tls_reader{*tls, reader.path_of("tls")};
    node.tls.certificate = tls_reader.string("certificate", "");
    node.tls.key = tls_reader.string("key", "");
    node.tls.ca_file = tls_reader.string("ca_file", "");
    tls_reader.finish();
    if (node.tls.certificate.empty() != node.tls.key.empty())
      throw config_error(reader.path_of("tls"), "certificate and key must be given together");
    if (!node.tls.ca_file.empty() && node.tls.certificate.empty())
      throw config_error(reader.path_of("tls") + "/ca_file",
                         "a CA file needs the node's own certificate and key as well");
  }
  // BASP authenticates nobody: beyond this machine, only mutual TLS keeps strangers out.
  if (!is_loopback_host(node.host) && !node.allow_unauthenticated_peers
      && node.tls.ca_file.empty())
    throw config_error(reader.path_of("listen") + "/host",
                       "'" + node.host + "' is not a loopback address: peers must authenticate "
                       "with mutual TLS (/node/tls with certificate, key and ca_file), or set "
                       "/node/listen/allow_unauthenticated_peers to true");
  auto threads = reader.integer("scheduler_threads", static_cast<int64_t>(node.scheduler_threads));
  require_range<int64_t>(threads, 1, 256, reader.path_of("scheduler_threads"));
  node.scheduler_threads = static_cast<size_t>(threads);
  node.log_level = reader.string("log_level", node.log_level);
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
  if (levels.count(node.log_level) == 0)
    throw config_error(reader.path_of("log_level"),
                       "'" + node.log_level + "' is not one of: trace, debug, info, warn, error, off");
  node.log_format = reader.string("log_format", node.log_format);
  if (node.log_format != "text" && node.log_format != "json")
    throw config_error(reader.path_of("log_format"),
                       "'" + text::printable(node.log_format, 20) + "' is not one of: text, json");
  node.heartbeat_interval_ms = reader.integer("heartbeat_interval_ms", node.heartbeat_interval_ms);
  require_positive(node.heartbeat_interval_ms, reader.path_of("heartbeat_interval_ms"));
  node.connection_timeout_ms = reader.integer("connection_timeout_ms", node.connection_timeout_ms);
  if (node.connection_timeout_ms <= node.heartbeat_interval_ms)
    throw config_error(reader.path_of("connection_timeout_ms"),
                       "must be longer than heartbeat_interval_ms ("
                         + std::to_string(node.heartbeat_interval_ms) + ")");
  reader.finish();
  return node;
}

store_config read_store(const json& value, const std::string& path) {
  store_config store;
  object_reader reader{value, path};
  using backend = store_config::backend_kind;
  store.backend = choice(reader, "backend", backend::sqlite,
                         {{"sqlite", backend::sqlite}, {"postgresql", backend::postgresql}});
  if (auto sqlite = reader.find("sqlite")) {
    object_reader sqlite_reader{*sqlite, reader.path_of("sqlite")};
    store.sqlite_path = sqlite_reader.string("path", store.sqlite_path);
    if (store.sqlite_path.empty())
      throw config_error(sqlite_reader.path_of("path"), "must not be empty");
    store.synchronous = choice(sqlite_reader, "synchronous", store.synchronous,
                               {{"normal", sqlite_synchronous::normal},
                                {"full", sqlite_synchronous::full}});
    auto busy = sqlite_reader.integer("busy_timeout_s", store.busy_timeout_s);
    require_range<int64_t>(busy, 1, 3600, sqlite_reader.path_of("busy_timeout_s"));
    store.busy_timeout_s = static_cast<int>(busy);
    sqlite_reader.finish();
  }
  if (auto postgresql = reader.find("postgresql")) {
    object_reader pg_reader{*postgresql, reader.path_of("postgresql")};
    store.postgresql_connection = pg_reader.required_string("connection");
    auto readers = pg_reader.integer("read_connections",
                                     static_cast<int64_t>(store.read_connections));
    require_range<int64_t>(readers, 0, store_config::max_read_connections,
                           pg_reader.path_of("read_connections"));
    store.read_connections = static_cast<size_t>(readers);
    pg_reader.finish();
  }
  if (store.backend == backend::postgresql && store.postgresql_connection.empty())
    throw config_error(reader.path_of("postgresql") + "/connection",
                       "required when backend is 'postgresql'");
  if (reader.has("shards"))
    store.shards = static_cast<size_t>(
      reader.integer_between("shards", 1, 1, store_config::max_shards));
  auto max_batch = reader.integer("max_batch", static_cast<int64_t>(store.max_batch));
  require_range<int64_t>(max_batch, 1, 100000, reader.path_of("max_batch"));
  store.max_batch = static_cast<size_t>(max_batch);
  auto max_pending = reader.integer("max_pending_writes",
                                    static_cast<int64_t>(store.max_pending_writes));
  require_positive(max_pending, reader.path_of("max_pending_writes"));
  store.max_pending_writes = static_cast<size_t>(max_pending);
  reader.finish();
  return store;
}

deadline_config read_deadline(const json& value, const std::string& path) {
  deadline_config deadline;
  object_reader reader{value, path};
  deadline.limit_ms = reader.integer("limit_ms", deadline.limit_ms);
  require_positive(deadline.limit_ms, reader.path_of("limit_ms"));
  if (auto resend = reader.find("resend_at_ms"))
    deadline.resend_at_ms = integer_list(*resend, reader.path_of("resend_at_ms"));
  for (size_t i = 0; i < deadline.resend_at_ms.size(); ++i) {
    auto point_path = reader.path_of("resend_at_ms") + "/" + std::to_string(i);
    auto point = deadline.resend_at_ms[i];
    require_positive(point, point_path);
    if (point >= deadline.limit_ms)
      throw config_error(point_path, "re-send point " + std::to_string(point)
                                       + " ms is not before the deadline limit_ms ("
                                       + std::to_string(deadline.limit_ms) + ")");
    if (i > 0 && point <= deadline.resend_at_ms[i - 1])
      throw config_error(point_path, "re-send points must be strictly increasing");
  }
  deadline.query_interval_ms = reader.integer("query_interval_ms", deadline.query_interval_ms);
  require_positive(deadline.query_interval_ms, reader.path_of("query_interval_ms"));
  reader.finish();
  return deadline;
}

admission_config read_admission(const json& value, const std::string& path,
                                admission_config admission) {
  object_reader reader{value, path};
  admission.enabled = reader.boolean("enabled", admission.enabled);
  if (reader.has("margin_ms")) {
    auto margin = reader.integer("margin_ms", 0);
    if (margin < 0)
      throw config_error(reader.path_of("margin_ms"),
                         "must be >= 0 (got " + std::to_string(margin) + ")");
    admission.margin_ms = margin;
  }
  admission.store_lag_limit_ms = reader.integer_between(
    "store_lag_limit_ms", admission.store_lag_limit_ms, 0, 3600 * 1000LL);
  reader.finish();
  return admission;
}

/// "host:port" with a non-empty host and a port from 1 to 65535.
void check_address(const std::string& address, const std::string& path) {
  if (auto reading = parse_host_port(address); !reading)
    throw config_error(path, reading.error);
}

cluster_config read_cluster(const json& value, const std::string& path,
                            const store_config& store) {
  cluster_config cluster;
  object_reader reader{value, path};
  if (auto seeds = reader.find("seeds")) {
    cluster.seeds = string_list(*seeds, reader.path_of("seeds"));
    for (size_t i = 0; i < cluster.seeds.size(); ++i)
      check_address(cluster.seeds[i], reader.path_of("seeds") + "/" + std::to_string(i));
    require_unique(cluster.seeds, reader.path_of("seeds"));
  }
  cluster.heartbeat_interval_ms =
    reader.integer("heartbeat_interval_ms", cluster.heartbeat_interval_ms);
  require_positive(cluster.heartbeat_interval_ms, reader.path_of("heartbeat_interval_ms"));
  // A node renews its leases and its membership row once per heartbeat: both must outlast
  // the interval, or a healthy node would lose them between two heartbeats.
  auto must_outlast_heartbeat = [&](const char* key, int64_t& field) {
    field = reader.integer(key, field);
    if (field <= cluster.heartbeat_interval_ms)
      throw config_error(reader.path_of(key),
                         "must be longer than heartbeat_interval_ms ("
                           + std::to_string(cluster.heartbeat_interval_ms) + ", got "
                           + std::to_string(field) + ")");
  };
  must_outlast_heartbeat("down_after_ms", cluster.down_after_ms);
  must_outlast_heartbeat("lease_ttl_ms", cluster.lease_ttl_ms);
  reader.finish();
  if (store.backend != store_config::backend_kind::postgresql)
    throw config_error(path, "a cluster needs the postgresql store backend (/store/backend is"
                             " 'sqlite'): its nodes share one database");
  return cluster;
}

std::map<std::string, std::vector<std::string>> read_carriers(const json& value,
                                                              const std::string& path) {
  object_reader reader{value, path};
  std::map<std::string, std::vector<std::string>> carriers;
  std::map<std::string, std::string> owner_of_prefix;
  for (const auto& item : value.items()) {
    auto carrier_path = reader.path_of(item.key());
    auto prefixes = string_list(reader.require(item.key()), carrier_path);
    if (prefixes.empty())
      throw config_error(carrier_path, "a carrier needs at least one prefix");
    for (size_t i = 0; i < prefixes.size(); ++i) {
      const auto& prefix = prefixes[i];
      auto prefix_path = carrier_path + "/" + std::to_string(i);
      bool digits = std::all_of(prefix.begin(), prefix.end(),
                                [](char c) { return c >= '0' && c <= '9'; });
      // Four digits for the segments split by their fourth digit (1703 inside 170).
      if (prefix.size() < 3 || prefix.size() > 4 || !digits || prefix[0] != '1')
        throw config_error(prefix_path, "'" + prefix
                                          + "' is not a mobile prefix of three or four digits"
                                            " starting with 1");
      auto [it, inserted] = owner_of_prefix.emplace(prefix, item.key());
      if (!inserted)
        throw config_error(prefix_path, "prefix " + prefix + " already belongs to " + it->second);
    }
    carriers.emplace(item.key(), std::move(prefixes));
  }
  if (carriers.empty())
    throw config_error(path, "at least one carrier is required");
  reader.finish();
  return carriers;
}

latency_config read_latency(const json& value, const std::string& path) {
  latency_config latency;
  object_reader reader{value, path};
  using kind = latency_config::distribution_kind;
  latency.distribution = choice(reader, "distribution", kind::fixed,
                                {{"fixed", kind::fixed}, {"lognormal", kind::lognormal}});
  if (latency.distribution == kind::fixed) {
    latency.fixed_ms = reader.number("fixed_ms", latency.fixed_ms);
    if (latency.fixed_ms < 0)
      throw config_error(reader.path_of("fixed_ms"), "must be >= 0");
  } else {
    latency.median_ms = reader.number("median_ms", latency.median_ms);
    require_positive(latency.median_ms, reader.path_of("median_ms"));
    latency.p99_ms = reader.number("p99_ms", latency.p99_ms);
    if (!(latency.p99_ms > latency.median_ms))
      throw config_error(reader.path_of("p99_ms"), "must be greater than median_ms");
  }
  reader.finish();
  return latency;
}

simulated_adapter_config read_simulated(object_reader& reader) {
  simulated_adapter_config sim;
  if (auto latency = reader.find("latency"))
    sim.latency = read_latency(*latency, reader.path_of("latency"));
  if (auto outcomes = reader.find("outcomes")) {
    object_reader outcome_reader{*outcomes, reader.path_of("outcomes")};
    auto share = [&](const char* key, double fallback) {
      auto value = outcome_reader.number(key, fallback);
      require_range(value, 0.0, 1.0, outcome_reader.path_of(key));
      return value;
    };
    sim.outcomes.success = share("success", 0);
    sim.outcomes.transient = share("transient", 0);
    sim.outcomes.permanent = share("permanent", 0);
    sim.outcomes.unknown = share("unknown", 0);
    outcome_reader.finish();
    auto total = sim.outcomes.success + sim.outcomes.transient + sim.outcomes.permanent
                 + sim.outcomes.unknown;
    if (std::abs(total - 1.0) > 1e-9)
      throw config_error(reader.path_of("outcomes"),
                         "shares must add up to 1 (got " + std::to_string(total) + ")");
  }
  sim.unknown_success_probability =
    reader.number("unknown_success_probability", sim.unknown_success_probability);
  require_range(sim.unknown_success_probability, 0.0, 1.0,
                reader.path_of("unknown_success_probability"));
  if (auto outages = reader.find("outages")) {
    const auto& array = as_array(*outages, reader.path_of("outages"));
    for (size_t i = 0; i < array.size(); ++i) {
      object_reader window_reader{array[i], reader.path_of("outages") + "/" + std::to_string(i)};
      outage_window window;
      window.from_s = object_reader::as_number(window_reader.require("from_s"),
                                               window_reader.path_of("from_s"));
      window.to_s = object_reader::as_number(window_reader.require("to_s"),
                                             window_reader.path_of("to_s"));
      if (window.from_s < 0)
        throw config_error(window_reader.path_of("from_s"), "must be >= 0");
      if (!(window.to_s > window.from_s))
        throw config_error(window_reader.path_of("to_s"), "must be after from_s");
      window_reader.finish();
      sim.outages.push_back(window);
    }
  }
  sim.ledger_path = reader.string("ledger", "");
  if (auto wrong_carrier = reader.find("wrong_carrier")) {
    auto list_path = reader.path_of("wrong_carrier");
    sim.wrong_carrier = string_list(*wrong_carrier, list_path);
    for (size_t i = 0; i < sim.wrong_carrier.size(); ++i) {
      const auto& digits = sim.wrong_carrier[i];
      if (digits.empty() || digits.size() > 11
          || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw config_error(list_path + "/" + std::to_string(i),
                           "'" + digits + "' is not a number or the first digits of one");
    }
  }
  auto seed = reader.integer("seed", static_cast<int64_t>(sim.seed));
  if (seed < 0)
    throw config_error(reader.path_of("seed"), "must be >= 0");
  sim.seed = static_cast<uint64_t>(seed);
  return sim;
}

http_adapter_config read_http(object_reader& reader) {
  http_adapter_config http;
  http.base_url = reader.required_string("base_url");
  if (http.base_url.rfind("http://", 0) != 0 && http.base_url.rfind("https://", 0) != 0)
    throw config_error(reader.path_of("base_url"), "must start with http:// or https://");
  http.ca_file = json_config::readable_file(reader, "ca_file");
  http.secret = reader.required_string("secret");
  if (http.secret.empty())
    throw config_error(reader.path_of("secret"), "must not be empty");
  http.connect_timeout_ms = reader.integer("connect_timeout_ms", http.connect_timeout_ms);
  require_positive(http.connect_timeout_ms, reader.path_of("connect_timeout_ms"));
  auto pool = reader.integer("pool_size", static_cast<int64_t>(http.pool_size));
  require_range<int64_t>(pool, 1, 4096, reader.path_of("pool_size"));
  http.pool_size = static_cast<size_t>(pool);
  return http;
}

adapter_config read_adapter(const json& value, const std::string& path) {
  object_reader reader{value, path};
  auto type = reader.required_string("type");
  adapter_config adapter;
  if (type == "simulated")
    adapter = read_simulated(reader);
  else if (type == "http")
    adapter = read_http(reader);
  else
    throw config_error(reader.path_of("type"), "'" + type + "' is not one of: simulated, http");
  reader.finish();
  return adapter;
}

provider_config read_provider(const json& value, const std::string& path) {
  provider_config provider;
  object_reader reader{value, path};
  provider.name = reader.required_string("name");
  if (provider.name.empty())
    throw config_error(reader.path_of("name"), "must not be empty");
  // The store keeps lists of provider names one per line (encode_provider_list).
  if (provider.name.find('\n') != std::string::npos)
    throw config_error(reader.path_of("name"), "must not contain a line break");
  provider.carriers = string_list(reader.require("carriers"), reader.path_of("carriers"));
  if (provider.carriers.empty())
    throw config_error(reader.path_of("carriers"), "a provider must serve at least one carrier");
  provider.rate = reader.number("rate", provider.rate);
  // Below one call a minute a provider is effectively off; the limit also keeps the token
  // bucket's interval within range.
  require_positive(provider.rate, reader.path_of("rate"));
  require_range(provider.rate, 1.0 / 60, 1e6, reader.path_of("rate"));
  provider.burst = reader.number("burst", std::max(1.0, provider.rate / 10));
  if (!(provider.burst >= 1))
    throw config_error(reader.path_of("burst"),
                       "must be >= 1 (got " + std::to_string(provider.burst) + ")");
  auto concurrency = reader.integer("concurrency", static_cast<int64_t>(provider.concurrency));
  require_range<int64_t>(concurrency, 1, 100000, reader.path_of("concurrency"));
  provider.concurrency = static_cast<size_t>(concurrency);
  provider.timeout_ms = reader.integer("timeout_ms", provider.timeout_ms);
  require_positive(provider.timeout_ms, reader.path_of("timeout_ms"));
  if (auto failover = reader.find("failover")) {
    provider.failover = string_list(*failover, reader.path_of("failover"));
    require_unique(provider.failover, reader.path_of("failover"));
  }
  provider.adapter = read_adapter(reader.require("adapter"), reader.path_of("adapter"));
  reader.finish();
  return provider;
}

/// Checks that need the whole document: references between sections. Linear in the size of
/// the configuration (names and carriers are looked up in indexes, never by scanning).
void check_references(const config& cfg) {
  if (cfg.admission.enabled && cfg.admission.store_lag_limit_ms >= cfg.deadline.limit_ms)
    throw config_error("/admission/store_lag_limit_ms",
                       "a store lag limit of " + std::to_string(cfg.admission.store_lag_limit_ms)
                         + " ms is not below the deadline ("
                         + std::to_string(cfg.deadline.limit_ms) + " ms)");
  std::map<std::string, size_t> index_of;
  std::set<std::string> served;
  std::vector<std::set<std::string>> carriers_of(cfg.providers.size());
  for (size_t i = 0; i < cfg.providers.size(); ++i) {
    const auto& provider = cfg.providers[i];
    auto provider_path = "/providers/" + std::to_string(i);
    if (!index_of.emplace(provider.name, i).second)
      throw config_error(provider_path + "/name",
                         "provider name '" + provider.name + "' is used twice");
    if (provider.timeout_ms >= cfg.deadline.limit_ms)
      throw config_error(provider_path + "/timeout_ms",
                         "a call timeout of " + std::to_string(provider.timeout_ms)
                           + " ms leaves no time before the deadline ("
                           + std::to_string(cfg.deadline.limit_ms) + " ms)");
    // The latest start admission allows, without the margin: what the margin must leave.
    std::optional<int64_t> first_resend;
    if (!cfg.deadline.resend_at_ms.empty())
      first_resend = cfg.deadline.resend_at_ms.front();
    auto latest_start =
      latest_first_start_ms(cfg.deadline.limit_ms, first_resend, provider.timeout_ms, 0);
    if (cfg.admission.enabled && cfg.admission.margin_ms
        && *cfg.admission.margin_ms >= latest_start)
      throw config_error("/admission/margin_ms",
                         "a margin of " + std::to_string(*cfg.admission.margin_ms)
                           + " ms leaves provider '" + provider.name
                           + "' no time to start an order (its latest start is "
                           + std::to_string(latest_start)
                           + " ms after acceptance: the first re-send point, or the deadline "
                             "less the call timeout)");
    for (size_t c = 0; c < provider.carriers.size(); ++c) {
      if (cfg.carriers.count(provider.carriers[c]) == 0)
        throw config_error(provider_path + "/carriers/" + std::to_string(c),
                           "unknown carrier '" + provider.carriers[c] + "'");
      served.insert(provider.carriers[c]);
      carriers_of[i].insert(provider.carriers[c]);
    }
  }
  for (size_t i = 0; i < cfg.providers.size(); ++i) {
    const auto& provider = cfg.providers[i];
    for (size_t f = 0; f < provider.failover.size(); ++f) {
      auto failover_path = "/providers/" + std::to_string(i) + "/failover/" + std::to_string(f);
      const auto& target = provider.failover[f];
      if (target == provider.name)
        throw config_error(failover_path, "a provider cannot fail over to itself");
      auto other = index_of.find(target);
      if (other == index_of.end())
        throw config_error(failover_path, "unknown provider '" + target + "'");
      // Each carrier of the smaller set is looked up in the larger one.
      const auto& mine = carriers_of[i];
      const auto& theirs = carriers_of[other->second];
      const auto& smaller = mine.size() <= theirs.size() ? mine : theirs;
      const auto& larger = mine.size() <= theirs.size() ? theirs : mine;
      bool shares_carrier = std::any_of(smaller.begin(), smaller.end(), [&](const std::string& c) {
        return larger.count(c) > 0;
      });
      if (!shares_carrier)
        throw config_error(failover_path,
                           "'" + target + "' serves none of the carriers of '" + provider.name + "'");
    }
  }
  for (const auto& [carrier, prefixes] : cfg.carriers)
    if (served.count(carrier) == 0)
      throw config_error("/carriers/" + pointer_token(carrier),
                         "no provider serves carrier '" + carrier + "'");
}

} // namespace

config parse_config(const std::string& json_text) {
  auto document = json_config::parse_document(json_text);
  config cfg;
  object_reader reader{document, ""};
  if (auto node = reader.find("node"))
    cfg.node = read_node(*node, "/node");
  if (auto store = reader.find("store"))
    cfg.store = read_store(*store, "/store");
  if (auto deadline = reader.find("deadline"))
    cfg.deadline = read_deadline(*deadline, "/deadline");
  cfg.admission.store_lag_limit_ms = default_store_lag_limit_ms(cfg.deadline.limit_ms);
  if (auto admission = reader.find("admission"))
    cfg.admission = read_admission(*admission, "/admission", cfg.admission);
  if (auto cluster = reader.find("cluster"))
    cfg.cluster = read_cluster(*cluster, "/cluster", cfg.store);
  cfg.carriers = read_carriers(reader.require("carriers"), "/carriers");
  cfg.amounts_fen = integer_list(reader.require("amounts_fen"), "/amounts_fen");
  if (cfg.amounts_fen.empty())
    throw config_error("/amounts_fen", "at least one amount is required");
  for (size_t i = 0; i < cfg.amounts_fen.size(); ++i)
    require_positive(cfg.amounts_fen[i], "/amounts_fen/" + std::to_string(i));
  require_unique(cfg.amounts_fen, "/amounts_fen");
  if (auto limits = reader.find("limits")) {
    object_reader limits_reader{*limits, "/limits"};
    auto ref_max = limits_reader.integer("client_ref_max",
                                         static_cast<int64_t>(cfg.limits.client_ref_max));
    require_range<int64_t>(ref_max, 1, 1024, "/limits/client_ref_max");
    cfg.limits.client_ref_max = static_cast<size_t>(ref_max);
    limits_reader.finish();
  }
  if (auto ingress = reader.find("ingress"))
    cfg.ingress = read_ingress(*ingress, "/ingress", cfg.node.name);
  if (auto merchants = reader.find("merchants"))
    cfg.merchants = read_merchants(*merchants, "/merchants");
  cfg.store.default_merchant = cfg.merchants.default_id();
  cfg.store.merchants = cfg.merchants;
  if (auto callbacks = reader.find("callbacks"))
    cfg.callbacks = read_callbacks(*callbacks, "/callbacks");
  if (auto api = reader.find("http_api"))
    cfg.http_api = read_http_api(*api, "/http_api");
  const auto& providers = as_array(reader.require("providers"), "/providers");
  if (providers.empty())
    throw config_error("/providers", "at least one provider is required");
  for (size_t i = 0; i < providers.size(); ++i)
    cfg.providers.push_back(read_provider(providers[i], "/providers/" + std::to_string(i)));
  reader.finish();
  check_references(cfg);
  return cfg;
}

simulated_adapter_config parse_simulated_adapter(const nlohmann::json& object,
                                                 const std::string& path) {
  object_reader reader{object, path};
  auto sim = read_simulated(reader);
  reader.finish();
  return sim;
}

config load_config_file(const std::string& path) {
  return parse_config(json_config::read_file(path));
}

validation_rules make_validation_rules(const config& cfg) {
  validation_rules rules;
  for (const auto& [carrier, prefixes] : cfg.carriers)
    for (const auto& prefix : prefixes)
      rules.carrier_by_prefix.emplace(prefix, carrier);
  rules.allowed_amounts_fen.insert(cfg.amounts_fen.begin(), cfg.amounts_fen.end());
  rules.limits = cfg.limits;
  rules.merchants = cfg.merchants;
  return rules;
}

} // namespace topup
