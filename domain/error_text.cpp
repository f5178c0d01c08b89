#include "domain/error_text.hpp"

#include "domain/order.hpp"

#include <array>
#include <cctype>

namespace topup {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/// Lines after the message: libpq's labelled fields and SOCI's statement echo.
bool is_detail(std::string_view line) {
  static constexpr std::array<std::string_view, 7> labels{
    "DETAIL:", "HINT:", "CONTEXT:", "QUERY:", "STATEMENT:", "LINE ", "while executing"};
  for (auto label : labels)
    if (line.substr(0, label.size()) == label)
      return true;
  return false;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

/// Masks every run of 7 or more digits (mask_phone keeps the first 3 and last 4).
std::string mask_long_numbers(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (!is_digit(text[i])) {
      out += text[i++];
      continue;
    }
    auto end = i;
    while (end < text.size() && is_digit(text[end]))
      ++end;
    auto run = std::string_view{text}.substr(i, end - i);
    out += run.size() >= 7 ? mask_phone(run) : std::string{run};
    i = end;
  }
  return out;
}

} // namespace

std::string one_line_reason(std::string_view raw, size_t max_length) {
  std::string joined;
  size_t start = 0;
  while (start <= raw.size()) {
    auto end = raw.find('\n', start);
    if (end == std::string_view::npos)
      end = raw.size();
    auto line = raw.substr(start, end - start);
    start = end + 1;
    // libpq continues a message with tab-indented hints ("\tIs the server running...").
    if (!line.empty() && line.front() == '\t')
      continue;
    line = trimmed(line);
    if (line.empty() || is_detail(line))
      continue;
    // SOCI appends the statement and its bound values to some messages on the same line.
    if (auto echo = line.find(" while executing"); echo != std::string_view::npos)
      line = trimmed(line.substr(0, echo));
    if (!joined.empty())
      joined += ' ';
    joined += line;
  }
  std::string collapsed;
  collapsed.reserve(joined.size());
  for (char c : joined) {
    auto printable = std::isprint(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
    char shown = is_space(c) || !printable ? ' ' : c;
    if (shown == ' ' && (collapsed.empty() || collapsed.back() == ' '))
      continue;
    collapsed += shown;
  }
  while (!collapsed.empty() && collapsed.back() == ' ')
    collapsed.pop_back();
  auto masked = mask_long_numbers(collapsed);
  if (masked.empty())
    return "unknown error";
  if (masked.size() > max_length) {
    // Cut at a character boundary of UTF-8 text, then mark the cut.
    auto cut = max_length;
    while (cut > 0 && (static_cast<unsigned char>(masked[cut]) & 0xC0) == 0x80)
      --cut;
    masked = masked.substr(0, cut) + "…";
  }
  return masked;
}

} // namespace topup
