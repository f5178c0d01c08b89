#include <boost/test/unit_test.hpp>

// UTF-8 as the engine reads it (domain/text.hpp): what is valid, what a character is, what
// counts as a control character or white space, and text made safe to print.

#include "domain/text.hpp"

#include <string>

using namespace topup;

namespace {

// Written as bytes so the test does not depend on the source file's encoding.
const std::string zhong = "\xE4\xB8\xAD";          // 中, 3 bytes
const std::string wen = "\xE6\x96\x87";            // 文
const std::string smile = "\xF0\x9F\x98\x80";      // U+1F600, 4 bytes
const std::string ideographic_space = "\xE3\x80\x80";  // U+3000

} // namespace

BOOST_AUTO_TEST_SUITE(utf8_text)

BOOST_AUTO_TEST_CASE(valid_utf8_has_no_invalid_byte) {
  for (const auto& valid : {std::string{}, std::string{"r-1"}, zhong + wen, "a" + smile,
                            std::string{"\xC2\xA0"}, std::string{"\xF4\x8F\xBF\xBF"}})
    BOOST_TEST(!text::first_invalid_byte(valid).has_value(), text::printable(valid));
}

BOOST_AUTO_TEST_CASE(the_first_invalid_byte_is_found) {
  BOOST_TEST(text::first_invalid_byte("\xFF").value_or(99) == 0u);
  BOOST_TEST(text::first_invalid_byte("ab\xC3").value_or(99) == 2u);          // cut short
  BOOST_TEST(text::first_invalid_byte("ab\xC3" "c").value_or(99) == 2u);      // bad trail
  BOOST_TEST(text::first_invalid_byte("\xC0\xAF").value_or(99) == 0u);        // overlong '/'
  BOOST_TEST(text::first_invalid_byte("\xED\xA0\x80").value_or(99) == 0u);    // surrogate
  BOOST_TEST(text::first_invalid_byte("\xF4\x90\x80\x80").value_or(99) == 0u);  // > U+10FFFF
  BOOST_TEST(text::first_invalid_byte(zhong + "\x80").value_or(99) == 3u);    // lone trail
}

BOOST_AUTO_TEST_CASE(characters_are_code_points_not_bytes) {
  BOOST_TEST(text::characters("") == 0u);
  BOOST_TEST(text::characters("r-1") == 3u);
  BOOST_TEST(text::characters(zhong + wen) == 2u);
  BOOST_TEST(text::characters("a" + smile) == 2u);
  std::string thirty;
  for (int i = 0; i < 30; ++i)
    thirty += zhong;
  BOOST_TEST(thirty.size() == 90u);
  BOOST_TEST(text::characters(thirty) == 30u);
  // An invalid byte counts as one, and does not swallow the character after it.
  BOOST_TEST(text::characters("\xFF\xFE") == 2u);
  BOOST_TEST(text::characters("\xE4" "a") == 2u);
}

BOOST_AUTO_TEST_CASE(decoding_steps_over_one_bad_byte_at_a_time) {
  auto bad = text::decode_at("\xE4" "ab", 0);
  BOOST_TEST(!bad.code_point.has_value());
  BOOST_TEST(bad.width == 1u);
  auto good = text::decode_at(zhong, 0);
  BOOST_TEST((good.code_point == char32_t{0x4E2D}));
  BOOST_TEST(good.width == 3u);
}

BOOST_AUTO_TEST_CASE(control_characters_are_unicode_cc) {
  for (char32_t c : {0x00, 0x07, 0x09, 0x0A, 0x1B, 0x1F, 0x7F, 0x85, 0x9F})
    BOOST_TEST(text::is_control(c), text::code_point_name(c));
  for (char32_t c : {0x20, 0x41, 0xA0, 0x3000, 0x4E2D, 0x200B})
    BOOST_TEST(!text::is_control(c), text::code_point_name(c));
}

BOOST_AUTO_TEST_CASE(white_space_is_unicode_white_space) {
  for (char32_t c : {0x09, 0x0A, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x202F,
                     0x205F, 0x3000})
    BOOST_TEST(text::is_white_space(c), text::code_point_name(c));
  // A zero-width space and the letters are not.
  for (char32_t c : {0x41, 0x5F, 0x200B, 0x4E2D, 0xFEFF})
    BOOST_TEST(!text::is_white_space(c), text::code_point_name(c));
  BOOST_TEST(text::code_point_name(0x3000) == "U+3000");
  BOOST_TEST(text::code_point_name(0x7) == "U+0007");
  BOOST_TEST(text::code_point_name(0x1F600) == "U+1F600");
}

BOOST_AUTO_TEST_CASE(printable_replaces_what_is_not_text_and_cuts_between_characters) {
  const std::string replacement = "\xEF\xBF\xBD";
  BOOST_TEST(text::printable("r-1") == "r-1");
  BOOST_TEST(text::printable(zhong + wen) == zhong + wen);
  BOOST_TEST(text::printable("a\xFF" "b") == "a" + replacement + "b");
  BOOST_TEST(text::printable("a\x1B[31mb") == "a" + replacement + "[31mb");
  BOOST_TEST(text::printable("a\nb") == "a" + replacement + "b");
  BOOST_TEST(text::printable(zhong + wen + zhong, 2) == zhong + wen + "...");
  BOOST_TEST(text::printable(zhong + wen, 2) == zhong + wen);
  BOOST_TEST(!text::first_invalid_byte(text::printable("\xC3\xE4\xB8\xED\xA0\x80")));
}

BOOST_AUTO_TEST_CASE(first_characters_never_cut_a_character) {
  BOOST_TEST(text::first_characters(zhong + wen + zhong, 2) == zhong + wen);
  BOOST_TEST(text::first_characters("ab", 5) == "ab");
  BOOST_TEST(text::first_characters(smile + "x", 1) == smile);
  BOOST_TEST(text::first_characters(ideographic_space, 0).empty());
}

BOOST_AUTO_TEST_SUITE_END()
