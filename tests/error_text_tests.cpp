#include <boost/test/unit_test.hpp>

// Failure texts of database drivers made into one clean line for logs and clients.

#include "domain/error_text.hpp"

#include <string>

using namespace topup;

BOOST_AUTO_TEST_SUITE(one_line_reasons)

BOOST_AUTO_TEST_CASE(libpq_hint_lines_are_dropped) {
  auto raw = "Cannot execute query. Fatal error. server closed the connection unexpectedly\n"
             "\tThis probably means the server terminated abnormally\n"
             "\tbefore or while processing the request.\n";
  BOOST_TEST(one_line_reason(raw)
             == "Cannot execute query. Fatal error. server closed the connection unexpectedly");
}

BOOST_AUTO_TEST_CASE(message_lines_are_joined_and_spaces_collapsed) {
  auto raw = "Cannot establish connection to the database.\n"
             "connection to server at \"127.0.0.1\", port 55433 failed: Connection refused\n"
             "\tIs the server running on that host and accepting TCP/IP connections?\n";
  BOOST_TEST(one_line_reason(raw)
             == "Cannot establish connection to the database. connection to server at "
                "\"127.0.0.1\", port 55433 failed: Connection refused");
  BOOST_TEST(one_line_reason("ERROR:  deadlock   detected") == "ERROR: deadlock detected");
}

BOOST_AUTO_TEST_CASE(detail_lines_with_stored_values_are_dropped) {
  auto raw = "Cannot execute query. Fatal error. ERROR:  duplicate key value violates unique "
             "constraint \"orders_client_ref_key\"\nDETAIL:  Key (phone)=(13800138000) already "
             "exists.\nHINT:  none\nCONTEXT:  SQL function\nQUERY:  INSERT INTO orders VALUES "
             "('13800138000')\nLINE 1: INSERT\n";
  auto reason = one_line_reason(raw);
  BOOST_TEST(reason.find('\n') == std::string::npos);
  BOOST_TEST(reason.find("13800138000") == std::string::npos);
  BOOST_TEST(reason.find("DETAIL") == std::string::npos);
  BOOST_TEST(reason == "Cannot execute query. Fatal error. ERROR: duplicate key value violates "
                       "unique constraint \"orders_client_ref_key\"");
}

BOOST_AUTO_TEST_CASE(phone_numbers_left_in_the_message_are_masked) {
  auto reason = one_line_reason(
    "ERROR:  invalid input syntax for type bigint: \"13800138000\" at 2024");
  BOOST_TEST(reason == "ERROR: invalid input syntax for type bigint: \"138****8000\" at 2024");
  // SOCI's echo of the statement and its values, when it sits on the message line.
  auto echoed = one_line_reason(
    "UNIQUE constraint failed: orders.client_ref while executing \"INSERT INTO orders ...\" "
    "with :phone=\"13900001111\".");
  BOOST_TEST(echoed == "UNIQUE constraint failed: orders.client_ref");
}

BOOST_AUTO_TEST_CASE(control_characters_become_spaces_and_long_texts_are_cut) {
  BOOST_TEST(one_line_reason("disk\r is\x01 full\r\n") == "disk is full");
  auto reason = one_line_reason(std::string(1000, 'x'), 50);
  BOOST_TEST(reason == std::string(50, 'x') + "…");
  BOOST_TEST(one_line_reason("") == "unknown error");
  BOOST_TEST(one_line_reason("\n\t hint only\nDETAIL: x\n") == "unknown error");
}

BOOST_AUTO_TEST_SUITE_END()
