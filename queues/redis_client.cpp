#include "queues/redis_client.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdio>

namespace topup::queues {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

redis_reply copy_reply(const redisReply* raw) {
  redis_reply reply;
  switch (raw->type) {
    case REDIS_REPLY_STATUS:
      reply.type = redis_reply::kind::status;
      reply.text.assign(raw->str, raw->len);
      break;
    case REDIS_REPLY_ERROR:
      reply.type = redis_reply::kind::error;
      reply.text.assign(raw->str, raw->len);
      break;
    case REDIS_REPLY_INTEGER:
      reply.type = redis_reply::kind::integer;
      reply.integer = raw->integer;
      break;
    case REDIS_REPLY_STRING:
      reply.type = redis_reply::kind::string;
      reply.text.assign(raw->str, raw->len);
      break;
    case REDIS_REPLY_ARRAY:
      reply.type = redis_reply::kind::array;
      reply.elements.reserve(raw->elements);
      for (size_t i = 0; i < raw->elements; ++i)
        reply.elements.push_back(copy_reply(raw->element[i]));
      break;
    default:
      reply.type = redis_reply::kind::nil;
  }
  return reply;
}

std::string kind_name(redis_reply::kind kind) {
  switch (kind) {
    case redis_reply::kind::nil: return "nil";
    case redis_reply::kind::status: return "status";
    case redis_reply::kind::error: return "error";
    case redis_reply::kind::integer: return "integer";
    case redis_reply::kind::string: return "string";
    case redis_reply::kind::array: return "array";
  }
  return "unknown";
}

void append(redisContext* context, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data())
      != REDIS_OK)
    throw redis_error(std::string{"redis: cannot queue a command: "} + context->errstr);
}

/// Moves up to ARGV[1] messages from KEYS[1] to KEYS[2], oldest first, atomically.
constexpr const char* move_script =
  "local moved = {}\n"
  "for i = 1, tonumber(ARGV[1]) do\n"
  "  local message = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')\n"
  "  if not message then break end\n"
  "  moved[#moved + 1] = message\n"
  "end\n"
  "return moved\n";

std::vector<std::string> strings_of(const redis_reply& reply, const std::string& what) {
  expect(reply, redis_reply::kind::array, what);
  std::vector<std::string> out;
  out.reserve(reply.elements.size());
  for (const auto& element : reply.elements)
    out.push_back(expect(element, redis_reply::kind::string, what).text);
  return out;
}

} // namespace

const redis_reply& expect(const redis_reply& reply, redis_reply::kind expected,
                          const std::string& what) {
  if (reply.type == expected)
    return reply;
  if (reply.is_error())
    throw redis_error("redis " + what + ": " + reply.text);
  throw redis_error("redis " + what + ": expected a reply of kind " + kind_name(expected)
                    + ", got " + kind_name(reply.type));
}

redis_connection::redis_connection(const redis_endpoint& endpoint)
  : command_timeout_(endpoint.command_timeout) {
  auto where = endpoint.host + ":" + std::to_string(endpoint.port);
  context_ = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port,
                                     to_timeval(endpoint.connect_timeout));
  if (!context_)
    throw redis_error("redis " + where + ": cannot allocate a connection");
  if (context_->err) {
    std::string why = context_->errstr;
    redisFree(context_);
    context_ = nullptr;
    throw redis_error("redis " + where + ": " + why);
  }
  set_timeout(command_timeout_);
  try {
    if (!endpoint.password.empty())
      expect(command({"AUTH", endpoint.password}), redis_reply::kind::status, "AUTH");
    if (endpoint.database != 0)
      expect(command({"SELECT", std::to_string(endpoint.database)}), redis_reply::kind::status,
             "SELECT");
  } catch (...) {
    redisFree(context_);
    context_ = nullptr;
    throw;
  }
}

redis_connection::~redis_connection() {
  if (context_)
    redisFree(context_);
}

void redis_connection::set_timeout(std::chrono::milliseconds timeout) {
  if (redisSetTimeout(context_, to_timeval(timeout)) != REDIS_OK)
    throw redis_error(std::string{"redis: cannot set a timeout: "} + context_->errstr);
}

redis_reply redis_connection::blocking(const std::vector<std::string>& args,
                                       std::chrono::milliseconds wait) {
  set_timeout(command_timeout_ + wait);
  auto reply = command(args);
  set_timeout(command_timeout_);
  return reply;
}

redis_reply redis_connection::take_reply() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || !raw) {
    // hiredis marks the context as failed: no command works on it any more.
    throw redis_error(std::string{"redis connection lost: "}
                      + (context_->errstr[0] ? context_->errstr : "no reply"));
  }
  auto reply = copy_reply(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return reply;
}

redis_reply redis_connection::command(const std::vector<std::string>& args) {
  append(context_, args);
  return take_reply();
}

std::vector<redis_reply>
redis_connection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  for (const auto& args : commands)
    append(context_, args);
  std::vector<redis_reply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i)
    replies.push_back(take_reply());
  return replies;
}

redis_order_lists::redis_order_lists(redis_connection& connection, std::string source,
                                     std::string processing, std::string dead_letters)
  : connection_(connection), source_(std::move(source)), processing_(std::move(processing)),
    dead_letters_(std::move(dead_letters)) {}

std::vector<std::string> redis_order_lists::held(size_t max) {
  auto messages = strings_of(
    connection_.command({"LRANGE", processing_, "-" + std::to_string(std::max<size_t>(max, 1)), "-1"}),
    "LRANGE " + processing_);
  // Moved in at the left: the oldest is at the right end.
  std::reverse(messages.begin(), messages.end());
  return messages;
}

std::vector<std::string> redis_order_lists::take(size_t max, std::chrono::milliseconds block) {
  auto moved = strings_of(connection_.command({"EVAL", move_script, "2", source_, processing_,
                                               std::to_string(max)}),
                          "moving messages from " + source_);
  if (!moved.empty() || block.count() <= 0)
    return moved;
  // Nothing waiting: block for the first message, then take what came with it.
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", static_cast<double>(block.count()) / 1000.0);
  auto first =
    connection_.blocking({"BLMOVE", source_, processing_, "RIGHT", "LEFT", seconds}, block);
  if (first.type == redis_reply::kind::nil)
    return {};
  moved.push_back(expect(first, redis_reply::kind::string, "BLMOVE " + source_).text);
  if (max > 1) {
    auto more = strings_of(connection_.command({"EVAL", move_script, "2", source_, processing_,
                                                std::to_string(max - 1)}),
                           "moving messages from " + source_);
    moved.insert(moved.end(), std::make_move_iterator(more.begin()),
                 std::make_move_iterator(more.end()));
  }
  return moved;
}

void redis_order_lists::finish(const std::vector<std::string>& finished,
                               const std::vector<std::string>& dead_letters) {
  if (finished.empty() && dead_letters.empty())
    return;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(finished.size() + 3);
  commands.push_back({"MULTI"});
  if (!dead_letters.empty()) {
    std::vector<std::string> push{"LPUSH", dead_letters_};
    push.insert(push.end(), dead_letters.begin(), dead_letters.end());
    commands.push_back(std::move(push));
  }
  for (const auto& message : finished)
    commands.push_back({"LREM", processing_, "1", message});
  commands.push_back({"EXEC"});
  auto replies = connection_.pipeline(commands);
  // Queued commands answer QUEUED; EXEC answers their results, or nil if it aborted.
  for (size_t i = 0; i + 1 < replies.size(); ++i)
    if (replies[i].is_error())
      throw redis_error("redis MULTI on " + processing_ + ": " + replies[i].text);
  expect(replies.back(), redis_reply::kind::array, "EXEC on " + processing_);
  for (const auto& result : replies.back().elements)
    if (result.is_error())
      throw redis_error("redis EXEC on " + processing_ + ": " + result.text);
}

long long redis_order_lists::backlog() {
  return expect(connection_.command({"LLEN", source_}), redis_reply::kind::integer,
                "LLEN " + source_)
    .integer;
}

} // namespace topup::queues
