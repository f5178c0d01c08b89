#include "queues/rabbitmq_results.hpp"

#include "domain/queue_ingress.hpp"

namespace topup::queues {

amqp_endpoint endpoint_of(const rabbitmq_ingress_config& cfg) {
  amqp_endpoint endpoint;
  endpoint.host = cfg.host;
  endpoint.port = cfg.port;
  endpoint.user = cfg.user;
  endpoint.password = cfg.password;
  endpoint.vhost = cfg.vhost;
  endpoint.connect_timeout = std::chrono::milliseconds{cfg.connect_timeout_ms};
  endpoint.heartbeat_s = static_cast<int>(cfg.heartbeat_s);
  return endpoint;
}

amqp_endpoint publisher_endpoint_of(const rabbitmq_ingress_config& cfg) {
  auto endpoint = endpoint_of(cfg);
  endpoint.heartbeat_s = 0;
  return endpoint;
}

rabbitmq_result_sink::rabbitmq_result_sink(amqp_endpoint endpoint,
                                           rabbitmq_results_config results)
  : endpoint_(std::move(endpoint)), results_(std::move(results)) {}

std::vector<std::string> rabbitmq_result_sink::write(const std::vector<order>& finals) {
  if (finals.empty())
    return {};
  std::vector<amqp_outgoing> messages;
  messages.reserve(finals.size());
  for (const auto& o : finals)
    messages.push_back({results_.exchange, expand_result_template(results_.routing_key, o),
                        result_json(o), {}, "application/json"});
  try {
    if (!connection_) {
      auto connection = std::make_unique<amqp_connection>(endpoint_);
      connection->declare_exchange(results_.exchange, "topic");
      if (!results_.queue.empty()) {
        connection->declare_queue(results_.queue);
        connection->bind_queue(results_.queue, results_.exchange, "#");
      }
      connection->enable_confirms();
      connection_ = std::move(connection);
    }
    connection_->publish_confirmed(messages,
                                   std::chrono::milliseconds{results_.confirm_timeout_ms});
  } catch (const amqp_error& error) {
    connection_.reset();
    throw sink_error(error.what());
  }
  return {};
}

std::string rabbitmq_result_sink::describe() const {
  return "rabbitmq " + endpoint_.host + ":" + std::to_string(endpoint_.port) + " exchange "
         + results_.exchange;
}

} // namespace topup::queues
