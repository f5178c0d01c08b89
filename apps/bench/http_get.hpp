#pragma once

// The one HTTP read the bench makes of the simulators it starts: their GET /ledger and
// GET /report, on 127.0.0.1.

#include <cstdint>
#include <string>

namespace topup::bench {

/// GET `target` from an HTTP server on `host`:`port`; the body of a 200 answer, throws
/// otherwise.
std::string http_get(const std::string& host, uint16_t port, const std::string& target);

} // namespace topup::bench
