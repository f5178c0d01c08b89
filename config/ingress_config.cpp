#include "config/ingress_config.hpp"

#include "config/json_reader.hpp"
#include "domain/queue_ingress.hpp"

namespace topup {
namespace {

using json_config::json;
using json_config::object_reader;

int64_t bounded(object_reader& reader, const std::string& key, int64_t fallback, int64_t low,
                int64_t high) {
  return reader.integer_between(key, fallback, low, high);
}

std::string required_name(object_reader& reader, const std::string& key) {
  auto value = reader.required_string(key);
  if (value.empty())
    throw config_error(reader.path_of(key), "must not be empty");
  return value;
}

std::string non_empty(object_reader& reader, const std::string& key, std::string fallback) {
  auto value = reader.string(key, std::move(fallback));
  if (value.empty())
    throw config_error(reader.path_of(key), "must not be empty");
  return value;
}

/// A name with placeholders, checked, then expanded with `values` (name, value) pairs.
std::string name_template(object_reader& reader, const std::string& key, std::string fallback,
                          const std::vector<std::pair<std::string_view, std::string>>& values) {
  auto text = non_empty(reader, key, std::move(fallback));
  std::vector<std::string_view> names;
  for (const auto& [name, value] : values)
    names.push_back(name);
  if (auto problem = check_name_template(text, names))
    throw config_error(reader.path_of(key), *problem);
  return expand_name_template(text, [&](std::string_view name) {
    for (const auto& [known, value] : values)
      if (known == name)
        return value;
    return std::string{};
  });
}

/// A result key, channel or routing key: checked now, expanded per order.
std::string result_template(object_reader& reader, const std::string& key, std::string fallback,
                            bool may_be_empty) {
  auto text = reader.string(key, std::move(fallback));
  if (text.empty() && !may_be_empty)
    throw config_error(reader.path_of(key), "must not be empty");
  if (auto problem = check_name_template(text, result_placeholders))
    throw config_error(reader.path_of(key), *problem);
  return text;
}

uint16_t port_of(object_reader& reader, uint16_t fallback) {
  return static_cast<uint16_t>(bounded(reader, "port", fallback, 1, 65535));
}

backoff_config read_backoff(object_reader& parent) {
  backoff_config backoff;
  auto value = parent.find("backoff");
  if (!value)
    return backoff;
  object_reader reader{*value, parent.path_of("backoff")};
  backoff.initial_ms = bounded(reader, "initial_ms", backoff.initial_ms, 1, 600000);
  backoff.max_ms = bounded(reader, "max_ms", std::max(backoff.max_ms, backoff.initial_ms),
                           backoff.initial_ms, 3600000);
  reader.finish();
  return backoff;
}

void read_writer(object_reader& reader, result_writer_config& writer) {
  writer.resume_margin_ms =
    bounded(reader, "resume_margin_ms", writer.resume_margin_ms, 0, 24 * 3600 * 1000LL);
  writer.backoff = read_backoff(reader);
}

redis_results_config read_redis_results(const json& value, const std::string& path) {
  redis_results_config results;
  object_reader reader{value, path};
  results.hash_key = result_template(reader, "hash", "topup:result:{client_ref}", true);
  results.ttl_s = bounded(reader, "ttl_s", results.ttl_s, 0, 365 * 24 * 3600LL);
  results.channel = result_template(reader, "channel", "", true);
  read_writer(reader, results.writer);
  reader.finish();
  if (results.hash_key.empty() && results.channel.empty())
    throw config_error(path, "names neither a hash nor a channel: leave \"results\" out instead");
  return results;
}

redis_ingress_config read_redis(const json& value, const std::string& path,
                                const std::string& node_name) {
  redis_ingress_config redis;
  object_reader reader{value, path};
  redis.host = non_empty(reader, "host", redis.host);
  redis.port = port_of(reader, redis.port);
  redis.password = reader.string("password", "");
  redis.database = bounded(reader, "database", redis.database, 0, 1000000);
  redis.connect_timeout_ms =
    bounded(reader, "connect_timeout_ms", redis.connect_timeout_ms, 1, 600000);
  redis.list = required_name(reader, "list");
  std::vector<std::pair<std::string_view, std::string>> names{{"list", redis.list},
                                                               {"node", node_name}};
  redis.processing_list =
    name_template(reader, "processing_list", "{list}:processing:{node}", names);
  redis.dead_letter_list = name_template(reader, "dead_letter_list", "{list}:dead", names);
  if (redis.processing_list == redis.list || redis.dead_letter_list == redis.list
      || redis.processing_list == redis.dead_letter_list)
    throw config_error(path, "list, processing_list and dead_letter_list must be three "
                             "different keys");
  redis.batch = static_cast<size_t>(bounded(reader, "batch", static_cast<int64_t>(redis.batch),
                                            1, 10000));
  redis.block_ms = bounded(reader, "block_ms", redis.block_ms, 1, 60000);
  redis.intake_timeout_ms =
    bounded(reader, "intake_timeout_ms", redis.intake_timeout_ms, 100, 600000);
  redis.backoff = read_backoff(reader);
  if (auto results = reader.find("results"))
    redis.results = read_redis_results(*results, reader.path_of("results"));
  reader.finish();
  return redis;
}

rabbitmq_results_config read_rabbitmq_results(const json& value, const std::string& path) {
  rabbitmq_results_config results;
  object_reader reader{value, path};
  results.exchange = required_name(reader, "exchange");
  results.routing_key = result_template(reader, "routing_key", results.routing_key, false);
  results.queue = reader.string("queue", "");
  results.confirm_timeout_ms =
    bounded(reader, "confirm_timeout_ms", results.confirm_timeout_ms, 1, 600000);
  read_writer(reader, results.writer);
  reader.finish();
  return results;
}

rabbitmq_ingress_config read_rabbitmq(const json& value, const std::string& path) {
  rabbitmq_ingress_config rabbit;
  object_reader reader{value, path};
  rabbit.host = non_empty(reader, "host", rabbit.host);
  rabbit.port = port_of(reader, rabbit.port);
  rabbit.user = non_empty(reader, "user", rabbit.user);
  rabbit.password = reader.string("password", rabbit.password);
  rabbit.vhost = non_empty(reader, "vhost", rabbit.vhost);
  rabbit.connect_timeout_ms =
    bounded(reader, "connect_timeout_ms", rabbit.connect_timeout_ms, 1, 600000);
  rabbit.heartbeat_s = bounded(reader, "heartbeat_s", rabbit.heartbeat_s, 0, 3600);
  rabbit.queue = required_name(reader, "queue");
  std::vector<std::pair<std::string_view, std::string>> names{{"queue", rabbit.queue}};
  rabbit.dead_letter_exchange =
    name_template(reader, "dead_letter_exchange", "{queue}.dead", names);
  // An empty dead_letter_queue is allowed: the operator binds their own.
  if (reader.string("dead_letter_queue", "{queue}.dead").empty())
    rabbit.dead_letter_queue.clear();
  else
    rabbit.dead_letter_queue = name_template(reader, "dead_letter_queue", "{queue}.dead", names);
  if (rabbit.dead_letter_queue == rabbit.queue)
    throw config_error(reader.path_of("dead_letter_queue"), "must differ from queue");
  rabbit.prefetch = static_cast<size_t>(
    bounded(reader, "prefetch", static_cast<int64_t>(rabbit.prefetch), 1, 65535));
  rabbit.batch = static_cast<size_t>(bounded(
    reader, "batch", static_cast<int64_t>(std::min(rabbit.batch, rabbit.prefetch)), 1, 10000));
  if (rabbit.batch > rabbit.prefetch)
    throw config_error(reader.path_of("batch"),
                       "must not exceed prefetch (" + std::to_string(rabbit.prefetch)
                         + "): the broker sends no more unacknowledged messages than that");
  rabbit.block_ms = bounded(reader, "block_ms", rabbit.block_ms, 1, 60000);
  rabbit.intake_timeout_ms =
    bounded(reader, "intake_timeout_ms", rabbit.intake_timeout_ms, 100, 600000);
  rabbit.confirm_timeout_ms =
    bounded(reader, "confirm_timeout_ms", rabbit.confirm_timeout_ms, 1, 600000);
  rabbit.backoff = read_backoff(reader);
  if (auto results = reader.find("results")) {
    rabbit.results = read_rabbitmq_results(*results, reader.path_of("results"));
    if (rabbit.results->queue == rabbit.queue)
      throw config_error(reader.path_of("results") + "/queue", "must differ from queue");
  }
  reader.finish();
  return rabbit;
}

} // namespace

ingress_config read_ingress(const nlohmann::json& value, const std::string& path,
                            const std::string& node_name) {
  ingress_config ingress;
  object_reader reader{value, path};
  if (auto redis = reader.find("redis"))
    ingress.redis = read_redis(*redis, reader.path_of("redis"), node_name);
  if (auto rabbitmq = reader.find("rabbitmq"))
    ingress.rabbitmq = read_rabbitmq(*rabbitmq, reader.path_of("rabbitmq"));
  reader.finish();
  return ingress;
}

} // namespace topup
