#include "config/merchant_config.hpp"

#include "config/json_reader.hpp"

#include <stdexcept>

namespace topup {
namespace {

using json_config::json;
using json_config::object_reader;

std::string trailing_newlines_removed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

/// A secret given inline under `key` or read from the file named under `file_key` (trailing
/// newlines dropped); empty when neither is given. Both, an empty value or an unreadable or
/// empty file are configuration errors.
std::string inline_or_file(object_reader& reader, const std::string& path, const std::string& key,
                           const std::string& file_key) {
  bool inline_given = reader.has(key), file_given = reader.has(file_key);
  if (inline_given && file_given)
    throw config_error(path, "give either " + key + " or " + file_key + ", not both");
  std::string secret;
  if (inline_given) {
    secret = reader.required_string(key);
    if (secret.empty())
      throw config_error(reader.path_of(key), "must not be empty");
  } else if (file_given) {
    auto file = reader.required_string(file_key);
    try {
      secret = trailing_newlines_removed(json_config::read_file(file));
    } catch (const config_error&) {
      throw config_error(reader.path_of(file_key), "cannot read '" + file + "'");
    }
    if (secret.empty())
      throw config_error(reader.path_of(file_key), "the file '" + file + "' is empty");
  }
  return secret;
}

merchant read_merchant(const json& value, const std::string& path) {
  object_reader reader{value, path};
  merchant m;
  m.id = reader.required_string("id");
  if (!valid_merchant_id(m.id))
    throw config_error(reader.path_of("id"),
                       "must be 1-" + std::to_string(max_merchant_id_bytes)
                         + " ASCII letters, digits, '-', '_' or '.'");
  m.secret = inline_or_file(reader, path, "secret", "secret_file");
  m.callback_url = reader.string("callback_url", "");
  if (!m.callback_url.empty()) {
    auto parsed = parse_callback_url(m.callback_url);
    if (auto problem = std::get_if<std::string>(&parsed))
      throw config_error(reader.path_of("callback_url"), *problem);
  }
  if (auto prefixes = reader.find("allowed_callback_prefixes")) {
    const auto& array =
      json_config::as_array(*prefixes, reader.path_of("allowed_callback_prefixes"));
    for (size_t i = 0; i < array.size(); ++i) {
      auto at = reader.path_of("allowed_callback_prefixes") + "/" + std::to_string(i);
      auto prefix = object_reader::as_string(array[i], at);
      auto parsed = parse_callback_url(prefix);
      if (auto problem = std::get_if<std::string>(&parsed))
        throw config_error(at, *problem);
      if (!std::get<callback_url>(parsed).query.empty())
        throw config_error(at, "a prefix has no query");
      m.callback_prefixes.push_back(std::move(prefix));
    }
  }
  m.callback_ack = reader.string("callback_ack", m.callback_ack);
  m.callback_ca_file = json_config::readable_file(reader, "callback_ca_file");
  reader.finish();
  return m;
}

} // namespace

merchant_directory read_merchants(const json& value, const std::string& path) {
  object_reader reader{value, path};
  std::vector<merchant> merchants;
  const auto& list = json_config::as_array(reader.require("list"), reader.path_of("list"));
  if (list.empty())
    throw config_error(reader.path_of("list"), "at least one merchant is required");
  for (size_t i = 0; i < list.size(); ++i)
    merchants.push_back(read_merchant(list[i], reader.path_of("list") + "/" + std::to_string(i)));
  // One merchant needs no "default": it is the one.
  auto default_id = merchants.size() == 1 ? reader.string("default", merchants.front().id)
                                          : reader.required_string("default");
  reader.finish();
  try {
    return merchant_directory{std::move(merchants), std::move(default_id)};
  } catch (const std::invalid_argument& error) {
    throw config_error(path, error.what());
  }
}

callback_config read_callbacks(const json& value, const std::string& path) {
  object_reader reader{value, path};
  callback_config cfg;
  auto& schedule = cfg.schedule;
  if (auto delays = reader.find("retry_after_s")) {
    auto at = reader.path_of("retry_after_s");
    schedule.retry_after.clear();
    const auto& array = json_config::as_array(*delays, at);
    for (size_t i = 0; i < array.size(); ++i) {
      auto seconds = object_reader::as_integer(array[i], at + "/" + std::to_string(i));
      if (seconds < 0 || seconds > 7 * 86400)
        throw config_error(at + "/" + std::to_string(i), "must be 0-604800 seconds");
      schedule.retry_after.push_back(std::chrono::seconds{seconds});
    }
  }
  auto seconds = [&](const std::string& key, milliseconds fallback, int64_t low, int64_t high) {
    auto fallback_s = std::chrono::duration_cast<std::chrono::seconds>(fallback).count();
    return milliseconds{std::chrono::seconds{reader.integer_between(key, fallback_s, low, high)}};
  };
  schedule.repeat_every = seconds("repeat_every_s", schedule.repeat_every, 1, 7 * 86400);
  schedule.give_up_after = seconds("give_up_after_s", schedule.give_up_after, 0, 30 * 86400);
  schedule.jitter = reader.number("jitter", schedule.jitter);
  if (schedule.jitter < 0 || schedule.jitter > 0.5)
    throw config_error(reader.path_of("jitter"), "must be between 0 and 0.5");
  cfg.concurrency_per_merchant = static_cast<size_t>(reader.integer_between(
    "concurrency_per_merchant", static_cast<int64_t>(cfg.concurrency_per_merchant), 1, 256));
  cfg.timeout_ms = reader.integer_between("timeout_ms", cfg.timeout_ms, 100, 600000);
  cfg.connect_timeout_ms =
    reader.integer_between("connect_timeout_ms", cfg.connect_timeout_ms, 100, 600000);
  cfg.poll_interval_ms =
    reader.integer_between("poll_interval_ms", cfg.poll_interval_ms, 10, 600000);
  cfg.ca_file = json_config::readable_file(reader, "ca_file");
  cfg.keep_finished_s =
    reader.integer_between("keep_finished_s", cfg.keep_finished_s, 0, 3650LL * 86400);
  cfg.prune_batch = static_cast<size_t>(
    reader.integer_between("prune_batch", static_cast<int64_t>(cfg.prune_batch), 1, 10000));
  reader.finish();
  return cfg;
}

http_api_config read_http_api(const json& value, const std::string& path) {
  object_reader reader{value, path};
  http_api_config api;
  if (auto listen = reader.find("listen")) {
    object_reader listen_reader{*listen, reader.path_of("listen")};
    api.host = listen_reader.string("host", api.host);
    api.port = static_cast<uint16_t>(listen_reader.integer_between("port", api.port, 0, 65535));
    listen_reader.finish();
  }
  auto size = [&](const std::string& key, size_t fallback, int64_t low, int64_t high) {
    return static_cast<size_t>(
      reader.integer_between(key, static_cast<int64_t>(fallback), low, high));
  };
  api.max_connections = size("max_connections", api.max_connections, 1, 100000);
  api.max_body_bytes = size("max_body_bytes", api.max_body_bytes, 1024, 64 << 20);
  api.max_header_bytes = size("max_header_bytes", api.max_header_bytes, 1024, 1 << 20);
  api.max_header_count = size("max_header_count", api.max_header_count, 8, 1000);
  api.read_timeout_ms = reader.integer_between("read_timeout_ms", api.read_timeout_ms, 100, 600000);
  api.signature_window_s =
    reader.integer_between("signature_window_s", api.signature_window_s, 1, 3600);
  api.max_batch = size("max_batch", api.max_batch, 1, 10000);
  api.request_timeout_ms =
    reader.integer_between("request_timeout_ms", api.request_timeout_ms, 100, 600000);
  api.metrics_token = reader.string("metrics_token", api.metrics_token);
  api.admin_token = inline_or_file(reader, path, "admin_token", "admin_token_file");
  reader.finish();
  return api;
}

} // namespace topup
