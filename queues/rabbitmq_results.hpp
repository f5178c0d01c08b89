#pragma once

#include "config/ingress_config.hpp"
#include "queues/amqp_client.hpp"
#include "queues/result_sink.hpp"

#include <memory>

namespace topup::queues {

/// The endpoint of a RabbitMQ ingress configuration.
amqp_endpoint endpoint_of(const rabbitmq_ingress_config& cfg);

/// The same for a connection that only publishes: without heartbeats, which rabbitmq-c only
/// sends while it is called, so that an idle publisher is not closed by the broker between
/// two results. A broker gone is noticed by the next publish (its confirms time out).
amqp_endpoint publisher_endpoint_of(const rabbitmq_ingress_config& cfg);

/// Publishes each final order's result_json to the configured exchange (declared durable,
/// type topic) with the routing key template expanded, persistent, and waits for the
/// broker's confirms. Connects on first use and again after a failure. A result published to
/// an exchange no queue is bound to is dropped by the broker: bind the queue the producers
/// read before results are published, or name it as the results' "queue".
class rabbitmq_result_sink final : public result_sink {
public:
  rabbitmq_result_sink(amqp_endpoint endpoint, rabbitmq_results_config results);

  std::vector<std::string> write(const std::vector<order>& finals) override;
  std::string describe() const override;

private:
  amqp_endpoint endpoint_;
  rabbitmq_results_config results_;
  std::unique_ptr<amqp_connection> connection_;
};

} // namespace topup::queues
