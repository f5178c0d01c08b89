#include "actors/result_writer.hpp"

#include "actors/supervisor.hpp"
#include "domain/queue_ingress.hpp"
#include "messages/errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace topup {
namespace {

using std::chrono::milliseconds;

/// How long a request to the supervisor or the store may take.
constexpr auto store_timeout = std::chrono::seconds(30);
/// How often the resume point is recorded.
constexpr auto record_interval = std::chrono::seconds(1);
/// Results waiting for a sink that is down beyond which they are dropped and read from the
/// store again once it is back.
constexpr size_t max_waiting = 100000;
/// Final orders read from the store per page when catching up.
constexpr uint32_t catch_up_page = 500;

struct result_writer_state {
  static constexpr const char* name = "result_writer";

  std::unique_ptr<queues::result_sink> sink;
  std::string writer;   ///< the name of its resume point in the store
  std::string ingress;
  result_writer_config cfg;
  supervisor_actor supervisor;
  std::shared_ptr<const clock> time;
  retry_backoff backoff;

  /// The recorded resume point; -1 until read from the store.
  int64_t resume_at = -1;
  /// Catching up with the store: final orders after (after_ms, after_id), stamped no later
  /// than until_ms, are still to be written.
  struct {
    bool active = false;
    int64_t after_ms = 0;
    std::string after_id;
    int64_t until_ms = 0;
  } catch_up;
  std::vector<order> waiting;  ///< live results not written yet
  bool pump_scheduled = false;
  bool reading = false;        ///< a page of the store is on its way
  bool recording = false;      ///< a resume point is on its way to the store
  bool starting = false;       ///< the recorded resume point is being read
  bool sink_down = false;
  uint64_t written = 0;
};

using self_pointer = result_writer_actor::stateful_pointer<result_writer_state>;

void schedule_pump(self_pointer self, milliseconds delay = milliseconds{0}) {
  auto& st = self->state;
  if (st.pump_scheduled)
    return;
  st.pump_scheduled = true;
  if (delay.count() == 0)
    self->send(self, pump_atom::value);
  else
    self->delayed_send(self, delay, pump_atom::value);
}

/// The store, asked of the supervisor each time: it restarts.
template <class Then>
void with_store(self_pointer self, Then then, std::function<void(const caf::error&)> failed) {
  self->request(self->state.supervisor, store_timeout, caf::get_atom::value)
    .then(
      [=](node_handles& handles) {
        if (!handles.store) {
          failed(make_error(errc::unavailable, "the store is not running"));
          return;
        }
        then(handles.store);
      },
      [=](caf::error& error) { failed(error); });
}

/// Writes `finals`; false (and the backoff armed) when the sink is down.
bool write(self_pointer self, const std::vector<order>& finals) {
  auto& st = self->state;
  try {
    for (const auto& refusal : st.sink->write(finals))
      spdlog::error("result writer {}: {}", st.writer, refusal);
  } catch (const queues::sink_error& error) {
    auto wait = st.backoff.failed(st.time->now());
    if (!st.sink_down)
      spdlog::warn("result writer {} cannot write to {}: {}; trying again with backoff",
                   st.writer, st.sink->describe(), error.what());
    st.sink_down = true;
    schedule_pump(self, wait);
    return false;
  }
  if (st.sink_down)
    spdlog::info("result writer {} writes to {} again", st.writer, st.sink->describe());
  st.sink_down = false;
  st.backoff.succeeded();
  st.written += finals.size();
  return true;
}

/// Reads the next page of final orders to catch up with and writes it.
void catch_up(self_pointer self) {
  auto& st = self->state;
  st.reading = true;
  final_orders_page page{st.ingress, st.catch_up.after_ms, st.catch_up.after_id,
                         st.catch_up.until_ms, catch_up_page};
  auto failed = [=](const caf::error& error) {
    self->state.reading = false;
    spdlog::warn("result writer {} cannot read final orders: {}", self->state.writer,
                 describe(error));
    schedule_pump(self, self->state.backoff.failed(self->state.time->now()));
  };
  with_store(
    self,
    [=](store_actor store) {
      self->request(store, store_timeout, load_atom::value, page)
        .then(
          [=](std::vector<order>& finals) {
            auto& state = self->state;
            state.reading = false;
            if (finals.empty()) {
              state.catch_up.active = false;
              spdlog::info("result writer {} caught up ({} results written)", state.writer,
                           state.written);
              schedule_pump(self);
              return;
            }
            if (!write(self, finals))
              return;
            state.catch_up.after_ms = finals.back().updated_at_ms;
            state.catch_up.after_id = finals.back().id;
            schedule_pump(self);
          },
          failed);
    },
    failed);
}

void pump(self_pointer self) {
  auto& st = self->state;
  st.pump_scheduled = false;
  if (st.resume_at < 0 || st.reading)
    return;
  if (st.catch_up.active) {
    catch_up(self);
    return;
  }
  if (st.waiting.empty())
    return;
  auto finals = std::move(st.waiting);
  st.waiting.clear();
  if (!write(self, finals)) {
    // Kept, ahead of what arrived meanwhile.
    finals.insert(finals.end(), std::make_move_iterator(st.waiting.begin()),
                  std::make_move_iterator(st.waiting.end()));
    st.waiting = std::move(finals);
  }
}

/// Catches up from the recorded point to now: after a start, and after dropping results
/// that waited too long for the sink.
void start_catch_up(self_pointer self) {
  auto& st = self->state;
  auto now = st.time->wall_ms();
  if (!st.catch_up.active) {
    st.catch_up.active = true;
    // One millisecond before the point, so that the orders stamped at it are included.
    st.catch_up.after_ms = st.resume_at - 1;
    st.catch_up.after_id.clear();
  }
  // Orders stamped later reach the writer live: it listened before this moment.
  st.catch_up.until_ms = std::max(st.catch_up.until_ms, now);
}

void take_updates(self_pointer self, const std::vector<order_update>& updates) {
  auto& st = self->state;
  for (const auto& update : updates)
    if (wants_result(update.snapshot, st.ingress))
      st.waiting.push_back(update.snapshot);
  if (st.waiting.size() > max_waiting && st.resume_at >= 0) {
    spdlog::warn("result writer {}: {} results wait for {}; they will be read from the store "
                 "once it is back",
                 st.writer, st.waiting.size(), st.sink->describe());
    st.waiting.clear();
    st.waiting.shrink_to_fit();
    start_catch_up(self);
  }
  if (!st.waiting.empty() && !st.sink_down)
    schedule_pump(self);
}

/// Records how far the results are written, so that a restart catches up from there.
void record(self_pointer self) {
  auto& st = self->state;
  if (st.resume_at < 0 || st.recording)
    return;
  std::optional<int64_t> oldest;
  for (const auto& o : st.waiting)
    oldest = std::min(oldest.value_or(o.updated_at_ms), o.updated_at_ms);
  if (st.catch_up.active)
    oldest = std::min(oldest.value_or(st.catch_up.after_ms), st.catch_up.after_ms);
  auto point = result_resume_point(st.resume_at, st.time->wall_ms(), oldest,
                                   st.cfg.resume_margin_ms);
  if (point <= st.resume_at)
    return;
  st.recording = true;
  auto failed = [=](const caf::error& error) {
    self->state.recording = false;
    spdlog::debug("result writer {} could not record its resume point: {}", self->state.writer,
                  describe(error));
  };
  with_store(
    self,
    [=](store_actor store) {
      self->request(store, store_timeout, cursor_atom::value, self->state.writer, point)
        .then(
          [=](ack_atom) {
            self->state.recording = false;
            self->state.resume_at = std::max(self->state.resume_at, point);
          },
          failed);
    },
    failed);
}

/// Reads the recorded resume point (none yet: now minus the margin), then catches up. On
/// failure the next tick tries again.
void start(self_pointer self) {
  if (self->state.starting)
    return;
  self->state.starting = true;
  auto retry = [=](const caf::error& error) {
    self->state.starting = false;
    spdlog::warn("result writer {} cannot read its resume point: {}", self->state.writer,
                 describe(error));
  };
  with_store(
    self,
    [=](store_actor store) {
      self->request(store, store_timeout, cursor_atom::value, self->state.writer)
        .then(
          [=](int64_t recorded) {
            auto& st = self->state;
            st.starting = false;
            if (st.resume_at >= 0)
              return;
            st.resume_at = recorded >= 0
                             ? recorded
                             : st.time->wall_ms() - st.cfg.resume_margin_ms;
            spdlog::info("result writer {} writes to {}, catching up from {}", st.writer,
                         st.sink->describe(), st.resume_at);
            st.backoff.succeeded();
            start_catch_up(self);
            schedule_pump(self);
          },
          retry);
    },
    retry);
}

result_writer_actor::behavior_type result_writer(self_pointer self,
                                                 std::unique_ptr<queues::result_sink>& sink,
                                                 std::string writer, std::string ingress,
                                                 result_writer_config cfg, supervisor_actor supervisor,
                                                 std::shared_ptr<const clock> time) {
  auto& st = self->state;
  st.sink = std::move(sink);
  st.writer = std::move(writer);
  st.ingress = std::move(ingress);
  st.backoff = retry_backoff{cfg.backoff.policy()};
  st.cfg = std::move(cfg);
  st.supervisor = std::move(supervisor);
  st.time = std::move(time);
  start(self);
  self->delayed_send(self, record_interval, tick_atom::value);
  return {
    [=](notify_atom, const std::vector<order_update>& updates) { take_updates(self, updates); },
    [=](pump_atom) { pump(self); },
    [=](tick_atom) {
      if (self->state.resume_at < 0)
        start(self);
      else
        record(self);
      self->delayed_send(self, record_interval, tick_atom::value);
    },
  };
}

} // namespace

result_writer_actor spawn_result_writer(caf::actor_system& system,
                                        std::unique_ptr<queues::result_sink> sink,
                                        std::string writer, std::string ingress,
                                        result_writer_config cfg, supervisor_actor supervisor,
                                        std::shared_ptr<const clock> time) {
  // The sink travels in a shared pointer: spawn arguments are copied.
  auto shared_sink = std::make_shared<std::unique_ptr<queues::result_sink>>(std::move(sink));
  return system.spawn<caf::detached>(
    [=](self_pointer self) {
      return result_writer(self, *shared_sink, writer, ingress, cfg, supervisor, time);
    });
}

} // namespace topup
