#include "domain/merchant.hpp"

#include "domain/host_port.hpp"
#include "domain/text.hpp"

#include <algorithm>
#include <stdexcept>

namespace topup {
namespace {

std::string lower(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

bool host_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/// "." and "..", also percent-encoded ("%2e%2E"): a server resolves them, so the path a
/// prefix is compared with would not be the one called.
bool dot_segment(std::string_view segment) {
  auto decoded = lower(segment);
  for (size_t at = decoded.find("%2e"); at != std::string::npos; at = decoded.find("%2e"))
    decoded.replace(at, 3, ".");
  return decoded == "." || decoded == "..";
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool under(const callback_url& url, const callback_url& prefix) {
  if (url.scheme != prefix.scheme || url.host != prefix.host || url.port != prefix.port)
    return false;
  if (!prefix.query.empty())
    return false;
  if (!prefix.path.empty() && prefix.path.back() == '/')
    return starts_with(url.path, prefix.path);
  return url.path == prefix.path || starts_with(url.path, prefix.path + "/");
}

} // namespace

merchant_directory::merchant_directory()
  : merchant_directory({merchant{std::string{implicit_default}, "", "", {}}},
                       std::string{implicit_default}) {}

merchant_directory::merchant_directory(std::vector<merchant> merchants, std::string default_id)
  : default_id_(std::move(default_id)) {
  for (auto& m : merchants) {
    auto id = m.id;
    if (!by_id_.emplace(id, std::move(m)).second)
      throw std::invalid_argument("merchant '" + id + "' is listed twice");
  }
  if (!find(default_id_))
    throw std::invalid_argument("the default merchant '" + default_id_ + "' is not listed");
}

const merchant* merchant_directory::find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

std::variant<callback_url, std::string> parse_callback_url(std::string_view text) {
  if (text.size() > max_notify_url_bytes)
    return "longer than " + std::to_string(max_notify_url_bytes) + " bytes";
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f)
      return std::string{"white space, control or non-ASCII characters (percent-encode them)"};
    if (c == '\\')
      return std::string{"a backslash"};
    if (c == '#')
      return std::string{"a fragment ('#')"};
  }
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos)
    return std::string{"not an absolute http:// or https:// URL"};
  callback_url url;
  url.scheme = lower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https")
    return std::string{"the scheme must be http or https"};
  auto rest = text.substr(scheme_end + 3);
  auto authority_end = rest.find_first_of("/?");
  auto authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos)
    return std::string{"user info ('@') in the authority"};
  uint16_t scheme_port = url.scheme == "https" ? 443 : 80;
  auto endpoint = parse_host_port(authority, {scheme_port});
  if (!endpoint)
    return endpoint.error;
  url.port = endpoint.address->port;
  url.host = lower(endpoint.address->host);
  if (!std::all_of(url.host.begin(), url.host.end(), host_character))
    return std::string{"the host may hold only letters, digits, '-' and '.'"};
  if (url.host.front() == '.' || url.host.back() == '.'
      || url.host.find("..") != std::string::npos)
    return std::string{"the host has an empty label"};
  auto query_start = rest.find('?');
  url.path = std::string{rest.substr(0, query_start)};
  if (query_start != std::string_view::npos)
    url.query = std::string{rest.substr(query_start + 1)};
  if (url.path.empty())
    url.path = "/";
  std::string_view path = url.path;
  for (size_t start = 1; start <= path.size();) {
    auto end = std::min(path.find('/', start), path.size());
    if (dot_segment(path.substr(start, end - start)))
      return std::string{"dot segments ('.' or '..') in the path"};
    start = end + 1;
  }
  return url;
}

std::optional<failure> check_notify_url(std::string_view url,
                                        const std::vector<std::string>& allowed_prefixes) {
  auto parsed = parse_callback_url(url);
  if (auto problem = std::get_if<std::string>(&parsed))
    return failure{errc::invalid_notify_url, "notify_url: " + *problem};
  const auto& target = std::get<callback_url>(parsed);
  for (const auto& prefix : allowed_prefixes) {
    auto allowed = parse_callback_url(prefix);
    if (auto p = std::get_if<callback_url>(&allowed); p && under(target, *p))
      return std::nullopt;
  }
  return failure{errc::invalid_notify_url,
                 "notify_url: " + target.scheme + "://" + text::printable(target.host, 80) + ":"
                   + std::to_string(target.port) + text::printable(target.path, 80)
                   + " is outside the merchant's allowed callback prefixes"};
}

bool valid_merchant_id(std::string_view id) {
  if (id.empty() || id.size() > max_merchant_id_bytes)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || c == '.';
  });
}

std::variant<std::string, failure> resolve_merchant(const merchant_directory& merchants,
                                                    std::string_view merchant_id,
                                                    std::string_view notify_url) {
  const merchant* owner =
    merchants.find(merchant_id.empty() ? std::string_view{merchants.default_id()} : merchant_id);
  if (!owner)
    return failure{errc::unknown_merchant,
                   "no merchant '" + text::printable(merchant_id, max_merchant_id_bytes) + "'"};
  if (!notify_url.empty())
    if (auto refused = check_notify_url(notify_url, owner->callback_prefixes))
      return *refused;
  return owner->id;
}

} // namespace topup
