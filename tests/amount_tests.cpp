#include <boost/test/unit_test.hpp>

// The one amount parser (domain/amount.hpp): every way an amount can be written wrong, as a
// hostile user writes it on the command line, in a CSV field or as a JSON number.

#include "domain/amount.hpp"
#include "domain/text.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <variant>

using namespace topup;

namespace {

/// The failure for `text`, failing the test when it was read as an amount.
failure refusal_of(const amount_result& result, const std::string& context) {
  if (auto value = std::get_if<int64_t>(&result)) {
    BOOST_ERROR(context << " was read as " << *value << " fen");
    return {};
  }
  return std::get<failure>(result);
}

/// `text` is refused as invalid_amount with a reason containing `why`, in printable text.
void check_refused(const std::string& text, const std::string& why) {
  BOOST_TEST_CONTEXT("amount '" << text::printable(text) << "'") {
    auto f = refusal_of(parse_amount(text), "'" + text::printable(text) + "'");
    BOOST_TEST(to_string(f.code) == "invalid_amount");
    BOOST_TEST(f.reason.find(why) != std::string::npos, f.reason);
    // The reason is sent to clients and printed: never bytes a JSON encoder would choke on.
    BOOST_TEST(!text::first_invalid_byte(f.reason).has_value(), f.reason);
  }
}

int64_t value_of(const amount_result& result) {
  // Boost.Test builds the message even when the check passes.
  auto f = std::get_if<failure>(&result);
  BOOST_TEST_REQUIRE(!f, (f ? f->describe() : std::string{}));
  return std::get<int64_t>(result);
}

} // namespace

BOOST_AUTO_TEST_SUITE(amount_parser)

BOOST_AUTO_TEST_CASE(plain_decimal_integers_are_amounts) {
  BOOST_TEST(value_of(parse_amount("1000")) == 1000);
  BOOST_TEST(value_of(parse_amount("5000")) == 5000);
  BOOST_TEST(value_of(parse_amount("1750")) == 1750);
  BOOST_TEST(value_of(parse_amount("7")) == 7);
  // Zero is a number; that it is no denomination is the node's decision.
  BOOST_TEST(value_of(parse_amount("0")) == 0);
  BOOST_TEST(value_of(parse_amount("9223372036854775807"))
             == std::numeric_limits<int64_t>::max());
}

BOOST_AUTO_TEST_CASE(empty_text_is_refused) {
  check_refused("", "empty");
}

BOOST_AUTO_TEST_CASE(leading_zeros_are_refused_not_read_as_octal_or_decimal) {
  // topup-cli once read 01750 as octal 1000 fen and refused 05000 as "2560 fen".
  for (auto text : {"01750", "05000", "00", "0000", "01", "00000000000000000000001000"})
    check_refused(text, "leading zero");
}

BOOST_AUTO_TEST_CASE(signs_are_refused) {
  for (auto text : {"+5000", "-5", "-0", "+0", "--5", "-9223372036854775808"})
    check_refused(text, "sign");
}

BOOST_AUTO_TEST_CASE(white_space_anywhere_is_refused) {
  for (auto text : {" 5000", "5000 ", "50 00", "\t5000", "5000\n", "5000\r",
                    "\xE3\x80\x80" "5000",  // ideographic space, as Chinese input types it
                    "5000\xC2\xA0"})        // no-break space
    check_refused(text, "white space");
}

BOOST_AUTO_TEST_CASE(other_notations_are_refused) {
  for (auto text : {"0x1388", "0X1388", "0b101", "1e3", "10.5", "1000.0", "5,000", "5_000",
                    "1000fen", "ten", "2^64", "1.8446744073709552e+19", "NaN", "inf"})
    check_refused(text, "digits 0-9 only");
}

BOOST_AUTO_TEST_CASE(digits_of_other_scripts_are_refused) {
  check_refused("\xEF\xBC\x95\xEF\xBC\x90\xEF\xBC\x90\xEF\xBC\x90", "digits 0-9 only");  // ５０００
  check_refused("\xD9\xA5\xD9\xA0\xD9\xA0\xD9\xA0", "digits 0-9 only");  // Arabic-Indic 5000
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_text_are_refused_and_not_echoed_raw) {
  check_refused("\xFF" "1000", "digits 0-9 only");
  check_refused(std::string{"10\0" "00", 5}, "digits 0-9 only");
  auto f = refusal_of(parse_amount("\xC3" "1000"), "a cut UTF-8 sequence");
  BOOST_TEST(f.reason.find("\xEF\xBF\xBD") != std::string::npos, f.reason);  // U+FFFD
}

BOOST_AUTO_TEST_CASE(values_beyond_int64_are_refused_not_clamped_or_wrapped) {
  for (auto text : {"9223372036854775808", "18446744073709551615", "18446744073709551616",
                    "99999999999999999999999999999999"})
    check_refused(text, "too large");
}

BOOST_AUTO_TEST_CASE(a_long_text_is_shortened_in_the_reason) {
  std::string text(10000, 'x');
  auto f = refusal_of(parse_amount(text), "10000 x");
  BOOST_TEST(f.reason.size() < 200u, f.reason);
}

BOOST_AUTO_TEST_CASE(json_numbers_follow_the_same_rule) {
  using nlohmann::json;
  BOOST_TEST(value_of(parse_json_amount(json::parse("1000"))) == 1000);
  BOOST_TEST(value_of(parse_json_amount(json::parse("0"))) == 0);
  BOOST_TEST(value_of(parse_json_amount(json::parse("9223372036854775807")))
             == std::numeric_limits<int64_t>::max());
  const std::pair<const char*, const char*> refused[] = {
    {"-5", "sign"},
    {"10.5", "digits 0-9 only"},
    {"1e3", "digits 0-9 only"},
    {"1000.0", "digits 0-9 only"},
    {"9223372036854775808", "too large"},
    {"18446744073709551615", "too large"},
    {"18446744073709551616", "digits 0-9 only"},  // beyond uint64: JSON reads a float
    {"\"1000\"", "JSON number"},
    {"null", "JSON number"},
    {"true", "JSON number"},
    {"[1000]", "JSON number"},
  };
  for (const auto& [written, why] : refused) {
    BOOST_TEST_CONTEXT("JSON " << written) {
      auto f = refusal_of(parse_json_amount(json::parse(written)), written);
      BOOST_TEST(to_string(f.code) == "invalid_amount");
      BOOST_TEST(f.reason.find(why) != std::string::npos, f.reason);
    }
  }
  // ordered_json (what topup-cli writes) reads the same.
  BOOST_TEST(value_of(parse_json_amount(nlohmann::ordered_json(2000))) == 2000);
}

BOOST_AUTO_TEST_SUITE_END()
