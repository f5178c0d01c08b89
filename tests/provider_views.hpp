#pragma once

// The WORKLOAD providers (bench/README.md) as routing and admission see them, for the
// pure-logic tests.

#include "domain/routing.hpp"

#include <string>
#include <vector>

namespace topup::testing {

/// In configuration order: p-cmcc, p-cucc, p-ctcc each serve one carrier at 300 calls/s;
/// p-agg serves all three at 200 calls/s. All take 64 concurrent calls and answer in about
/// 50 ms.
inline std::vector<provider_view> workload_providers() {
  auto make = [](std::string name, std::vector<std::string> carriers, size_t preference,
                 double rate) {
    provider_view v;
    v.name = std::move(name);
    v.carriers = std::move(carriers);
    v.preference = preference;
    v.rate = rate;
    v.concurrency = 64;
    v.latency_ms = 50;
    return v;
  };
  return {make("p-cmcc", {"cmcc"}, 0, 300), make("p-cucc", {"cucc"}, 1, 300),
          make("p-ctcc", {"ctcc"}, 2, 300), make("p-agg", {"cmcc", "cucc", "ctcc"}, 3, 200)};
}

} // namespace topup::testing
