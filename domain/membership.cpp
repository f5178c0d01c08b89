#include "domain/membership.hpp"

#include <algorithm>

namespace topup {

bool is_live(const member_record& member, int64_t now_ms, int64_t down_after_ms) {
  // Written as "heartbeat after the cut-off" rather than "age below the limit" so that a
  // heartbeat slightly ahead of `now` (read from another statement) counts as live.
  return member.heartbeat_at_ms > now_ms - down_after_ms;
}

membership_view::membership_view(std::vector<member_record> rows, int64_t now_ms,
                                 int64_t down_after_ms)
  : membership_view(std::move(rows), [&](const member_record& member) {
      return is_live(member, now_ms, down_after_ms);
    }) {}

membership_view::membership_view(std::vector<member_record> rows,
                                 const std::function<bool(const member_record&)>& live) {
  std::sort(rows.begin(), rows.end(), [](const member_record& a, const member_record& b) {
    return a.node != b.node ? a.node < b.node : a.heartbeat_at_ms > b.heartbeat_at_ms;
  });
  for (size_t i = 0; i < rows.size(); ++i) {
    bool duplicate = i > 0 && rows[i - 1].node == rows[i].node;
    if (!duplicate && live(rows[i]))
      live_.push_back(rows[i]);
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

bool serves_orphans(const membership_change& change, const std::set<std::string>& lease_holders,
                    const membership_view& live, const std::string& self) {
  if (live.empty() || live.members().front().node != self)
    return false;
  auto held_nothing = [&](const std::string& node) { return lease_holders.count(node) == 0; };
  return std::any_of(change.left.begin(), change.left.end(), held_nothing)
         || std::any_of(change.restarted.begin(), change.restarted.end(), held_nothing);
}

membership_watch::membership_watch(int64_t down_after_ms, int64_t max_gap_ms)
  : down_after_ms_(down_after_ms), max_gap_ms_(max_gap_ms) {}

void membership_watch::lost() {
  watch_started_ms_.reset();
  last_read_ms_.reset();
}

std::optional<int64_t> membership_watch::watching_since() const {
  return watch_started_ms_;
}

membership_view membership_watch::observe(std::vector<member_record> rows, int64_t now_ms) {
  if (!last_read_ms_ || now_ms - *last_read_ms_ > max_gap_ms_)
    watch_started_ms_ = now_ms;
  last_read_ms_ = now_ms;
  auto watch_start = *watch_started_ms_;
  auto judge = [&](const member_record& member) {
    if (is_live(member, now_ms, down_after_ms_))
      return true;
    // Silent for down_after_ms, but how much of that did this node see? A heartbeat from
    // before the watch counts as heard when the watch began, unless the member was judged
    // down with that very heartbeat already.
    auto judged = judged_down_.find(member.node);
    bool already_down = judged != judged_down_.end() && judged->second == member.heartbeat_at_ms;
    return !already_down && member.heartbeat_at_ms < watch_start
           && is_live(member_record{member.node, member.address, member.incarnation, watch_start},
                      now_ms, down_after_ms_);
  };
  membership_view view{rows, judge};
  std::map<std::string, int64_t> down;
  for (const auto& row : rows)
    if (!view.contains(row.node)) {
      auto& heartbeat = down[row.node];
      heartbeat = std::max(heartbeat, row.heartbeat_at_ms);
    }
  judged_down_ = std::move(down);
  return view;
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
