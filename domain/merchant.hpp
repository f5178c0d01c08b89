#pragma once

// Merchants: who an order belongs to, the secret their HTTP requests are signed with, and
// where the results of their orders may be sent. See README.md, "Merchants and the HTTP API".

#include "domain/errors.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace topup {

/// The longest callback URL accepted, in bytes.
constexpr size_t max_notify_url_bytes = 2048;

/// The longest merchant id, in bytes. Ids are ASCII letters, digits, '-', '_' and '.'.
constexpr size_t max_merchant_id_bytes = 64;

struct merchant {
  std::string id;
  /// The key of the HMAC-SHA256 signatures of its requests and of the result callbacks it is
  /// sent.
  /// Empty: the merchant cannot use the HTTP API (only CAF clients submit for it).
  std::string secret;
  /// Where results go when an order names no notify_url; empty: nowhere.
  std::string callback_url;
  /// The URL prefixes an order's notify_url may start with ("https://shop.example/topup/");
  /// none: no order of this merchant may name one.
  std::vector<std::string> callback_prefixes;
  /// The body of a 2xx answer that acknowledges a result callback; empty: any 2xx does
  /// (domain/merchant_callback, callback_acknowledged).
  std::string callback_ack = "success";
  /// PEM file of the CAs its https:// callback URLs' certificates must chain to; empty: the
  /// callbacks section's ca_file, else the system's store.
  std::string callback_ca_file{};
};

/// The merchants a node knows, and the one an order naming none belongs to (every CAF client
/// that predates merchants, and every order stored before them). Without configuration: a
/// single merchant "default" with no secret and no callbacks.
class merchant_directory {
public:
  static constexpr std::string_view implicit_default = "default";

  merchant_directory();
  /// Throws std::invalid_argument when `default_id` is not among `merchants` or an id repeats.
  merchant_directory(std::vector<merchant> merchants, std::string default_id);

  const merchant* find(std::string_view id) const;
  const std::string& default_id() const { return default_id_; }
  const std::map<std::string, merchant, std::less<>>& all() const { return by_id_; }

private:
  std::map<std::string, merchant, std::less<>> by_id_;
  std::string default_id_;
};

/// A URL split into what a callback's destination is compared by. Only absolute http and
/// https URLs with a host name or an IPv4 address; the scheme and host are lower case, the
/// port is explicit (80/443 when the URL omits it), the path starts with '/'.
struct callback_url {
  std::string scheme;
  std::string host;
  uint16_t port = 0;
  std::string path;   ///< without query or fragment
  std::string query;  ///< without the '?'
};

/// Parses a callback URL (or a prefix of allowed ones) strictly. Refused, with the reason:
/// not http(s); user info ("http://allowed@evil" would reach evil); a host that is empty,
/// holds characters other than letters, digits, '-' and '.', or ends with '.'; a port that is
/// not 1-65535; white space, control characters, backslashes or a fragment anywhere; dot
/// segments ("/a/../b") in the path; more than max_notify_url_bytes.
std::variant<callback_url, std::string> parse_callback_url(std::string_view text);

/// Whether `url` may receive callbacks under one of `allowed_prefixes`: the same scheme, host
/// and port as a prefix, and its path at or below the prefix's path (by whole segments unless
/// the prefix ends with '/': "/cb" allows "/cb" and "/cb/x", not "/cbx"). Compared after
/// parsing, never as raw text, so "http://allowed.example.evil/" and
/// "http://allowed.example@evil/" match no prefix "http://allowed.example/". Prefixes that do
/// not parse match nothing (configuration checks them first). invalid_notify_url otherwise.
std::optional<failure> check_notify_url(std::string_view url,
                                        const std::vector<std::string>& allowed_prefixes);

/// Whether `id` is a well-formed merchant id (see max_merchant_id_bytes).
bool valid_merchant_id(std::string_view id);

/// The merchant an order naming `merchant_id` ("" for the default) with `notify_url` ("" for
/// none) belongs to: its id, or unknown_merchant / invalid_notify_url.
std::variant<std::string, failure> resolve_merchant(const merchant_directory& merchants,
                                                    std::string_view merchant_id,
                                                    std::string_view notify_url);

} // namespace topup
