#include "domain/store_shards.hpp"

#include "domain/ownership.hpp"

#include <algorithm>

namespace topup {

size_t shard_of_key(const std::string& merchant, const std::string& client_ref, size_t shards) {
  if (shards <= 1)
    return 0;
  return static_cast<size_t>(stable_hash(merchant + "\n" + client_ref) % shards);
}

std::string id_with_shard(const std::string& id, size_t shard) {
  return id + "." + std::to_string(shard);
}

size_t shard_of_id(const std::string& id, size_t shards) {
  auto dot = id.rfind('.');
  if (dot == std::string::npos || dot + 1 == id.size() || id.size() - dot > 6)
    return 0;
  size_t shard = 0;
  for (auto c : id.substr(dot + 1)) {
    if (c < '0' || c > '9')
      return 0;
    shard = shard * 10 + static_cast<size_t>(c - '0');
  }
  return shard < shards ? shard : 0;
}

std::string shard_file(const std::string& path, size_t shard) {
  if (shard == 0)
    return path;
  auto mark = ".shard" + std::to_string(shard);
  auto slash = path.find_last_of('/');
  auto dot = path.rfind('.');
  bool has_extension = dot != std::string::npos && dot > 0
                       && (slash == std::string::npos || dot > slash + 1);
  if (!has_extension)
    return path + mark;
  return path.substr(0, dot) + mark + path.substr(dot);
}

size_t default_shard_count(unsigned hardware_threads) {
  return std::clamp<size_t>(hardware_threads / 4, 1, 4);
}

} // namespace topup
