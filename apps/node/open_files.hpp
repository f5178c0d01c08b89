#pragma once

// The node's open-files limit. Every connection to the node costs three descriptors (the
// peer's socket and the relay to the middleman at both ends); Linux starts processes with a
// soft limit of 1,024 although the hard limit is usually far higher.

#include "config/config.hpp"

#include <cstdint>
#include <string>

namespace topup {

struct open_files_limit {
  uint64_t before = 0;  ///< the soft limit the process started with
  uint64_t soft = 0;    ///< the soft limit now
  uint64_t hard = 0;
  std::string failure;  ///< why raising failed; empty when it worked or was not needed
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (or to the kernel's fs.nr_open when the
/// hard limit is unlimited).
open_files_limit raise_open_files_limit();

/// Descriptors the node keeps for everything but client connections: its store and
/// provider ledgers (SQLite files with their WAL and shared-memory files, or PostgreSQL
/// connections), HTTP providers' connection pools, CAF's threads and pipes, cluster peers.
uint64_t reserved_descriptors(const config& cfg);

/// Descriptors one client connection costs: the peer's socket, and the relay's connection
/// to the middleman, which the middleman accepts as a socket of its own.
constexpr uint64_t descriptors_per_connection = 3;

} // namespace topup
