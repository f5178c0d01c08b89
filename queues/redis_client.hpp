#pragma once

// Redis for the queue ingress, over hiredis (blocking): one connection, commands as argument
// vectors (binary safe), pipelines, and the two things the ingress does with lists: the
// reliable-queue moves into a processing list and the atomic finish of a batch. Used from one
// thread at a time (a detached actor); no CAF here.

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct redisContext;

namespace topup::queues {

/// The connection failed or broke (refused, timeout, reset): drop it and connect again.
/// A Redis error reply is not an exception: it is a reply of kind `error`.
class redis_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One reply, copied out of hiredis.
struct redis_reply {
  enum class kind { nil, status, error, integer, string, array } type = kind::nil;
  std::string text;  ///< status, error and string replies
  long long integer = 0;
  std::vector<redis_reply> elements;

  bool is_error() const { return type == kind::error; }
};

struct redis_endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string password;  ///< AUTH when not empty
  int64_t database = 0;  ///< SELECT when not 0
  std::chrono::milliseconds connect_timeout{2000};
  /// How long a command may take; a blocking command adds its own wait to it.
  std::chrono::milliseconds command_timeout{5000};
};

class redis_connection {
public:
  /// Connects, authenticates and selects the database; redis_error if any of it fails.
  explicit redis_connection(const redis_endpoint& endpoint);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// Runs one command and returns its reply.
  redis_reply command(const std::vector<std::string>& args);

  /// Sends every command before reading any reply (one round trip), then returns the
  /// replies in order.
  std::vector<redis_reply> pipeline(const std::vector<std::vector<std::string>>& commands);

  /// Runs a command that blocks on the server for up to `wait` (BLMOVE, ...): its timeout
  /// is the command timeout plus that wait.
  redis_reply blocking(const std::vector<std::string>& args, std::chrono::milliseconds wait);

private:
  void set_timeout(std::chrono::milliseconds timeout);
  redis_reply take_reply();

  redisContext* context_ = nullptr;
  std::chrono::milliseconds command_timeout_;
};

/// The lists of one node's Redis ingress: producers push orders to `source`; the node moves
/// them to its own `processing` list, atomically, and removes them from there only once
/// intake answered, so that a crash between the move and the removal loses nothing.
class redis_order_lists {
public:
  redis_order_lists(redis_connection& connection, std::string source, std::string processing,
                    std::string dead_letters);

  /// The oldest `max` messages the processing list still holds, oldest first: those of a run
  /// that crashed, and those left there to be tried again.
  std::vector<std::string> held(size_t max);

  /// Moves at most `max` messages from the source list to the processing list, oldest
  /// first (producers LPUSH, so the oldest is at the right end), waiting up to `block` for
  /// the first one. Each message is moved by LMOVE/BLMOVE: it is always in one of the two
  /// lists.
  std::vector<std::string> take(size_t max, std::chrono::milliseconds block);

  /// Pushes the dead letters, then removes the finished messages (one occurrence each) from
  /// the processing list, in one MULTI/EXEC: a dead letter never exists without its message
  /// gone, nor a refused message gone without its dead letter.
  void finish(const std::vector<std::string>& finished, const std::vector<std::string>& dead_letters);

  /// How many messages the source list holds (LLEN).
  long long backlog();

private:
  redis_connection& connection_;
  std::string source_, processing_, dead_letters_;
};

/// Throws redis_error with `what` and the reply's text unless the reply is of `expected`.
const redis_reply& expect(const redis_reply& reply, redis_reply::kind expected,
                          const std::string& what);

} // namespace topup::queues
