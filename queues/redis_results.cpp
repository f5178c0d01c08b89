#include "queues/redis_results.hpp"

#include "domain/queue_ingress.hpp"

namespace topup::queues {

redis_endpoint endpoint_of(const redis_ingress_config& cfg) {
  redis_endpoint endpoint;
  endpoint.host = cfg.host;
  endpoint.port = cfg.port;
  endpoint.password = cfg.password;
  endpoint.database = cfg.database;
  endpoint.connect_timeout = std::chrono::milliseconds{cfg.connect_timeout_ms};
  return endpoint;
}

redis_result_sink::redis_result_sink(redis_endpoint endpoint, redis_results_config results)
  : endpoint_(std::move(endpoint)), results_(std::move(results)) {}

std::vector<std::string> redis_result_sink::write(const std::vector<order>& finals) {
  std::vector<std::string> refused;
  if (finals.empty())
    return refused;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(finals.size() * 3);
  std::vector<const order*> owners;  ///< the order of each command
  for (const auto& o : finals) {
    if (!results_.hash_key.empty()) {
      auto key = expand_result_template(results_.hash_key, o);
      std::vector<std::string> hset{"HSET", key};
      for (auto& [field, value] : result_fields(o)) {
        hset.push_back(std::move(field));
        hset.push_back(std::move(value));
      }
      commands.push_back(std::move(hset));
      owners.push_back(&o);
      if (results_.ttl_s > 0) {
        commands.push_back({"EXPIRE", key, std::to_string(results_.ttl_s)});
        owners.push_back(&o);
      }
    }
    if (!results_.channel.empty()) {
      commands.push_back(
        {"PUBLISH", expand_result_template(results_.channel, o), result_json(o)});
      owners.push_back(&o);
    }
  }
  try {
    if (!connection_)
      connection_ = std::make_unique<redis_connection>(endpoint_);
    auto replies = connection_->pipeline(commands);
    for (size_t i = 0; i < replies.size(); ++i)
      if (replies[i].is_error())
        refused.push_back("redis refused " + commands[i][0] + " " + commands[i][1] + " for order "
                          + owners[i]->id + ": " + replies[i].text);
  } catch (const redis_error& error) {
    connection_.reset();
    throw sink_error(error.what());
  }
  return refused;
}

std::string redis_result_sink::describe() const {
  std::string text = "redis " + endpoint_.host + ":" + std::to_string(endpoint_.port);
  if (!results_.hash_key.empty())
    text += " hash " + results_.hash_key;
  if (!results_.channel.empty())
    text += " channel " + results_.channel;
  return text;
}

} // namespace topup::queues
