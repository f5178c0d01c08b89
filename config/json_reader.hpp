#pragma once

// Strict reading of JSON configuration documents, shared by topup's configuration and by
// other programs' configuration files (apps/topup-provider-sim): comments allowed, a key
// given twice refused, unknown keys refused, and every error a config_error naming the
// field by its JSON pointer.

#include "config/config.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>

namespace topup::json_config {

using nlohmann::json;

/// "an integer", "a string", "an object", ... for error messages.
std::string type_name(const json& value);

/// A key as a JSON pointer token: "~" and "/" escaped (RFC 6901).
std::string pointer_token(const std::string& key);

/// `value` if it is an array; config_error at `path` otherwise.
const json& as_array(const json& value, const std::string& path);

/// Parses a configuration text: JSON with comments; a key given twice in one object, or
/// text that is not JSON, is a config_error.
json parse_document(const std::string& text);

/// The text of a configuration file; a missing or unreadable file is a config_error.
std::string read_file(const std::string& path);

class object_reader;

/// The file named under `key` (a CA file, say), "" when the key is absent; a file that cannot
/// be read is a config_error at the key.
std::string readable_file(object_reader& reader, const std::string& key);

/// Reads one JSON object field by field, remembering which keys were read so that any key
/// left over (a typo, an option that does not exist) is reported instead of ignored.
class object_reader {
public:
  object_reader(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object.is_object())
      throw config_error(path_, "expected an object, got " + type_name(object));
  }

  std::string path_of(const std::string& key) const { return path_ + "/" + pointer_token(key); }

  bool has(const std::string& key) const { return object_.contains(key); }

  const json* find(const std::string& key) {
    auto it = object_.find(key);
    if (it == object_.end())
      return nullptr;
    read_.insert(key);
    return &*it;
  }

  const json& require(const std::string& key) {
    if (auto value = find(key))
      return *value;
    throw config_error(path_of(key), "required field is missing");
  }

  std::string string(const std::string& key, std::string fallback) {
    auto value = find(key);
    return value ? as_string(*value, path_of(key)) : fallback;
  }

  std::string required_string(const std::string& key) {
    return as_string(require(key), path_of(key));
  }

  int64_t integer(const std::string& key, int64_t fallback) {
    auto value = find(key);
    return value ? as_integer(*value, path_of(key)) : fallback;
  }

  /// integer(), refused unless within [low, high].
  int64_t integer_between(const std::string& key, int64_t fallback, int64_t low, int64_t high) {
    auto value = integer(key, fallback);
    if (value < low || value > high)
      throw config_error(path_of(key), "must be between " + std::to_string(low) + " and "
                                         + std::to_string(high) + " (got "
                                         + std::to_string(value) + ")");
    return value;
  }

  double number(const std::string& key, double fallback) {
    auto value = find(key);
    return value ? as_number(*value, path_of(key)) : fallback;
  }

  bool boolean(const std::string& key, bool fallback) {
    auto value = find(key);
    if (!value)
      return fallback;
    if (!value->is_boolean())
      throw config_error(path_of(key), "expected true or false, got " + type_name(*value));
    return value->get<bool>();
  }

  /// Fails on every key that no read asked for.
  void finish() const {
    for (const auto& item : object_.items())
      if (read_.count(item.key()) == 0)
        throw config_error(path_of(item.key()), "unknown field");
  }

  static std::string as_string(const json& value, const std::string& path) {
    if (!value.is_string())
      throw config_error(path, "expected a string, got " + type_name(value));
    return value.get<std::string>();
  }

  static int64_t as_integer(const json& value, const std::string& path) {
    if (!value.is_number_integer())
      throw config_error(path, "expected an integer, got " + type_name(value));
    if (value.is_number_unsigned()
        && value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw config_error(path, "integer is too large");
    return value.get<int64_t>();
  }

  static double as_number(const json& value, const std::string& path) {
    if (!value.is_number())
      throw config_error(path, "expected a number, got " + type_name(value));
    auto number = value.get<double>();
    if (!std::isfinite(number))
      throw config_error(path, "number is out of range");
    return number;
  }

private:
  const json& object_;
  std::string path_;
  std::set<std::string> read_;
};

} // namespace topup::json_config
