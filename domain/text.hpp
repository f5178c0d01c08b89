#pragma once

// UTF-8 text as the engine accepts and shows it: the decoding rules that validation, phone
// masking and the client's output share, so that "a character" means one thing everywhere.
// Decoding is Boost.Locale's (strict: no overlong forms, no surrogates, nothing above
// U+10FFFF).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace topup::text {

/// One step of decoding: the code point at a position and the bytes it takes, or, for a
/// byte that starts no valid sequence, no code point and a width of 1 (decoding resumes at
/// the next byte, so one bad byte never swallows the characters after it).
struct decoded {
  std::optional<char32_t> code_point;
  size_t width = 1;
};

/// Decodes the character starting at byte `pos` of `text` (pos < text.size()).
decoded decode_at(std::string_view text, size_t pos);

/// The byte offset of the first byte of `text` that is not part of valid UTF-8, if any.
std::optional<size_t> first_invalid_byte(std::string_view text);

/// The number of characters (code points) of `text`; a byte that is not valid UTF-8 counts
/// as one.
size_t characters(std::string_view text);

/// Unicode's control characters (general category Cc): U+0000-U+001F and U+007F-U+009F.
bool is_control(char32_t c);

/// Unicode's White_Space property: the ASCII blanks and line breaks, U+0085, the no-break
/// space U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and the ideographic
/// space U+3000 that Chinese input methods type.
bool is_white_space(char32_t c);

/// "U+3000": how messages name a character.
std::string code_point_name(char32_t c);

/// `text` safe to print anywhere (a terminal, a log line, a JSON string): every byte that is
/// not valid UTF-8 and every control character replaced by U+FFFD, and cut after
/// `max_characters` characters (then ending in "..."). Never cuts a character in two.
std::string printable(std::string_view text, size_t max_characters = 64);

/// The first `count` characters of `text` (all of it when it has fewer), cut between
/// characters; invalid bytes count as one character each.
std::string_view first_characters(std::string_view text, size_t count);

} // namespace topup::text
