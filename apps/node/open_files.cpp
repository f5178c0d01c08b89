#include "apps/node/open_files.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace topup {
namespace {

uint64_t kernel_nr_open() {
  std::ifstream in{"/proc/sys/fs/nr_open"};
  uint64_t value = 0;
  if (in >> value && value > 0)
    return value;
  return 1048576;
}

} // namespace

open_files_limit raise_open_files_limit() {
  open_files_limit result;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    result.failure = std::string{"getrlimit: "} + std::strerror(errno);
    return result;
  }
  result.before = result.soft = limit.rlim_cur;
  result.hard = limit.rlim_max;
  auto target = limit.rlim_max == RLIM_INFINITY ? kernel_nr_open() : limit.rlim_max;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur >= target)
    return result;
  if (limit.rlim_cur == RLIM_INFINITY)
    return result;
  rlimit raised{static_cast<rlim_t>(target), limit.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    result.failure = std::string{"setrlimit: "} + std::strerror(errno);
    return result;
  }
  result.soft = target;
  return result;
}

uint64_t reserved_descriptors(const config& cfg) {
  // CAF (scheduler and multiplexer pipes, the middleman's listener), logs, the listener's
  // own socket, headroom.
  uint64_t reserved = 96;
  if (cfg.store.backend == store_config::backend_kind::sqlite)
    reserved += 6;  // database, -wal and -shm of the writing session, and of one more
  else
    reserved += 2 + cfg.store.read_connections;  // writer, readers, cluster connection
  for (const auto& provider : cfg.providers) {
    if (auto http = std::get_if<http_adapter_config>(&provider.adapter))
      reserved += http->pool_size;
    else
      reserved += 3;  // the ledger file
  }
  if (cfg.cluster)
    reserved += 2 * 64;  // connections to and from other members
  return reserved;
}

} // namespace topup
