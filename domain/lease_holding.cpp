#include "domain/lease_holding.hpp"

namespace topup {
namespace {

/// Renews each of `leases`; the lost ones are dropped and returned.
std::vector<lease> renew_each(std::map<std::string, confirmed_lease>& leases,
                              const lease_renewal& renew) {
  std::vector<lease> lost;
  for (auto it = leases.begin(); it != leases.end();) {
    if (auto confirmed = renew(it->second.granted)) {
      it->second.confirmed = *confirmed;
      ++it;
      continue;
    }
    lost.push_back(it->second.granted);
    it = leases.erase(it);
  }
  return lost;
}

} // namespace

std::vector<lease> lease_holding::held() const {
  std::vector<lease> leases;
  for (const auto& map : {&served_, &draining_})
    for (const auto& [provider, held] : *map)
      leases.push_back(held.granted);
  return leases;
}

void lease_holding::acquired(const lease& granted, mono_time asked_at) {
  served_[granted.provider] = {granted, asked_at};
}

std::vector<lease> lease_holding::renew(const lease_renewal& renew) {
  auto lost = renew_each(served_, renew);
  for (const auto& gone : renew_each(draining_, renew))
    drain_started_.erase(gone.provider);
  return lost;
}

std::optional<lease> lease_holding::start_draining(const std::string& provider, mono_time now,
                                                   bool router_serving) {
  auto it = served_.find(provider);
  if (it == served_.end())
    return std::nullopt;
  std::optional<lease> release_now;
  if (router_serving) {
    draining_.emplace(provider, it->second);
    drain_started_[provider] = now;
  } else {
    release_now = it->second.granted;
  }
  served_.erase(it);
  return release_now;
}

bool lease_holding::draining_under(const std::string& provider, int64_t epoch) const {
  auto it = draining_.find(provider);
  return it != draining_.end() && it->second.granted.epoch == epoch;
}

std::optional<lease> lease_holding::finish_draining(const std::string& provider) {
  auto it = draining_.find(provider);
  if (it == draining_.end())
    return std::nullopt;
  auto drained = it->second.granted;
  draining_.erase(it);
  drain_started_.erase(provider);
  return drained;
}

std::vector<std::string> lease_holding::draining() const {
  std::vector<std::string> providers;
  for (const auto& [provider, held] : draining_)
    providers.push_back(provider);
  return providers;
}

std::vector<std::string> lease_holding::overdue(mono_time now, milliseconds limit) const {
  std::vector<std::string> providers;
  for (const auto& [provider, since] : drain_started_)
    if (now - since >= limit)
      providers.push_back(provider);
  return providers;
}

void lease_holding::clear() {
  served_.clear();
  draining_.clear();
  drain_started_.clear();
}

} // namespace topup
