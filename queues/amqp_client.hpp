#pragma once

// RabbitMQ for the queue ingress, over rabbitmq-c (blocking): one connection with one channel,
// the declarations the ingress makes, consuming with manual acknowledgement, and publishing
// with publisher confirms. Used from one thread at a time (a detached actor); no CAF here.

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

struct amqp_connection_state_t_;

namespace topup::queues {

/// The connection or its channel failed (refused, reset, closed by the broker, a timeout):
/// drop it and connect again. `code` is the broker's reply code when it closed the channel
/// or the connection (406 PRECONDITION_FAILED, 404 NOT_FOUND, ...), 0 otherwise.
class amqp_error : public std::runtime_error {
public:
  amqp_error(const std::string& what, int code = 0) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

private:
  int code_;
};

struct amqp_endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  std::chrono::milliseconds connect_timeout{2000};
  int heartbeat_s = 60;
  /// Bound of each declaration and of connecting as a whole.
  std::chrono::milliseconds rpc_timeout{10000};
};

/// A message as the broker delivered it.
struct amqp_delivery {
  uint64_t tag = 0;
  std::string body;
  bool redelivered = false;
};

/// A message to publish: persistent, with text headers.
struct amqp_outgoing {
  std::string exchange;
  std::string routing_key;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";  ///< none when empty
};

class amqp_connection {
public:
  /// Opens the socket, logs in and opens channel 1; amqp_error if any of it fails.
  explicit amqp_connection(const amqp_endpoint& endpoint);
  ~amqp_connection();
  amqp_connection(const amqp_connection&) = delete;
  amqp_connection& operator=(const amqp_connection&) = delete;

  /// A durable exchange of `type` ("topic", "fanout", ...), created if missing. One that
  /// exists already is used as it is, whatever its type: when the broker refuses the
  /// declaration as differing (406), the channel is opened again and the exchange only
  /// checked for (passive).
  void declare_exchange(const std::string& name, const std::string& type);

  /// A durable queue, created without arguments if missing. A queue that exists already is
  /// used as it is, whatever its arguments (producers may have declared it with theirs), as
  /// declare_exchange does.
  void declare_queue(const std::string& name);

  void bind_queue(const std::string& queue, const std::string& exchange,
                  const std::string& routing_key);

  /// At most `prefetch` unacknowledged deliveries on the channel.
  void set_prefetch(uint16_t prefetch);

  /// Starts consuming `queue` with manual acknowledgement.
  void consume(const std::string& queue);

  /// The next delivery, waiting up to `timeout` (0: only what has arrived); none on timeout.
  std::optional<amqp_delivery> next(std::chrono::milliseconds timeout);

  /// Acknowledges one delivery: the broker forgets the message.
  void ack(uint64_t tag);

  /// Rejects one delivery without requeueing it: the broker drops it, or dead-letters it
  /// when the queue has a dead-letter exchange of its own.
  void reject(uint64_t tag);

  /// Puts the channel in confirm mode (for publish_confirmed).
  void enable_confirms();

  /// Publishes every message (persistent) and waits until the broker confirmed
  /// all of them; amqp_error if it refused one (nack) or did not confirm within `timeout`.
  /// A message no queue is bound for is confirmed and dropped by the broker: bind queues
  /// first. Needs enable_confirms().
  void publish_confirmed(const std::vector<amqp_outgoing>& messages,
                         std::chrono::milliseconds timeout);

  /// Messages waiting in `queue` (a passive declaration), for tests and the bench.
  uint32_t message_count(const std::string& queue);

private:
  /// Runs `declare` (which sends one declaration); when the broker refuses it as differing
  /// from what exists (406), acknowledges the channel's close, opens it again and runs
  /// `check` (a passive declaration) instead.
  template <class Declare, class Check>
  void declare_or_check(const std::string& what, Declare declare, Check check);
  void open_channel();
  void check_rpc(const std::string& what);

  amqp_connection_state_t_* state_ = nullptr;
  std::chrono::milliseconds rpc_timeout_;
  uint64_t published_ = 0;  ///< publish sequence number on the confirm channel
  bool confirms_ = false;
};

} // namespace topup::queues
