#pragma once

// What the node's listening port lets through from a peer, before any of it reaches CAF's
// middleman. CAF 0.17's BASP broker sizes its receive buffer from the payload length of each
// header before the payload arrives and offers no bound on it (instance::handle reads the
// header, then configure_read(receive_policy::exactly(payload_len))), and it closes no
// connection that never completes its handshake. The node's front listener
// (apps/node/front_listener) therefore reads each peer's stream with one of these checks and
// relays only what they pass.

#include <cstddef>
#include <cstdint>
#include <string>

namespace topup {

/// The BASP header of CAF 0.17.6 as it travels (caf/io/basp/header.hpp, binary_serializer in
/// network byte order): operation (1 byte), 2 padding bytes, flags (1), payload length (4),
/// operation data (8), source actor (8), destination actor (8).
constexpr size_t basp_header_size = 32;

/// The BASP operations (caf/io/basp/message_type.hpp).
enum class basp_operation : uint8_t {
  server_handshake = 0,
  client_handshake = 1,
  direct_message = 2,
  routed_message = 3,
  monitor_message = 4,
  down_message = 5,
  heartbeat = 6,
};

/// What a peer connected to the node may send.
struct inbound_limits {
  /// Payload of the client handshake (a node id: a few dozen bytes).
  uint32_t max_handshake_payload = 64 * 1024;
  /// Payload of any message after the handshake. The largest the engine sends are cluster
  /// hand-overs of waiting orders (a few hundred bytes per order).
  uint32_t max_message_payload = 64u << 20;
};

/// TLS records (RFC 8446 5.1): a ciphertext carries at most 2^14 + 256 bytes (TLS 1.3) or
/// 2^14 + 2048 (TLS 1.2).
constexpr size_t tls_record_header_size = 5;
constexpr size_t tls_max_record_payload = (1u << 14) + 2048;

/// Reads the byte stream one peer sends to the node, in arrival order, and says how much of
/// what has arrived may be relayed, when the peer's handshake is complete, and when the peer
/// broke the protocol (the connection is then closed).
///
/// BASP (plain listener): only whole messages are relayed, so CAF never sizes a buffer for
/// bytes that were merely announced: a header whose payload length is above the limit, an
/// operation a client never sends, or a first message that is not the client handshake is
/// refused as soon as its header is there. The handshake is complete with the first whole
/// client handshake message.
///
/// TLS (the listener terminates nothing, CAF's OpenSSL module does): bytes are relayed as
/// they come, the record framing (content type, version, length) is checked, and the
/// handshake counts as complete with the first whole application-data record: a peer
/// without a certificate the node accepts is disconnected by OpenSSL before that, and one
/// that stalls never gets there.
class inbound_stream {
public:
  enum class protocol { basp, tls };

  inbound_stream(protocol kind, inbound_limits limits) : kind_(kind), limits_(limits) {}

  struct verdict {
    /// Bytes at the start of the buffer given that may be relayed now. The caller relays
    /// exactly these and passes the rest (with what arrives next) to the next call.
    size_t complete = 0;
    /// BASP: the size of the first message not yet whole once its header is there (so the
    /// buffer must be able to hold that much); 0 otherwise.
    size_t needed = 0;
    /// Not empty: why the peer is disconnected (nothing more is relayed).
    std::string refusal;
  };

  /// Inspects the bytes not relayed yet: `size` bytes at `data`, starting where the last
  /// call's `complete` ended.
  verdict inspect(const uint8_t* data, size_t size);

  bool handshake_done() const { return handshake_done_; }
  protocol kind() const { return kind_; }

private:
  verdict inspect_basp(const uint8_t* data, size_t size);
  verdict inspect_tls(const uint8_t* data, size_t size);

  protocol kind_;
  inbound_limits limits_;
  bool handshake_done_ = false;
  // TLS: where the stream is in the current record.
  uint8_t record_header_[tls_record_header_size] = {};
  size_t record_header_have_ = 0;
  size_t record_left_ = 0;
  bool record_is_application_data_ = false;
};

/// How many connections a listener can keep open when each costs `fds_per_connection` file
/// descriptors and `reserved` of the process's `open_files_limit` are kept for everything
/// else (store, provider connections, CAF's own): at most `configured`, and 0 when the limit
/// leaves nothing.
size_t connection_cap(size_t configured, uint64_t open_files_limit, uint64_t reserved,
                      uint64_t fds_per_connection);

} // namespace topup
