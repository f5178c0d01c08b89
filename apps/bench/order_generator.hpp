#pragma once

// The orders of a run: WORKLOAD's phone prefixes and amounts, and a client reference
// unique to the run and the order. Order n's content is a function of (seed, n), so a retry
// rebuilds exactly what was first sent and the node sees a resubmission, not a conflict.

#include "domain/order.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace topup::bench {

/// WORKLOAD (bench/README.md): carrier by three-digit prefix.
struct prefix_carrier {
  const char* prefix;
  const char* carrier;
};
inline constexpr std::array<prefix_carrier, 9> workload_prefixes{{{"138", "cmcc"},
                                                                  {"139", "cmcc"},
                                                                  {"150", "cmcc"},
                                                                  {"130", "cucc"},
                                                                  {"131", "cucc"},
                                                                  {"186", "cucc"},
                                                                  {"133", "ctcc"},
                                                                  {"153", "ctcc"},
                                                                  {"189", "ctcc"}}};
inline constexpr std::array<int64_t, 6> workload_amounts_fen{1000, 2000, 3000, 5000, 10000, 20000};

class order_generator {
public:
  /// `ref_prefix` starts every client reference of the run ("w2-k3j9x-"); `seed` picks the
  /// phones and amounts.
  order_generator(std::string ref_prefix, uint64_t seed);

  order_request nth(uint64_t n) const;

  /// The order number of a client reference of this run, or nothing for another one.
  std::optional<uint64_t> number_of(std::string_view client_ref) const;

  const std::string& ref_prefix() const { return ref_prefix_; }

private:
  std::string ref_prefix_;
  uint64_t seed_;
};

/// A run's reference prefix: the workload name and a base-36 stamp of `unique` (the start
/// time), so references of earlier runs against the same store never collide.
std::string run_ref_prefix(const std::string& workload_name, uint64_t unique);

} // namespace topup::bench
