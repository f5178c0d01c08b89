#include "domain/reconciliation.hpp"

#include "domain/civil_time.hpp"
#include "domain/text.hpp"

#include <algorithm>

namespace topup {
namespace {

bool is_success(const statement_row* row) {
  return row->status == statement_status::success;
}

/// The first three and the last four characters: what a masked number still shows.
std::string visible_digits(std::string_view phone) {
  constexpr size_t first = 3, last = 4;
  auto length = text::characters(phone);
  if (length <= first + last)
    return std::string{phone};
  auto head = text::first_characters(phone, first);
  auto skipped = text::first_characters(phone, length - last);
  return std::string{head} + "/" + std::string{phone.substr(skipped.size())};
}

/// What the provider's rows for one request say, summed up.
struct rows_of_request {
  std::vector<const statement_row*> rows;  ///< in file order

  size_t successes() const {
    return static_cast<size_t>(std::count_if(rows.begin(), rows.end(), is_success));
  }

  const statement_row* first_success() const {
    auto found = std::find_if(rows.begin(), rows.end(), is_success);
    return found == rows.end() ? nullptr : *found;
  }

  /// The row whose amount and transaction speak for the request: its first success, else
  /// its first row.
  const statement_row* representative() const {
    if (auto success = first_success())
      return success;
    return rows.empty() ? nullptr : rows.front();
  }

  int64_t recharged_fen() const {
    int64_t fen = 0;
    for (const auto* row : rows)
      if (is_success(row))
        fen += row->amount_fen;
    return fen;
  }

  /// "absent", "failed", "success", "success x2".
  std::string status() const {
    if (rows.empty())
      return "absent";
    auto n = successes();
    if (n == 0)
      return "failed";
    return n == 1 ? std::string{"success"} : "success x" + std::to_string(n);
  }

  /// "p-cmcc-17, p-cmcc-18": the transactions of its success rows.
  std::string transactions() const {
    std::string text;
    for (const auto* row : rows)
      if (is_success(row))
        text += (text.empty() ? "" : ", ") + row->provider_txn;
    return text;
  }

  std::string lines() const {
    std::string text;
    for (const auto* row : rows)
      text += (text.empty() ? "" : ", ") + std::to_string(row->line);
    return text;
  }
};

/// A sentence on what each side says, for a human reading the report.
std::string detail_of(discrepancy_kind kind, const std::string& provider,
                      const engine_request* here, const rows_of_request& there) {
  auto lines = there.rows.empty() ? std::string{} : " (statement line " + there.lines() + ")";
  auto engine = [&] {
    if (!here)
      return std::string{"the engine has no attempt of it at "} + provider;
    std::string text = "here " + std::string{to_string(here->outcome)};
    if (!here->provider_txn.empty())
      text += " (txn " + here->provider_txn + ")";
    if (here->outcome == engine_outcome::failed && !here->last_outcome.empty())
      text += " (" + here->last_outcome + ")";
    return text + ", order " + std::string{to_string(here->status)};
  };
  switch (kind) {
    case discrepancy_kind::recharged_failed_here: {
      auto text = provider + " recharged it (txn " + there.transactions() + ")" + lines + "; "
                  + engine();
      if (here && here->status == order_status::succeeded)
        text += ": the order succeeded at another provider too, so it was recharged twice";
      else if (here && here->status == order_status::failed)
        text += ": refunded to the merchant although recharged";
      return text;
    }
    case discrepancy_kind::recharged_unknown_here:
      return provider + " recharged it (txn " + there.transactions() + ")" + lines + "; "
             + engine() + " although it was queried";
    case discrepancy_kind::unknown_here:
      return engine() + "; " + provider
             + (there.rows.empty() ? " has no row of it" : " lists it failed" + lines)
             + ": the order waits for a status query to settle it";
    case discrepancy_kind::succeeded_absent_there:
      return engine() + "; " + provider + " has no row of it";
    case discrepancy_kind::succeeded_failed_there:
      return engine() + "; " + provider + " lists it failed" + lines;
    case discrepancy_kind::amount_differs: {
      const auto* row = there.representative();
      return "here " + std::to_string(here ? here->amount_fen : 0) + " fen, at " + provider
             + " " + std::to_string(row ? row->amount_fen : 0) + " fen" + lines;
    }
    case discrepancy_kind::txn_differs:
      return "here txn " + (here ? here->provider_txn : std::string{}) + ", at " + provider
             + " txn " + there.transactions() + lines;
    case discrepancy_kind::recharged_twice_there:
      return provider + " recharged it " + std::to_string(there.successes()) + " times (txn "
             + there.transactions() + ")" + lines;
    case discrepancy_kind::order_id_differs: {
      std::string listed;
      for (const auto* row : there.rows)
        if (!here || row->order_id != here->order_id)
          listed = row->order_id;
      return "the request belongs to order " + (here ? here->order_id : std::string{})
             + " here, " + provider + " lists order " + listed + lines;
    }
    case discrepancy_kind::phone_differs: {
      const auto* row = there.representative();
      return "here " + mask_phone(here ? here->phone : std::string{}) + ", at " + provider + " "
             + mask_phone(row ? row->phone : std::string{}) + lines;
    }
    case discrepancy_kind::not_sent_here:
      return provider + " lists it " + there.status() + lines + "; the engine has order "
             + there.rows.front()->order_id + " but no attempt of it at " + provider
             + " dated near the period";
    case discrepancy_kind::unknown_order:
      return provider + " lists it " + there.status() + lines + "; the engine has no order "
             + there.rows.front()->order_id;
  }
  return {};
}

} // namespace

std::string_view to_string(engine_outcome outcome) {
  switch (outcome) {
    case engine_outcome::succeeded: return "succeeded";
    case engine_outcome::failed: return "failed";
    case engine_outcome::unknown: return "unknown";
    case engine_outcome::in_flight: return "in_flight";
  }
  return "invalid";
}

void engine_requests::add(const attempt_record& attempt) {
  ++attempts_;
  auto& request = by_request_[attempt.request_id];
  if (request.attempts++ == 0) {
    request.request_id = attempt.request_id;
    request.order_id = attempt.order_id;
    request.phone = attempt.phone;
    request.amount_fen = attempt.amount_fen;
    request.first_started_ms = attempt.started_at_ms;
  }
  request.first_started_ms = std::min(request.first_started_ms, attempt.started_at_ms);
  request.status = attempt.status;
  if (attempt.outcome == "succeed") {
    request.outcome = engine_outcome::succeeded;
    request.provider_txn = attempt.provider_txn;
  }
  if (attempt.attempt_no > request.latest_attempt_no) {
    request.latest_attempt_no = attempt.attempt_no;
    request.last_outcome = attempt.outcome;
  }
}

std::vector<engine_request> engine_requests::take() {
  std::vector<engine_request> requests;
  requests.reserve(by_request_.size());
  for (auto& [id, request] : by_request_) {
    if (request.outcome != engine_outcome::succeeded) {
      if (request.last_outcome.empty())
        request.outcome = engine_outcome::in_flight;
      else if (request.last_outcome == "lose_outcome")
        request.outcome = engine_outcome::unknown;
      else
        request.outcome = engine_outcome::failed;
    }
    requests.push_back(std::move(request));
  }
  by_request_.clear();
  return requests;
}

std::string_view to_string(discrepancy_kind kind) {
  switch (kind) {
    case discrepancy_kind::recharged_failed_here: return "recharged_failed_here";
    case discrepancy_kind::recharged_unknown_here: return "recharged_unknown_here";
    case discrepancy_kind::unknown_here: return "unknown_here";
    case discrepancy_kind::succeeded_absent_there: return "succeeded_absent_there";
    case discrepancy_kind::succeeded_failed_there: return "succeeded_failed_there";
    case discrepancy_kind::amount_differs: return "amount_differs";
    case discrepancy_kind::txn_differs: return "txn_differs";
    case discrepancy_kind::recharged_twice_there: return "recharged_twice_there";
    case discrepancy_kind::order_id_differs: return "order_id_differs";
    case discrepancy_kind::phone_differs: return "phone_differs";
    case discrepancy_kind::not_sent_here: return "not_sent_here";
    case discrepancy_kind::unknown_order: return "unknown_order";
  }
  return "invalid";
}

std::string_view meaning(discrepancy_kind kind) {
  switch (kind) {
    case discrepancy_kind::recharged_failed_here:
      return "the provider recharged it, the engine's attempt ended failed (money lost)";
    case discrepancy_kind::recharged_unknown_here:
      return "the provider recharged it, its outcome is still unknown here";
    case discrepancy_kind::unknown_here:
      return "its outcome is still unknown here; the provider did not recharge it";
    case discrepancy_kind::succeeded_absent_there:
      return "succeeded here, absent from the statement";
    case discrepancy_kind::succeeded_failed_there:
      return "succeeded here, failed on the statement";
    case discrepancy_kind::amount_differs: return "the amounts differ";
    case discrepancy_kind::txn_differs: return "the provider's transaction ids differ";
    case discrepancy_kind::recharged_twice_there:
      return "the statement recharges one request id more than once";
    case discrepancy_kind::order_id_differs:
      return "the statement puts the request id under another order";
    case discrepancy_kind::phone_differs: return "the statement names another number";
    case discrepancy_kind::not_sent_here:
      return "on the statement, but the engine never sent that order to this provider";
    case discrepancy_kind::unknown_order:
      return "on the statement, but the engine has no such order";
  }
  return "";
}

std::vector<discrepancy_kind> judge_request(const engine_view& here,
                                            const std::vector<const statement_row*>& there) {
  std::vector<discrepancy_kind> kinds;
  rows_of_request rows{there};
  auto successes = rows.successes();
  if (successes > 1)
    kinds.push_back(discrepancy_kind::recharged_twice_there);
  if (!here.outcome) {
    if (!there.empty())
      kinds.push_back(discrepancy_kind::unknown_order);
    return kinds;
  }
  switch (*here.outcome) {
    case engine_outcome::succeeded:
      if (successes == 0)
        kinds.push_back(there.empty() ? discrepancy_kind::succeeded_absent_there
                                      : discrepancy_kind::succeeded_failed_there);
      else if (successes == 1 && !here.provider_txn.empty()
               && rows.first_success()->provider_txn != here.provider_txn)
        kinds.push_back(discrepancy_kind::txn_differs);
      break;
    case engine_outcome::failed:
      if (successes > 0)
        kinds.push_back(discrepancy_kind::recharged_failed_here);
      break;
    case engine_outcome::unknown:
    case engine_outcome::in_flight:
      kinds.push_back(successes > 0 ? discrepancy_kind::recharged_unknown_here
                                    : discrepancy_kind::unknown_here);
      break;
  }
  if (there.empty())
    return kinds;
  const auto* row = rows.representative();
  if (here.amount_fen > 0 && row->amount_fen > 0 && row->amount_fen != here.amount_fen)
    kinds.push_back(discrepancy_kind::amount_differs);
  if (std::any_of(there.begin(), there.end(), [&](const statement_row* r) {
        return !r->order_id.empty() && !here.order_id.empty() && r->order_id != here.order_id;
      }))
    kinds.push_back(discrepancy_kind::order_id_differs);
  if (!here.phone.empty() && !row->phone.empty()
      && visible_digits(here.phone) != visible_digits(row->phone))
    kinds.push_back(discrepancy_kind::phone_differs);
  return kinds;
}

uint64_t reconciliation::count(discrepancy_kind kind) const {
  return static_cast<uint64_t>(
    std::count_if(discrepancies.begin(), discrepancies.end(),
                  [kind](const discrepancy& d) { return d.kind == kind; }));
}

std::vector<std::string> unmatched_order_ids(const std::vector<engine_request>& here,
                                             const std::vector<statement_row>& there) {
  std::set<std::string> known_requests;
  for (const auto& request : here)
    known_requests.insert(request.request_id);
  std::set<std::string> orders;
  for (const auto& row : there)
    if (!known_requests.count(row.request_id))
      orders.insert(row.order_id);
  return {orders.begin(), orders.end()};
}

reconciliation reconcile(const std::string& provider, const reconcile_period& period,
                         const std::vector<engine_request>& here,
                         const std::vector<statement_row>& there,
                         const std::set<std::string>& known_orders) {
  reconciliation result;
  result.provider = provider;
  result.period = period;
  std::map<std::string, const engine_request*> engine_side;
  for (const auto& request : here)
    engine_side.emplace(request.request_id, &request);
  std::map<std::string, rows_of_request> statement_side;
  for (const auto& row : there)
    statement_side[row.request_id].rows.push_back(&row);
  std::set<std::string> request_ids;
  for (const auto& [id, request] : engine_side)
    request_ids.insert(id);
  for (const auto& [id, rows] : statement_side)
    request_ids.insert(id);

  std::map<std::string, day_totals> days;
  static const rows_of_request no_rows;
  for (const auto& id : request_ids) {
    auto found = engine_side.find(id);
    const engine_request* engine = found == engine_side.end() ? nullptr : found->second;
    auto listed = statement_side.find(id);
    const auto& rows = listed == statement_side.end() ? no_rows : listed->second;
    int64_t dated = 0;
    if (engine) {
      dated = engine->first_started_ms;
    } else {
      dated = rows.rows.front()->at_ms;
      for (const auto* row : rows.rows)
        dated = std::min(dated, row->at_ms);
    }
    if (!period.contains(dated))
      continue;  // another period's: fetched to match across its boundary only

    engine_view view;
    if (engine) {
      view.outcome = engine->outcome;
      view.order_id = engine->order_id;
      view.amount_fen = engine->amount_fen;
      view.provider_txn = engine->provider_txn;
      view.phone = engine->phone;
    }
    auto kinds = judge_request(view, rows.rows);
    if (!engine && known_orders.count(rows.rows.front()->order_id))
      std::replace(kinds.begin(), kinds.end(), discrepancy_kind::unknown_order,
                   discrepancy_kind::not_sent_here);

    auto day = format_day(dated, period.utc_offset_minutes);
    auto& totals = days[day];
    totals.provider = provider;
    totals.day = day;
    ++totals.requests;
    ++result.requests;
    result.engine_requests += engine ? 1 : 0;
    result.statement_rows += rows.rows.size();
    bool succeeded_here = engine && engine->outcome == engine_outcome::succeeded;
    if (succeeded_here) {
      ++totals.succeeded_here;
      totals.succeeded_here_fen += engine->amount_fen;
    }
    totals.recharged_there += rows.successes();
    totals.recharged_there_fen += rows.recharged_fen();
    if (kinds.empty()) {
      ++totals.agreed;
      totals.agreed_fen += succeeded_here ? engine->amount_fen : 0;
      continue;
    }
    ++totals.disagreeing;
    auto charged = rows.recharged_fen();
    totals.disagreeing_fen +=
      charged > 0 ? charged : engine ? engine->amount_fen : rows.rows.front()->amount_fen;

    const auto* row = rows.representative();
    for (auto kind : kinds) {
      discrepancy d;
      d.kind = kind;
      d.day = day;
      d.request_id = id;
      d.order_id = engine ? engine->order_id : row->order_id;
      d.phone = mask_phone(engine ? engine->phone : row->phone);
      d.here = engine ? std::string{to_string(engine->outcome)} : "absent";
      d.there = rows.status();
      d.amount_here_fen = engine ? engine->amount_fen : 0;
      d.amount_there_fen = row ? row->amount_fen : 0;
      d.txn_here = engine ? engine->provider_txn : std::string{};
      d.txn_there = row && is_success(row) ? row->provider_txn : std::string{};
      d.detail = detail_of(kind, provider, engine, rows);
      result.discrepancies.push_back(std::move(d));
    }
  }
  for (auto& [day, totals] : days)
    result.days.push_back(std::move(totals));
  // request_ids is sorted and kinds come in enum order: sorting by day keeps the rest.
  std::stable_sort(result.discrepancies.begin(), result.discrepancies.end(),
                   [](const discrepancy& a, const discrepancy& b) { return a.day < b.day; });
  return result;
}

} // namespace topup
