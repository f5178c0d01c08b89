#include <boost/test/unit_test.hpp>

#include "domain/errors.hpp"
#include "domain/text.hpp"
#include "domain/validation.hpp"

#include <string>
#include <variant>

using namespace topup;

namespace {

/// The rules of the workloads (bench/README.md), built by hand so these tests do not depend on config/.
struct workload_rules {
  validation_rules rules;

  workload_rules() {
    for (auto prefix : {"138", "139", "150"})
      rules.carrier_by_prefix.emplace(prefix, "cmcc");
    for (auto prefix : {"130", "131", "186"})
      rules.carrier_by_prefix.emplace(prefix, "cucc");
    for (auto prefix : {"133", "153", "189"})
      rules.carrier_by_prefix.emplace(prefix, "ctcc");
    rules.allowed_amounts_fen = {1000, 2000, 3000, 5000, 10000, 20000};
  }

  validation_result check(std::string client_ref, std::string phone, int64_t amount_fen) const {
    return validate(order_request{std::move(client_ref), std::move(phone), amount_fen}, rules);
  }

  /// Validates a request expected to fail and returns its failure.
  failure rejection(std::string client_ref, std::string phone, int64_t amount_fen) const {
    auto result = check(std::move(client_ref), std::move(phone), amount_fen);
    BOOST_TEST_REQUIRE(std::holds_alternative<failure>(result),
                       "the request was accepted, expected a rejection");
    return std::get<failure>(result);
  }
};

/// For test messages: the failure of a result, or "accepted". Test messages are built even
/// when the check passes, so they must be safe for every result.
std::string describe(const validation_result& result) {
  if (auto f = std::get_if<failure>(&result))
    return f->describe();
  return "accepted";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A rejection names its code, explains itself and never leaks a whole phone number.
void check_failure(const failure& f, errc expected_code, const std::string& phone) {
  BOOST_TEST(to_string(f.code) == to_string(expected_code));
  BOOST_TEST(!f.reason.empty());
  if (phone.size() >= 8)
    BOOST_TEST(!contains(f.reason, phone), "reason '" << f.reason << "' shows the full phone");
  BOOST_TEST(f.describe().rfind(std::string{to_string(expected_code)} + ": ", 0) == 0u);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(validation, workload_rules)

BOOST_AUTO_TEST_CASE(a_valid_order_for_each_carrier_is_accepted_with_its_carrier) {
  const std::pair<const char*, const char*> cases[] = {
    {"13800138000", "cmcc"}, {"13912345678", "cmcc"}, {"15000000001", "cmcc"},
    {"13012345678", "cucc"}, {"13100000000", "cucc"}, {"18699999999", "cucc"},
    {"13300000000", "ctcc"}, {"15312345678", "ctcc"}, {"18987654321", "ctcc"},
  };
  for (const auto& [phone, carrier] : cases) {
    auto result = check("ref-1", phone, 5000);
    BOOST_TEST_REQUIRE(std::holds_alternative<validated_request>(result),
                       phone << " was rejected: " << describe(result));
    const auto& accepted = std::get<validated_request>(result);
    BOOST_TEST(accepted.carrier == carrier);
    BOOST_TEST(accepted.request.phone == phone);
    BOOST_TEST(accepted.request.client_ref == "ref-1");
    BOOST_TEST(accepted.request.amount_fen == 5000);
  }
}

BOOST_AUTO_TEST_CASE(every_allowed_amount_is_accepted) {
  for (auto amount : {1000, 2000, 3000, 5000, 10000, 20000}) {
    auto result = check("ref-amount", "13800138000", amount);
    BOOST_TEST(std::holds_alternative<validated_request>(result), amount << " fen was rejected");
  }
}

BOOST_AUTO_TEST_CASE(phone_with_letters_is_invalid) {
  for (std::string phone : {"1380013800a", "138-0013-800", "138 0013 800", "+8613800138000"}) {
    auto f = rejection("ref", phone, 1000);
    check_failure(f, errc::invalid_phone, phone);
    BOOST_TEST(contains(f.reason, "digits"), f.reason);
  }
}

BOOST_AUTO_TEST_CASE(phone_with_ten_digits_is_invalid_and_names_the_count) {
  auto f = rejection("ref", "1380013800", 1000);
  check_failure(f, errc::invalid_phone, "1380013800");
  BOOST_TEST(contains(f.reason, "10 digits"), f.reason);
  BOOST_TEST(contains(f.reason, "138***3800"), f.reason);
}

BOOST_AUTO_TEST_CASE(phone_with_twelve_digits_is_invalid_and_names_the_count) {
  auto f = rejection("ref", "138001380001", 1000);
  check_failure(f, errc::invalid_phone, "138001380001");
  BOOST_TEST(contains(f.reason, "12 digits"), f.reason);
  BOOST_TEST(contains(f.reason, "11"), f.reason);
}

BOOST_AUTO_TEST_CASE(phone_not_starting_with_one_is_invalid) {
  for (std::string phone : {"23800138000", "03800138000", "93800138000"}) {
    auto f = rejection("ref", phone, 1000);
    check_failure(f, errc::invalid_phone, phone);
    BOOST_TEST(contains(f.reason, "start with 1"), f.reason);
  }
}

BOOST_AUTO_TEST_CASE(unknown_prefix_is_unknown_carrier_naming_the_prefix) {
  for (std::string phone : {"12000000000", "17000000000", "13200000000", "19912345678"}) {
    auto f = rejection("ref", phone, 1000);
    check_failure(f, errc::unknown_carrier, phone);
    BOOST_TEST(contains(f.reason, "prefix " + phone.substr(0, 3)), f.reason);
  }
}

BOOST_AUTO_TEST_CASE(unsupported_amount_names_the_amount_and_the_allowed_list) {
  auto f = rejection("ref", "13800138000", 1234);
  check_failure(f, errc::unsupported_amount, "13800138000");
  BOOST_TEST(contains(f.reason, "1234"), f.reason);
  BOOST_TEST(contains(f.reason, "1000, 2000, 3000, 5000, 10000, 20000"), f.reason);
}

BOOST_AUTO_TEST_CASE(zero_and_negative_amounts_are_unsupported) {
  for (int64_t amount : {int64_t{0}, int64_t{-1}, int64_t{-1000}, int64_t{1001}, int64_t{999},
                         int64_t{200000}}) {
    auto f = rejection("ref", "13800138000", amount);
    check_failure(f, errc::unsupported_amount, "13800138000");
    BOOST_TEST(contains(f.reason, std::to_string(amount) + " fen"), f.reason);
  }
}

BOOST_AUTO_TEST_CASE(empty_client_ref_is_a_missing_field) {
  auto f = rejection("", "13800138000", 1000);
  check_failure(f, errc::missing_field, "13800138000");
  BOOST_TEST(contains(f.reason, "client_ref"), f.reason);
}

BOOST_AUTO_TEST_CASE(empty_phone_is_a_missing_field) {
  auto f = rejection("ref", "", 1000);
  check_failure(f, errc::missing_field, "");
  BOOST_TEST(contains(f.reason, "phone"), f.reason);
}

BOOST_AUTO_TEST_CASE(client_ref_over_the_limit_is_too_long) {
  std::string ref(rules.limits.client_ref_max + 1, 'r');
  auto f = rejection(ref, "13800138000", 1000);
  check_failure(f, errc::field_too_long, "13800138000");
  BOOST_TEST(contains(f.reason, "client_ref"), f.reason);
  BOOST_TEST(contains(f.reason, std::to_string(ref.size())), f.reason);
  BOOST_TEST(contains(f.reason, std::to_string(rules.limits.client_ref_max)), f.reason);
}

BOOST_AUTO_TEST_CASE(client_ref_exactly_at_the_limit_passes) {
  BOOST_TEST_REQUIRE(rules.limits.client_ref_max == 64u);
  auto result = check(std::string(64, 'r'), "13800138000", 1000);
  BOOST_TEST(std::holds_alternative<validated_request>(result));
}

BOOST_AUTO_TEST_CASE(limits_count_characters_not_bytes) {
  std::string zhong = "\xE4\xB8\xAD";  // 中: one character, three bytes
  std::string thirty, sixty_four, sixty_five;
  for (int i = 0; i < 30; ++i)
    thirty += zhong;
  for (int i = 0; i < 64; ++i)
    sixty_four += zhong;
  sixty_five = sixty_four + zhong;
  BOOST_TEST(std::holds_alternative<validated_request>(check(thirty, "13800138000", 1000)),
             describe(check(thirty, "13800138000", 1000)));
  BOOST_TEST(std::holds_alternative<validated_request>(check(sixty_four, "13800138000", 1000)),
             describe(check(sixty_four, "13800138000", 1000)));
  auto f = rejection(sixty_five, "13800138000", 1000);
  check_failure(f, errc::field_too_long, "13800138000");
  BOOST_TEST(f.reason == "client_ref has 65 characters, the limit is 64 characters");
}

BOOST_AUTO_TEST_CASE(a_field_never_takes_more_bytes_than_the_byte_bound) {
  // A character limit above 256 could let four-byte characters past the database's index
  // bound; the byte bound holds whatever the limit.
  rules.limits.client_ref_max = 1024;
  std::string smiles;
  for (size_t i = 0; i < field_limits::max_bytes / 4; ++i)
    smiles += "\xF0\x9F\x98\x80";
  BOOST_TEST(std::holds_alternative<validated_request>(check(smiles, "13800138000", 1000)));
  auto f = rejection(smiles + "x", "13800138000", 1000);
  check_failure(f, errc::field_too_long, "13800138000");
  BOOST_TEST(f.reason == "client_ref has 1025 bytes, the limit is 1024 bytes");
}

BOOST_AUTO_TEST_CASE(a_phone_in_full_width_digits_is_an_invalid_phone_masked_whole) {
  // １３８００１３８０００: 11 characters, 33 bytes.
  std::string phone;
  for (char digit : std::string{"13800138000"})
    phone += std::string{"\xEF\xBC"} + static_cast<char>(0x90 + (digit - '0'));
  BOOST_TEST_REQUIRE(phone.size() == 33u);
  auto f = rejection("ref", phone, 1000);
  check_failure(f, errc::invalid_phone, phone);
  BOOST_TEST(contains(f.reason, "digits 0-9"), f.reason);
  BOOST_TEST(!text::first_invalid_byte(f.reason).has_value(), f.reason);
  BOOST_TEST(contains(f.reason, "\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98****"), f.reason);
}

BOOST_AUTO_TEST_CASE(text_that_is_not_utf8_is_invalid_text_and_never_echoed) {
  for (std::string ref : {"r-\xFF", "\xC3", "r\xC0\xAF", "r\xED\xA0\x80", "caf\xE9"}) {
    auto f = rejection(ref, "13800138000", 1000);
    check_failure(f, errc::invalid_text, "13800138000");
    BOOST_TEST(contains(f.reason, "client_ref is not valid UTF-8 (byte "), f.reason);
    BOOST_TEST(!text::first_invalid_byte(f.reason).has_value(), f.reason);
  }
  auto f = rejection("ref", "1380013800\xFF", 1000);
  check_failure(f, errc::invalid_text, "1380013800\xFF");
  BOOST_TEST(f.reason == "phone is not valid UTF-8 (byte 11 of 11)");
}

BOOST_AUTO_TEST_CASE(control_characters_are_invalid_text_named_by_code_point) {
  const std::pair<std::string, std::string> cases[] = {
    {"r\x07" "1", "U+0007 (character 2)"}, {"r-1\n", "U+000A (character 4)"},
    {"\x1B[31mred", "U+001B (character 1)"}, {std::string{"r\0" "1", 3}, "U+0000"},
    {"r\tx", "U+0009"}, {"r\xC2\x85", "U+0085"}, {"r\x7F", "U+007F"}};
  for (const auto& [ref, named] : cases) {
    auto f = rejection(ref, "13800138000", 1000);
    check_failure(f, errc::invalid_text, "13800138000");
    BOOST_TEST(contains(f.reason, "client_ref contains the control character " + named), f.reason);
  }
  check_failure(rejection("ref", "1380013800\n", 1000), errc::invalid_text, "");
}

BOOST_AUTO_TEST_CASE(a_blank_reference_is_missing) {
  for (std::string ref : {" ", "    ", "\xE3\x80\x80", " \xC2\xA0 "}) {
    auto f = rejection(ref, "13800138000", 1000);
    check_failure(f, errc::missing_field, "13800138000");
    BOOST_TEST(f.reason == "client_ref is blank (only white space)");
  }
}

BOOST_AUTO_TEST_CASE(a_reference_with_white_space_at_either_end_is_refused) {
  const std::pair<std::string, std::string> cases[] = {
    {" r-1", "begins with white space (U+0020)"},
    {"r-1 ", "ends with white space (U+0020)"},
    {"r-1\xE3\x80\x80", "ends with white space (U+3000)"},
    {"\xC2\xA0r-1", "begins with white space (U+00A0)"},
  };
  for (const auto& [ref, why] : cases) {
    auto f = rejection(ref, "13800138000", 1000);
    check_failure(f, errc::invalid_text, "13800138000");
    BOOST_TEST(contains(f.reason, why), f.reason);
    BOOST_TEST(contains(f.reason, "'" + ref + "'"), f.reason);
  }
  // White space inside a reference is part of it.
  for (std::string ref : {"r 1", "\xE8\xAE\xA2\xE5\x8D\x95 1", "a\xE3\x80\x80" "b"})
    BOOST_TEST(std::holds_alternative<validated_request>(check(ref, "13800138000", 1000)),
               describe(check(ref, "13800138000", 1000)));
}

BOOST_AUTO_TEST_CASE(client_ref_limit_comes_from_the_rules) {
  rules.limits.client_ref_max = 8;
  BOOST_TEST(std::holds_alternative<validated_request>(check("12345678", "13800138000", 1000)));
  auto f = rejection("123456789", "13800138000", 1000);
  check_failure(f, errc::field_too_long, "13800138000");
  BOOST_TEST(contains(f.reason, "9 characters"), f.reason);
  BOOST_TEST(contains(f.reason, "limit is 8"), f.reason);
}

BOOST_AUTO_TEST_CASE(oversized_phone_is_too_long_without_echoing_it) {
  std::string phone(1000, '1');
  auto f = rejection("ref", phone, 1000);
  check_failure(f, errc::field_too_long, phone);
  BOOST_TEST(contains(f.reason, "phone"), f.reason);
  BOOST_TEST(contains(f.reason, "1000"), f.reason);
  BOOST_TEST(f.reason.size() < 100u, f.reason);
}

BOOST_AUTO_TEST_CASE(phone_just_over_the_limit_is_too_long_and_at_the_limit_is_invalid) {
  std::string at_limit(rules.limits.phone_max, '1');
  check_failure(rejection("ref", at_limit, 1000), errc::invalid_phone, at_limit);
  std::string over_limit(rules.limits.phone_max + 1, '1');
  check_failure(rejection("ref", over_limit, 1000), errc::field_too_long, over_limit);
}

BOOST_AUTO_TEST_CASE(length_limits_are_checked_before_anything_else) {
  // Both fields broken: the oversized one is what the client hears about.
  auto f = rejection(std::string(65, 'r'), "abc", 0);
  BOOST_TEST(to_string(f.code) == "field_too_long");
  auto g = rejection("", std::string(1000, 'x'), 0);
  BOOST_TEST(to_string(g.code) == "field_too_long");
}

BOOST_AUTO_TEST_CASE(no_rejection_reason_contains_the_full_phone_number) {
  const std::string phones[] = {"1380013800a", "1380013800", "138001380001", "23800138000",
                                "12000000000", "17000000000", "13800138000"};
  for (const auto& phone : phones) {
    for (int64_t amount : {int64_t{1000}, int64_t{1234}}) {
      auto result = check("ref", phone, amount);
      if (auto f = std::get_if<failure>(&result))
        BOOST_TEST(!contains(f->reason, phone), "reason '" << f->reason << "' shows " << phone);
    }
  }
}

BOOST_AUTO_TEST_CASE(carrier_of_maps_prefixes_and_refuses_unknown_ones) {
  BOOST_TEST((carrier_of("13800138000", rules) == std::string{"cmcc"}));
  BOOST_TEST((carrier_of("15000000000", rules) == std::string{"cmcc"}));
  BOOST_TEST((carrier_of("18600000000", rules) == std::string{"cucc"}));
  BOOST_TEST((carrier_of("13100000000", rules) == std::string{"cucc"}));
  BOOST_TEST((carrier_of("18900000000", rules) == std::string{"ctcc"}));
  BOOST_TEST((carrier_of("15300000000", rules) == std::string{"ctcc"}));
  BOOST_TEST(!carrier_of("12000000000", rules).has_value());
  BOOST_TEST(!carrier_of("17000000000", rules).has_value());
  BOOST_TEST(!carrier_of("13", rules).has_value());
  BOOST_TEST(!carrier_of("", rules).has_value());
}

BOOST_AUTO_TEST_CASE(empty_rules_accept_nothing) {
  validation_rules none;
  BOOST_TEST(!carrier_of("13800138000", none).has_value());
  auto result = validate(order_request{"ref", "13800138000", 1000}, none);
  BOOST_TEST_REQUIRE(std::holds_alternative<failure>(result));
  BOOST_TEST(to_string(std::get<failure>(result).code) == "unknown_carrier");
}

BOOST_AUTO_TEST_CASE(the_longest_prefix_of_a_number_names_its_carrier) {
  rules.carrier_by_prefix.emplace("170", "cucc");
  rules.carrier_by_prefix.emplace("1703", "cmcc");
  rules.carrier_by_prefix.emplace("1700", "ctcc");
  BOOST_TEST((carrier_of("17030000000", rules) == std::string{"cmcc"}));
  BOOST_TEST((carrier_of("17000000000", rules) == std::string{"ctcc"}));
  BOOST_TEST((carrier_of("17090000000", rules) == std::string{"cucc"}));
  auto valid = check("ref", "17031234567", 1000);
  BOOST_TEST_REQUIRE(std::holds_alternative<validated_request>(valid), describe(valid));
  BOOST_TEST(std::get<validated_request>(valid).carrier == "cmcc");
}

BOOST_AUTO_TEST_CASE(an_order_naming_its_carrier_goes_to_that_carrier) {
  // A China Mobile number ported to China Telecom keeps its prefix.
  order_request ported{"ref", "13800138000", 1000};
  ported.carrier = "ctcc";
  auto valid = validate(ported, rules);
  BOOST_TEST_REQUIRE(std::holds_alternative<validated_request>(valid), describe(valid));
  BOOST_TEST(std::get<validated_request>(valid).carrier == "ctcc");
  // The prefix need not be known when the carrier is named; the number must still be one.
  order_request unknown_prefix{"ref", "12000000000", 1000};
  unknown_prefix.carrier = "cucc";
  BOOST_TEST(std::holds_alternative<validated_request>(validate(unknown_prefix, rules)));
  unknown_prefix.phone = "1200000000";
  BOOST_TEST(to_string(std::get<failure>(validate(unknown_prefix, rules)).code) == "invalid_phone");
}

BOOST_AUTO_TEST_CASE(a_named_carrier_must_be_configured_and_is_not_echoed) {
  order_request request{"ref", "13800138000", 1000};
  request.carrier = "China-Mobile-13800138000";
  auto f = std::get<failure>(validate(request, rules));
  check_failure(f, errc::unknown_carrier, request.phone);
  BOOST_TEST(!contains(f.reason, request.carrier), f.reason);
  BOOST_TEST(contains(f.reason, "cmcc, ctcc, cucc"), f.reason);
}

BOOST_AUTO_TEST_SUITE_END()
