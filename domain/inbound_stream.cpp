#include "domain/inbound_stream.hpp"

#include <algorithm>

namespace topup {
namespace {

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string operation_name(uint8_t op) {
  switch (static_cast<basp_operation>(op)) {
    case basp_operation::server_handshake: return "server_handshake";
    case basp_operation::client_handshake: return "client_handshake";
    case basp_operation::direct_message: return "direct_message";
    case basp_operation::routed_message: return "routed_message";
    case basp_operation::monitor_message: return "monitor_message";
    case basp_operation::down_message: return "down_message";
    case basp_operation::heartbeat: return "heartbeat";
  }
  return "operation " + std::to_string(op);
}

} // namespace

inbound_stream::verdict inbound_stream::inspect(const uint8_t* data, size_t size) {
  return kind_ == protocol::basp ? inspect_basp(data, size) : inspect_tls(data, size);
}

inbound_stream::verdict inbound_stream::inspect_basp(const uint8_t* data, size_t size) {
  verdict v;
  size_t at = 0;
  bool handshake = handshake_done_;
  while (size - at >= basp_header_size) {
    const uint8_t* header = data + at;
    auto op = header[0];
    auto payload = read_be32(header + 4);
    if (!handshake && op != static_cast<uint8_t>(basp_operation::client_handshake)) {
      v.refusal = "BASP " + operation_name(op) + " before the client handshake";
      return v;
    }
    if (op == static_cast<uint8_t>(basp_operation::server_handshake)
        || op > static_cast<uint8_t>(basp_operation::heartbeat)) {
      v.refusal = "BASP " + operation_name(op) + " is not sent by a client";
      return v;
    }
    auto limit = op == static_cast<uint8_t>(basp_operation::client_handshake)
                   ? limits_.max_handshake_payload
                   : limits_.max_message_payload;
    if (payload > limit) {
      v.refusal = "BASP " + operation_name(op) + " announces " + std::to_string(payload)
                  + " payload bytes, more than the " + std::to_string(limit) + " allowed";
      return v;
    }
    auto whole = basp_header_size + size_t{payload};
    if (size - at < whole) {
      v.needed = whole;
      break;
    }
    at += whole;
    v.complete = at;
    handshake = true;
  }
  handshake_done_ = handshake;
  return v;
}

inbound_stream::verdict inbound_stream::inspect_tls(const uint8_t* data, size_t size) {
  verdict v;
  size_t at = 0;
  while (at < size) {
    if (record_left_ > 0) {
      auto take = std::min(record_left_, size - at);
      at += take;
      record_left_ -= take;
      if (record_left_ == 0 && record_is_application_data_)
        handshake_done_ = true;
      continue;
    }
    record_header_[record_header_have_++] = data[at++];
    if (record_header_have_ < tls_record_header_size)
      continue;
    record_header_have_ = 0;
    auto type = record_header_[0];
    auto major = record_header_[1];
    size_t length = (size_t{record_header_[3]} << 8) | record_header_[4];
    // change_cipher_spec 20, alert 21, handshake 22, application_data 23.
    if (type < 20 || type > 23 || major != 3) {
      v.refusal = "not a TLS record (content type " + std::to_string(type) + ", version "
                  + std::to_string(major) + "." + std::to_string(record_header_[2]) + ")";
      return v;
    }
    if (length == 0 || length > tls_max_record_payload) {
      v.refusal = "TLS record of " + std::to_string(length) + " bytes";
      return v;
    }
    record_left_ = length;
    record_is_application_data_ = type == 23;
  }
  v.complete = size;
  return v;
}

size_t connection_cap(size_t configured, uint64_t open_files_limit, uint64_t reserved,
                      uint64_t fds_per_connection) {
  if (open_files_limit <= reserved || fds_per_connection == 0)
    return 0;
  auto fits = (open_files_limit - reserved) / fds_per_connection;
  return static_cast<size_t>(std::min<uint64_t>(configured, fits));
}

} // namespace topup
