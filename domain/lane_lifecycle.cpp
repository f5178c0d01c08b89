#include "domain/lane_lifecycle.hpp"

namespace topup {

lane_lifecycle::lane_lifecycle(size_t providers)
  : providers_(providers) {}

lane_lifecycle::ownership_steps lane_lifecycle::hold(const std::vector<held_lease>& leases) {
  ownership_steps steps;
  for (auto& provider : providers_)
    provider.held_epoch = 0;
  for (const auto& lease : leases) {
    auto& provider = providers_.at(lease.provider);
    provider.held_epoch = lease.epoch;
    provider.valid_until = lease.valid_until;
    if (provider.running_epoch == lease.epoch)
      steps.renewed.push_back(lease);
  }
  for (size_t i = 0; i < providers_.size(); ++i) {
    auto& provider = providers_[i];
    if (provider.running_epoch != 0 && provider.running_epoch != provider.held_epoch) {
      steps.retired.push_back({i, provider.running_epoch});
      provider.running_epoch = 0;
      provider.draining = true;
    }
    if (provider.held_epoch == 0)
      steps.unheld.push_back(i);
  }
  steps.started = start_startable();
  return steps;
}

std::vector<size_t> lane_lifecycle::drained(size_t provider) {
  providers_.at(provider).draining = false;
  return start_startable();
}

std::vector<size_t> lane_lifecycle::start_startable() {
  std::vector<size_t> started;
  for (size_t i = 0; i < providers_.size(); ++i) {
    auto& provider = providers_[i];
    if (provider.running_epoch != 0 || provider.held_epoch == 0 || provider.draining)
      continue;
    provider.running_epoch = provider.held_epoch;
    started.push_back(i);
  }
  return started;
}

} // namespace topup
