#include "domain/log_repeats.hpp"

#include <cstdio>

namespace topup {

std::string log_repeats::verdict::suffix() const {
  if (repeated <= 1)
    return {};
  char text[96];
  std::snprintf(text, sizeof text, " … repeated %llu times in the last %.0f s",
                static_cast<unsigned long long>(repeated),
                static_cast<double>(over.count()) / 1000.0);
  return text;
}

log_repeats::verdict log_repeats::occurred(const std::string& key, mono_time now) {
  auto [it, first] = windows_.try_emplace(key, window{now, 0});
  if (first)
    return {true, 1, milliseconds{0}};
  auto& w = it->second;
  auto since = std::chrono::duration_cast<milliseconds>(now - w.written_at);
  if (since < interval_) {
    ++w.unwritten;
    return {};
  }
  verdict v{true, w.unwritten + 1, since};
  w = window{now, 0};
  return v;
}

} // namespace topup
