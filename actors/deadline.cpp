#include "actors/deadline.hpp"

namespace topup {
namespace {

using self_pointer = deadline_actor::stateful_pointer<deadline_state>;

void arm(self_pointer self) {
  auto& st = self->state;
  auto next = st.schedule->next_due_ms();
  if (!next || (st.timer_due_ms && *st.timer_due_ms <= *next))
    return;
  st.timer_due_ms = *next;
  auto delay = std::max<int64_t>(0, *next - steady_ms(st.time->now()));
  self->delayed_send(self, milliseconds{delay}, tick_atom::value, ++st.timer_generation);
}

std::vector<int64_t> resend_before_deadline(const deadline_config& cfg) {
  std::vector<int64_t> offsets;
  for (auto point : cfg.resend_at_ms)
    offsets.push_back(cfg.limit_ms - point);
  return offsets;
}

} // namespace

deadline_actor::behavior_type deadline(self_pointer self, deadline_config cfg,
                                       std::shared_ptr<const clock> time, router_actor router) {
  auto& st = self->state;
  st.schedule = std::make_unique<deadline_schedule>(resend_before_deadline(cfg));
  st.time = std::move(time);
  st.router = std::move(router);
  return {
    [=](track_atom, std::vector<deadline_entry>& entries) {
      auto& state = self->state;
      auto now = steady_ms(state.time->now());
      for (auto& entry : entries)
        state.schedule->track(std::move(entry.order_id), entry.steady_deadline_ms, now);
      arm(self);
    },
    [=](tick_atom, uint64_t generation) {
      auto& state = self->state;
      if (generation != state.timer_generation)
        return;
      state.timer_due_ms.reset();
      auto due = state.schedule->take_due(steady_ms(state.time->now()));
      if (!due.resend.empty())
        self->send(state.router, resend_atom::value, std::move(due.resend));
      if (!due.expire.empty())
        self->send(state.router, expire_atom::value, std::move(due.expire));
      arm(self);
    },
  };
}

} // namespace topup
