#include <boost/test/unit_test.hpp>

// What the node's listening port relays from a peer: whole BASP messages within the bound,
// the TLS record framing, and which connections it keeps.

#include "domain/connection_slots.hpp"
#include "domain/inbound_stream.hpp"

#include <cstdint>
#include <optional>
#include <vector>

using namespace topup;

namespace {

using bytes = std::vector<uint8_t>;

/// A BASP message as CAF 0.17.6 writes it, with `payload` bytes after the header (which
/// announces `announced`, the real length unless given).
bytes basp(basp_operation op, size_t payload, std::optional<uint32_t> announced = {}) {
  bytes out(basp_header_size + payload, 0xAB);
  auto length = announced.value_or(static_cast<uint32_t>(payload));
  out[0] = static_cast<uint8_t>(op);
  out[1] = out[2] = out[3] = 0;
  out[4] = static_cast<uint8_t>(length >> 24);
  out[5] = static_cast<uint8_t>(length >> 16);
  out[6] = static_cast<uint8_t>(length >> 8);
  out[7] = static_cast<uint8_t>(length);
  return out;
}

bytes operator+(bytes a, const bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bytes tls_record(uint8_t type, size_t length) {
  bytes out{type, 3, 3, static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  out.resize(5 + length, 0x11);
  return out;
}

inbound_limits small_limits() {
  inbound_limits limits;
  limits.max_handshake_payload = 100;
  limits.max_message_payload = 1000;
  return limits;
}

} // namespace

BOOST_AUTO_TEST_SUITE(basp_inbound)

BOOST_AUTO_TEST_CASE(a_header_announcing_4_gb_is_refused_before_any_payload) {
  inbound_stream stream{inbound_stream::protocol::basp, inbound_limits{}};
  auto header = basp(basp_operation::client_handshake, 0, 0xFFFFFFFFu);
  auto v = stream.inspect(header.data(), header.size());
  BOOST_TEST(v.complete == 0u);
  BOOST_TEST(v.refusal.find("4294967295") != std::string::npos, v.refusal);
  BOOST_TEST(!stream.handshake_done());
}

BOOST_AUTO_TEST_CASE(after_the_handshake_the_message_bound_applies) {
  inbound_stream stream{inbound_stream::protocol::basp, small_limits()};
  auto data = basp(basp_operation::client_handshake, 40) + basp(basp_operation::direct_message, 1000)
              + basp(basp_operation::direct_message, 0, 1001);
  auto v = stream.inspect(data.data(), data.size());
  BOOST_TEST(!v.refusal.empty());
  // A refusal relays nothing more; the handshake bound is its own.
  inbound_stream again{inbound_stream::protocol::basp, small_limits()};
  auto big_handshake = basp(basp_operation::client_handshake, 0, 101);
  BOOST_TEST(!again.inspect(big_handshake.data(), big_handshake.size()).refusal.empty());
}

BOOST_AUTO_TEST_CASE(only_whole_messages_are_relayed) {
  inbound_stream stream{inbound_stream::protocol::basp, small_limits()};
  auto data = basp(basp_operation::client_handshake, 40) + basp(basp_operation::direct_message, 500);
  // The handshake and half of the next message have arrived.
  auto first = stream.inspect(data.data(), 72 + 100);
  BOOST_TEST(first.refusal == "");
  BOOST_TEST(first.complete == 72u);
  BOOST_TEST(first.needed == 532u);
  BOOST_TEST(stream.handshake_done());
  // The rest arrives: the caller passes what it kept plus the new bytes.
  auto second = stream.inspect(data.data() + 72, data.size() - 72);
  BOOST_TEST(second.complete == 532u);
  BOOST_TEST(second.needed == 0u);
  // A partial header is kept too.
  auto heartbeat = basp(basp_operation::heartbeat, 0);
  auto partial = stream.inspect(heartbeat.data(), 10);
  BOOST_TEST(partial.complete == 0u);
  BOOST_TEST(partial.needed == 0u);
  BOOST_TEST(partial.refusal == "");
}

BOOST_AUTO_TEST_CASE(the_handshake_is_done_only_once_its_message_is_whole) {
  inbound_stream stream{inbound_stream::protocol::basp, small_limits()};
  auto handshake = basp(basp_operation::client_handshake, 40);
  stream.inspect(handshake.data(), 50);
  BOOST_TEST(!stream.handshake_done());
  stream.inspect(handshake.data(), handshake.size());
  BOOST_TEST(stream.handshake_done());
}

BOOST_AUTO_TEST_CASE(messages_before_the_handshake_and_server_operations_are_refused) {
  for (auto op : {basp_operation::direct_message, basp_operation::heartbeat,
                  basp_operation::server_handshake}) {
    inbound_stream stream{inbound_stream::protocol::basp, small_limits()};
    auto data = basp(op, 8);
    BOOST_TEST(!stream.inspect(data.data(), data.size()).refusal.empty());
  }
  inbound_stream stream{inbound_stream::protocol::basp, small_limits()};
  auto data = basp(basp_operation::client_handshake, 8) + basp(basp_operation::server_handshake, 8);
  auto v = stream.inspect(data.data(), data.size());
  BOOST_TEST(v.refusal.find("server_handshake") != std::string::npos, v.refusal);
  auto unknown = basp(basp_operation::client_handshake, 8);
  unknown[0] = 7;
  inbound_stream other{inbound_stream::protocol::basp, small_limits()};
  BOOST_TEST(!other.inspect(unknown.data(), unknown.size()).refusal.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tls_inbound)

BOOST_AUTO_TEST_CASE(records_pass_as_they_come_and_application_data_completes_the_handshake) {
  inbound_stream stream{inbound_stream::protocol::tls, inbound_limits{}};
  auto hello = tls_record(22, 300);
  auto v = stream.inspect(hello.data(), 100);
  BOOST_TEST(v.complete == 100u);
  v = stream.inspect(hello.data() + 100, hello.size() - 100);
  BOOST_TEST(v.refusal == "");
  BOOST_TEST(!stream.handshake_done());
  auto data = tls_record(23, 50);
  // Byte by byte: the framing is followed across calls.
  for (size_t i = 0; i + 1 < data.size(); ++i)
    BOOST_TEST(stream.inspect(&data[i], 1).complete == 1u);
  BOOST_TEST(!stream.handshake_done());
  stream.inspect(&data.back(), 1);
  BOOST_TEST(stream.handshake_done());
}

BOOST_AUTO_TEST_CASE(what_is_not_a_tls_record_is_refused) {
  auto basp_bytes = basp(basp_operation::client_handshake, 8);
  inbound_stream plain{inbound_stream::protocol::tls, inbound_limits{}};
  BOOST_TEST(!plain.inspect(basp_bytes.data(), basp_bytes.size()).refusal.empty());
  inbound_stream oversized{inbound_stream::protocol::tls, inbound_limits{}};
  bytes huge{23, 3, 3, 0xFF, 0xFF};
  BOOST_TEST(!oversized.inspect(huge.data(), huge.size()).refusal.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(connection_limits)

BOOST_AUTO_TEST_CASE(the_cap_follows_the_open_files_limit) {
  BOOST_TEST(connection_cap(1000, 1024, 124, 3) == 300u);
  BOOST_TEST(connection_cap(1000, 1048576, 124, 3) == 1000u);
  BOOST_TEST(connection_cap(1000, 100, 124, 3) == 0u);
}

BOOST_AUTO_TEST_CASE(a_new_connection_at_the_cap_replaces_the_oldest_pending_one) {
  connection_slots slots{3};
  BOOST_TEST(slots.admit(1).accepted);
  BOOST_TEST(slots.admit(2).accepted);
  BOOST_TEST(slots.admit(3).accepted);
  slots.established(2);
  auto fourth = slots.admit(4);
  BOOST_TEST(fourth.accepted);
  BOOST_TEST(fourth.evicted.value_or(0) == 1u);
  auto fifth = slots.admit(5);
  BOOST_TEST(fifth.evicted.value_or(0) == 3u);
  BOOST_TEST(slots.open() == 3u);
  BOOST_TEST(slots.pending() == 2u);
}

BOOST_AUTO_TEST_CASE(established_connections_are_never_evicted) {
  connection_slots slots{2};
  slots.admit(1);
  slots.admit(2);
  slots.established(1);
  slots.established(2);
  auto third = slots.admit(3);
  BOOST_TEST(!third.accepted);
  BOOST_TEST(!third.evicted.has_value());
  slots.closed(1);
  BOOST_TEST(slots.admit(3).accepted);
  // Closing twice or an unknown id changes nothing.
  slots.closed(1);
  slots.closed(99);
  BOOST_TEST(slots.open() == 2u);
}

BOOST_AUTO_TEST_CASE(a_thousand_idle_connections_never_lock_out_the_next_one) {
  connection_slots slots{300};
  for (uint64_t id = 1; id <= 1100; ++id)
    BOOST_TEST_REQUIRE(slots.admit(id).accepted);
  BOOST_TEST(slots.open() == 300u);
  auto client = slots.admit(5000);
  BOOST_TEST(client.accepted);
  slots.established(5000);
  BOOST_TEST(!slots.is_pending(5000));
  BOOST_TEST(slots.pending() == 299u);
}

BOOST_AUTO_TEST_SUITE_END()
