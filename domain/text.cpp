#include "domain/text.hpp"

#include <boost/locale/utf.hpp>

#include <cstdio>

namespace topup::text {
namespace {

using utf8 = boost::locale::utf::utf_traits<char>;

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view ellipsis = "...";

} // namespace

decoded decode_at(std::string_view text, size_t pos) {
  // ASCII needs no decoding, and most text is mostly ASCII.
  if (static_cast<unsigned char>(text[pos]) < 0x80)
    return {static_cast<char32_t>(text[pos]), 1};
  auto begin = text.begin() + static_cast<std::ptrdiff_t>(pos);
  auto next = begin;
  auto c = utf8::decode(next, text.end());
  if (c == boost::locale::utf::illegal || c == boost::locale::utf::incomplete)
    return {std::nullopt, 1};
  return {static_cast<char32_t>(c), static_cast<size_t>(next - begin)};
}

std::optional<size_t> first_invalid_byte(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    auto step = decode_at(text, pos);
    if (!step.code_point)
      return pos;
    pos += step.width;
  }
  return std::nullopt;
}

size_t characters(std::string_view text) {
  size_t count = 0;
  for (size_t pos = 0; pos < text.size(); pos += decode_at(text, pos).width)
    ++count;
  return count;
}

bool is_control(char32_t c) {
  return c <= 0x1F || (c >= 0x7F && c <= 0x9F);
}

bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
         || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
         || c == 0x205F || c == 0x3000;
}

std::string code_point_name(char32_t c) {
  char name[16];
  std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(c));
  return name;
}

std::string printable(std::string_view text, size_t max_characters) {
  std::string shown;
  shown.reserve(text.size());
  size_t count = 0;
  for (size_t pos = 0; pos < text.size(); ++count) {
    if (count == max_characters)
      return shown += ellipsis;
    auto step = decode_at(text, pos);
    if (!step.code_point || is_control(*step.code_point))
      shown += replacement_character;
    else
      shown += text.substr(pos, step.width);
    pos += step.width;
  }
  return shown;
}

std::string_view first_characters(std::string_view text, size_t count) {
  size_t pos = 0;
  for (size_t taken = 0; taken < count && pos < text.size(); ++taken)
    pos += decode_at(text, pos).width;
  return text.substr(0, pos);
}

} // namespace topup::text
