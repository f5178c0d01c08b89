#pragma once

#include "domain/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace topup {

/// A provider lease this node holds, as the cluster actor last told: the provider by its
/// index in the configuration.
struct held_lease {
  size_t provider = 0;
  int64_t epoch = 0;
  mono_time valid_until{};
};

/// Cluster mode: which providers have a lane on this node, under which lease epoch, without
/// any I/O. A lane runs only under the epoch of a lease held; a lane whose lease is lost or
/// replaced drains (finishes its calls) before its lease is released, and a provider whose
/// lease comes back meanwhile gets its new lane only once the old one drained: two lanes of
/// one provider would double its call rate. The router carries out what this decides.
class lane_lifecycle {
public:
  explicit lane_lifecycle(size_t providers);

  /// A lane given up: drain it, then release its lease under `epoch`.
  struct retired_lane {
    size_t provider = 0;
    int64_t epoch = 0;
  };

  /// What to do after the cluster actor told which leases this node holds now.
  struct ownership_steps {
    /// Lanes running under a lease renewed: tell them its new validity.
    std::vector<held_lease> renewed;
    /// Lanes whose lease is lost or held under another epoch now: drain them. They run no
    /// more from now on.
    std::vector<retired_lane> retired;
    /// Providers not held (any more): orders waiting here for their lane go to their owner.
    std::vector<size_t> unheld;
    /// Lanes to start now, under epoch_of(provider) and valid_until(provider); they count as
    /// running from now on. Their orders are to be taken over from the store.
    std::vector<size_t> started;
  };

  /// The leases held now, all of them (a provider left out is not held).
  ownership_steps hold(const std::vector<held_lease>& leases);

  /// The drained lane of `provider` is gone: the lanes that can start now (see
  /// ownership_steps::started).
  std::vector<size_t> drained(size_t provider);

  /// Whether a lane of the provider runs here.
  bool running(size_t provider) const { return providers_.at(provider).running_epoch != 0; }
  /// The epoch the provider's lane runs under; 0: none runs.
  int64_t epoch_of(size_t provider) const { return providers_.at(provider).running_epoch; }
  /// Whether this node holds the provider's lease (its lane may still wait for a drain).
  bool held(size_t provider) const { return providers_.at(provider).held_epoch != 0; }
  /// The validity of the provider's lease, as last told.
  mono_time valid_until(size_t provider) const { return providers_.at(provider).valid_until; }
  bool draining(size_t provider) const { return providers_.at(provider).draining; }

private:
  struct provider_state {
    int64_t held_epoch = 0;     ///< 0: the lease is not held
    int64_t running_epoch = 0;  ///< 0: no lane runs
    mono_time valid_until{};
    bool draining = false;  ///< a lane given up is still finishing its calls
  };

  std::vector<size_t> start_startable();

  std::vector<provider_state> providers_;
};

} // namespace topup
