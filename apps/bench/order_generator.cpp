#include "apps/bench/order_generator.hpp"

#include <charconv>

namespace topup::bench {

namespace {

/// splitmix64: a well-mixed 64-bit value for each input, without state.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

} // namespace

order_generator::order_generator(std::string ref_prefix, uint64_t seed)
  : ref_prefix_(std::move(ref_prefix)), seed_(seed) {}

order_request order_generator::nth(uint64_t n) const {
  auto bits = mix(seed_ ^ mix(n));
  const auto& prefix = workload_prefixes[bits % workload_prefixes.size()];
  bits /= workload_prefixes.size();
  auto amount = workload_amounts_fen[bits % workload_amounts_fen.size()];
  bits /= workload_amounts_fen.size();
  std::string phone = prefix.prefix;
  auto subscriber = std::to_string(bits % 100000000);
  phone.append(8 - subscriber.size(), '0');
  phone += subscriber;
  return {ref_prefix_ + std::to_string(n), std::move(phone), amount};
}

std::optional<uint64_t> order_generator::number_of(std::string_view client_ref) const {
  if (client_ref.size() <= ref_prefix_.size()
      || client_ref.substr(0, ref_prefix_.size()) != ref_prefix_)
    return std::nullopt;
  auto digits = client_ref.substr(ref_prefix_.size());
  uint64_t n = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (error != std::errc{} || end != digits.data() + digits.size())
    return std::nullopt;
  return n;
}

std::string run_ref_prefix(const std::string& workload_name, uint64_t unique) {
  std::string stamp;
  do {
    stamp.insert(stamp.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[unique % 36]);
    unique /= 36;
  } while (unique > 0);
  return workload_name + "-" + stamp + "-";
}

} // namespace topup::bench
