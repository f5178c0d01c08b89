#pragma once

#include "config/ingress_config.hpp"
#include "queues/redis_client.hpp"
#include "queues/result_sink.hpp"

#include <memory>

namespace topup::queues {

/// The endpoint of a Redis ingress configuration.
redis_endpoint endpoint_of(const redis_ingress_config& cfg);

/// Writes each final order's result to the configured hash (HSET of result_fields, then
/// EXPIRE when ttl_s is set) and/or PUBLISHes result_json to the channel, in one pipeline per
/// batch. Connects on first use and again after a failure.
class redis_result_sink final : public result_sink {
public:
  redis_result_sink(redis_endpoint endpoint, redis_results_config results);

  std::vector<std::string> write(const std::vector<order>& finals) override;
  std::string describe() const override;

private:
  redis_endpoint endpoint_;
  redis_results_config results_;
  std::unique_ptr<redis_connection> connection_;
};

} // namespace topup::queues
