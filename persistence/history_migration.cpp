#include "persistence/history_migration.hpp"

#include "domain/order_history.hpp"
#include "persistence/postgresql_batch.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace topup {
namespace {

std::string text_or_empty(const soci::row& row, std::size_t column) {
  return row.get_indicator(column) == soci::i_null ? std::string{} : row.get<std::string>(column);
}

/// Writes histories by order id: row by row on SQLite (cheap there), in statements of a few
/// thousand rows on PostgreSQL (one round trip per row would take minutes for a big store).
class history_writer {
public:
  explicit history_writer(soci::session& session)
    : session_(session), postgresql_(session.get_backend_name() == "postgresql") {}

  void write(std::string id, std::string history) {
    if (!postgresql_) {
      session_ << "UPDATE orders SET history = :history WHERE id = :id", soci::use(history),
        soci::use(id);
      return;
    }
    ids_.push_back(std::move(id));
    histories_.push_back(std::move(history));
    if (ids_.size() >= 5000)
      flush();
  }

  void flush() {
    if (ids_.empty())
      return;
    auto id_array = postgresql_text_array(ids_);
    auto history_array = postgresql_text_array(histories_);
    session_ << "UPDATE orders AS o SET history = v.history FROM unnest(CAST(:ids AS text[]),"
                " CAST(:histories AS text[])) AS v(id, history) WHERE o.id = v.id",
      soci::use(id_array), soci::use(history_array);
    ids_.clear();
    histories_.clear();
  }

private:
  soci::session& session_;
  bool postgresql_;
  std::vector<std::string> ids_;
  std::vector<std::string> histories_;
};

/// The entries of one attempt row: its dispatch, then its last outcome if it was recorded.
void add_attempt(const soci::row& row, std::vector<history_entry>& story) {
  history_entry dispatch;
  dispatch.event = std::string{to_string(order_event::dispatch)};
  dispatch.attempt_no = row.get<int>(1);
  dispatch.provider = row.get<std::string>(2);
  dispatch.request_id = row.get<std::string>(3);
  dispatch.at_ms = row.get<long long>(4);
  story.push_back(dispatch);
  if (row.get_indicator(5) == soci::i_null || row.get_indicator(6) == soci::i_null)
    return;
  history_entry outcome;
  outcome.at_ms = row.get<long long>(5);
  outcome.event = row.get<std::string>(6);
  outcome.provider = dispatch.provider;
  outcome.attempt_no = dispatch.attempt_no;
  outcome.provider_txn = text_or_empty(row, 7);
  outcome.detail = text_or_empty(row, 8);
  story.push_back(std::move(outcome));
}

std::string encode(std::vector<history_entry> story) {
  // Attempts come in their order, each dispatch before its outcome: a stable sort by time
  // keeps that order where the clock gave equal times.
  std::stable_sort(story.begin(), story.end(),
                   [](const history_entry& a, const history_entry& b) { return a.at_ms < b.at_ms; });
  std::string text;
  for (const auto& entry : story)
    text += encode_history_entry(entry);
  return text;
}

} // namespace

void rebuild_history_from_step_3_tables(soci::session& session) {
  // order_events held only expiries and cancels of orders never attempted: few rows.
  std::map<std::string, std::vector<history_entry>> events;
  {
    soci::rowset<soci::row> rows =
      (session.prepare << "SELECT order_id, at_ms, event, detail FROM order_events");
    for (const auto& row : rows) {
      history_entry entry;
      entry.at_ms = row.get<long long>(1);
      entry.event = row.get<std::string>(2);
      entry.detail = text_or_empty(row, 3);
      events[row.get<std::string>(0)].push_back(std::move(entry));
    }
  }
  history_writer writer{session};
  auto write = [&](const std::string& id, std::vector<history_entry> story) {
    if (auto more = events.find(id); more != events.end()) {
      story.insert(story.end(), more->second.begin(), more->second.end());
      events.erase(more);
    }
    writer.write(id, encode(std::move(story)));
  };
  // One order's attempts follow each other (ORDER BY order_id groups them, whatever the
  // collation), so each story is written as soon as the next order's rows begin.
  soci::rowset<soci::row> attempts =
    (session.prepare << "SELECT order_id, attempt_no, provider, request_id, started_at_ms,"
                        " finished_at_ms, outcome, provider_txn, error FROM attempts"
                        " ORDER BY order_id, attempt_no");
  std::string current;
  std::vector<history_entry> story;
  for (const auto& row : attempts) {
    auto id = row.get<std::string>(0);
    if (id != current && !story.empty())
      write(current, std::move(story));
    if (id != current)
      story.clear();
    current = std::move(id);
    add_attempt(row, story);
  }
  if (!story.empty())
    write(current, std::move(story));
  for (auto& [id, only_events] : events)
    writer.write(id, encode(std::move(only_events)));
  writer.flush();
}

} // namespace topup
