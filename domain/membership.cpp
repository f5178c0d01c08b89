#include "domain/membership.hpp"

#include <algorithm>

namespace topup {

bool is_live(const member_record& member, int64_t now_ms, int64_t down_after_ms) {
  // Written as "heartbeat after the cut-off" rather than "age below the limit" so that a
  // heartbeat slightly ahead of `now` (read from another statement) counts as live.
  return member.heartbeat_at_ms > now_ms - down_after_ms;
}

membership_view::membership_view(std::vector<member_record> rows, int64_t now_ms,
                                 int64_t down_after_ms) {
  std::sort(rows.begin(), rows.end(), [](const member_record& a, const member_record& b) {
    return a.node != b.node ? a.node < b.node : a.heartbeat_at_ms > b.heartbeat_at_ms;
  });
  for (auto& row : rows) {
    bool duplicate = !live_.empty() && live_.back().node == row.node;
    if (!duplicate && is_live(row, now_ms, down_after_ms))
      live_.push_back(std::move(row));
  }
}

std::vector<std::string> membership_view::nodes() const {
  std::vector<std::string> names;
  names.reserve(live_.size());
  for (const auto& member : live_)
    names.push_back(member.node);
  return names;
}

const member_record* membership_view::find(const std::string& node) const {
  auto it = std::lower_bound(live_.begin(), live_.end(), node,
                             [](const member_record& m, const std::string& name) {
                               return m.node < name;
                             });
  return it != live_.end() && it->node == node ? &*it : nullptr;
}

bool membership_view::contains(const std::string& node) const {
  return find(node) != nullptr;
}

membership_change compare(const membership_view& before, const membership_view& after) {
  membership_change change;
  for (const auto& member : after.members()) {
    auto old = before.find(member.node);
    if (!old)
      change.joined.push_back(member.node);
    else if (old->incarnation != member.incarnation)
      change.restarted.push_back(member.node);
  }
  for (const auto& member : before.members())
    if (!after.contains(member.node))
      change.left.push_back(member.node);
  return change;
}

std::string membership_change::describe() const {
  std::string text;
  auto add = [&](const char* verb, const std::vector<std::string>& nodes) {
    if (nodes.empty())
      return;
    text += text.empty() ? "" : "; ";
    text += verb;
    for (size_t i = 0; i < nodes.size(); ++i)
      text += (i == 0 ? " " : ", ") + nodes[i];
  };
  add("joined", joined);
  add("left", left);
  add("restarted", restarted);
  return text;
}

} // namespace topup
