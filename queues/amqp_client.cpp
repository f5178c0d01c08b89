#include "queues/amqp_client.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <set>

namespace topup::queues {
namespace {

constexpr amqp_channel_t channel = 1;
constexpr int reply_precondition_failed = 406;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::string text_of(amqp_bytes_t bytes) {
  return {static_cast<const char*>(bytes.bytes), bytes.len};
}

amqp_bytes_t bytes_of(const std::string& text) {
  return {text.size(), const_cast<char*>(text.data())};
}

/// What a broker's close method says, with its reply code.
std::string closed_by_broker(const amqp_method_t& method, int& code) {
  if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto* close = static_cast<amqp_connection_close_t*>(method.decoded);
    code = close->reply_code;
    return "the broker closed the connection: " + std::to_string(code) + " "
           + text_of(close->reply_text);
  }
  if (method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* close = static_cast<amqp_channel_close_t*>(method.decoded);
    code = close->reply_code;
    return "the broker closed the channel: " + std::to_string(code) + " "
           + text_of(close->reply_text);
  }
  return "unexpected method " + std::to_string(method.id) + " from the broker";
}

/// Throws amqp_error unless the reply is a normal one.
void check(const amqp_rpc_reply_t& reply, const std::string& what) {
  int code = 0;
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return;
    case AMQP_RESPONSE_NONE:
      throw amqp_error("rabbitmq " + what + ": no reply");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      throw amqp_error("rabbitmq " + what + ": " + amqp_error_string2(reply.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION: {
      auto why = closed_by_broker(reply.reply, code);
      throw amqp_error("rabbitmq " + what + ": " + why, code);
    }
  }
  throw amqp_error("rabbitmq " + what + ": unknown reply");
}

void check_status(int status, const std::string& what) {
  if (status != AMQP_STATUS_OK)
    throw amqp_error("rabbitmq " + what + ": " + amqp_error_string2(status));
}

} // namespace

amqp_connection::amqp_connection(const amqp_endpoint& endpoint)
  : rpc_timeout_(endpoint.rpc_timeout) {
  auto where = endpoint.host + ":" + std::to_string(endpoint.port);
  state_ = amqp_new_connection();
  if (!state_)
    throw amqp_error("rabbitmq " + where + ": cannot allocate a connection");
  try {
    auto* socket = amqp_tcp_socket_new(state_);
    if (!socket)
      throw amqp_error("rabbitmq " + where + ": cannot allocate a socket");
    auto connect_timeout = to_timeval(endpoint.connect_timeout);
    check_status(amqp_socket_open_noblock(socket, endpoint.host.c_str(), endpoint.port,
                                          &connect_timeout),
                 where);
    auto rpc_timeout = to_timeval(rpc_timeout_);
    amqp_set_handshake_timeout(state_, &rpc_timeout);
    amqp_set_rpc_timeout(state_, &rpc_timeout);
    check(amqp_login(state_, endpoint.vhost.c_str(), 0, 131072, endpoint.heartbeat_s,
                     AMQP_SASL_METHOD_PLAIN, endpoint.user.c_str(), endpoint.password.c_str()),
          where + " login");
    open_channel();
  } catch (...) {
    amqp_destroy_connection(state_);
    state_ = nullptr;
    throw;
  }
}

amqp_connection::~amqp_connection() {
  if (!state_)
    return;
  // A polite close is bounded by the RPC timeout; on a broken connection it fails at once.
  amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(state_);
}

void amqp_connection::open_channel() {
  amqp_channel_open(state_, channel);
  check_rpc("opening a channel");
}

void amqp_connection::check_rpc(const std::string& what) {
  check(amqp_get_rpc_reply(state_), what);
}

template <class Declare, class Check>
void amqp_connection::declare_or_check(const std::string& what, Declare declare, Check check) {
  declare();
  try {
    check_rpc("declaring " + what);
    return;
  } catch (const amqp_error& error) {
    if (error.code() != reply_precondition_failed)
      throw;
  }
  // It exists with other settings: the broker closed the channel. Acknowledge the close,
  // open the channel again and only check that it is there.
  amqp_channel_close_ok_t close_ok{};
  check_status(amqp_send_method(state_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok),
               "closing the channel");
  open_channel();
  check();
  check_rpc("checking " + what);
}

void amqp_connection::declare_exchange(const std::string& name, const std::string& type) {
  declare_or_check(
    "exchange " + name,
    [&] {
      amqp_exchange_declare(state_, channel, bytes_of(name), bytes_of(type), 0, 1, 0, 0,
                            amqp_empty_table);
    },
    [&] {
      amqp_exchange_declare(state_, channel, bytes_of(name), bytes_of(type), 1, 0, 0, 0,
                            amqp_empty_table);
    });
}

void amqp_connection::declare_queue(const std::string& name) {
  declare_or_check(
    "queue " + name,
    [&] { amqp_queue_declare(state_, channel, bytes_of(name), 0, 1, 0, 0, amqp_empty_table); },
    [&] { amqp_queue_declare(state_, channel, bytes_of(name), 1, 0, 0, 0, amqp_empty_table); });
}

void amqp_connection::bind_queue(const std::string& queue, const std::string& exchange,
                                 const std::string& routing_key) {
  amqp_queue_bind(state_, channel, bytes_of(queue), bytes_of(exchange), bytes_of(routing_key),
                  amqp_empty_table);
  check_rpc("binding queue " + queue + " to " + exchange);
}

void amqp_connection::set_prefetch(uint16_t prefetch) {
  amqp_basic_qos(state_, channel, 0, prefetch, 0);
  check_rpc("setting the prefetch");
}

void amqp_connection::consume(const std::string& queue) {
  amqp_basic_consume(state_, channel, bytes_of(queue), amqp_empty_bytes, 0, 0, 0,
                     amqp_empty_table);
  check_rpc("consuming queue " + queue);
}

std::optional<amqp_delivery> amqp_connection::next(std::chrono::milliseconds timeout) {
  amqp_maybe_release_buffers(state_);
  amqp_envelope_t envelope{};
  auto wait = to_timeval(timeout);
  auto reply = amqp_consume_message(state_, &envelope, &wait, 0);
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
    amqp_delivery delivery{envelope.delivery_tag, text_of(envelope.message.body),
                           envelope.redelivered != 0};
    amqp_destroy_envelope(&envelope);
    return delivery;
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
      && reply.library_error == AMQP_STATUS_TIMEOUT)
    return std::nullopt;
  if (reply.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION
      || reply.library_error != AMQP_STATUS_UNEXPECTED_STATE)
    check(reply, "consuming");
  // Another frame than a delivery: read it and see whether the broker is closing.
  amqp_frame_t frame{};
  check_status(amqp_simple_wait_frame(state_, &frame), "reading a frame");
  if (frame.frame_type == AMQP_FRAME_METHOD) {
    int code = 0;
    switch (frame.payload.method.id) {
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD: {
        auto why = closed_by_broker(frame.payload.method, code);
        throw amqp_error("rabbitmq " + why, code);
      }
      case AMQP_BASIC_CANCEL_METHOD:
        throw amqp_error("rabbitmq: the broker cancelled the consumer (queue deleted?)");
      default:
        break;
    }
  }
  return std::nullopt;
}

void amqp_connection::ack(uint64_t tag) {
  check_status(amqp_basic_ack(state_, channel, tag, 0), "acknowledging a delivery");
}

void amqp_connection::reject(uint64_t tag) {
  check_status(amqp_basic_reject(state_, channel, tag, 0), "rejecting a delivery");
}

void amqp_connection::enable_confirms() {
  amqp_confirm_select(state_, channel);
  check_rpc("selecting publisher confirms");
  confirms_ = true;
  published_ = 0;
}

void amqp_connection::publish_confirmed(const std::vector<amqp_outgoing>& messages,
                                        std::chrono::milliseconds timeout) {
  if (!confirms_)
    throw amqp_error("rabbitmq: publishing with confirms on a channel without them");
  std::set<uint64_t> unconfirmed;
  for (const auto& message : messages) {
    amqp_basic_properties_t properties{};
    properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    properties.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    if (!message.content_type.empty()) {
      properties._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
      properties.content_type = bytes_of(message.content_type);
    }
    std::vector<amqp_table_entry_t> entries(message.headers.size());
    for (size_t i = 0; i < message.headers.size(); ++i) {
      entries[i].key = bytes_of(message.headers[i].first);
      entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
      entries[i].value.value.bytes = bytes_of(message.headers[i].second);
    }
    if (!entries.empty()) {
      properties._flags |= AMQP_BASIC_HEADERS_FLAG;
      properties.headers.num_entries = static_cast<int>(entries.size());
      properties.headers.entries = entries.data();
    }
    check_status(amqp_basic_publish(state_, channel, bytes_of(message.exchange),
                                    bytes_of(message.routing_key), 0, 0, &properties,
                                    bytes_of(message.body)),
                 "publishing to " + message.exchange);
    unconfirmed.insert(++published_);
  }
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!unconfirmed.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw amqp_error("rabbitmq: " + std::to_string(unconfirmed.size())
                       + " messages not confirmed within " + std::to_string(timeout.count())
                       + " ms");
    auto wait = to_timeval(left);
    amqp_frame_t frame{};
    int status = amqp_simple_wait_frame_noblock(state_, &frame, &wait);
    if (status == AMQP_STATUS_TIMEOUT)
      continue;
    check_status(status, "waiting for confirms");
    if (frame.frame_type != AMQP_FRAME_METHOD)
      continue;
    int code = 0;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        if (ack->multiple)
          unconfirmed.erase(unconfirmed.begin(), unconfirmed.upper_bound(ack->delivery_tag));
        else
          unconfirmed.erase(ack->delivery_tag);
        break;
      }
      case AMQP_BASIC_NACK_METHOD:
        throw amqp_error("rabbitmq: the broker refused a published message (nack)");
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD: {
        auto why = closed_by_broker(frame.payload.method, code);
        throw amqp_error("rabbitmq " + why, code);
      }
      default:
        break;
    }
  }
}

uint32_t amqp_connection::message_count(const std::string& queue) {
  auto* ok = amqp_queue_declare(state_, channel, bytes_of(queue), 1, 0, 0, 0, amqp_empty_table);
  check_rpc("checking queue " + queue);
  return ok ? ok->message_count : 0;
}

} // namespace topup::queues
