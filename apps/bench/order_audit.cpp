#include "apps/bench/order_audit.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace topup::bench {
namespace {

/// What the ledgers hold for one order.
struct recharges_of_order {
  std::vector<const ledger_record*> rows;

  std::string where() const {
    std::string text;
    for (const auto* row : rows)
      text += (text.empty() ? "" : ", ") + row->provider;
    return text;
  }
};

void note(ledger_audit& audit, disagreement_kind kind, const std::string& id,
          std::string detail) {
  audit.disagreements.push_back({kind, id, std::move(detail)});
}

/// The store's succeeded order against its recharges (exactly one, checked by the caller).
void judge_success(ledger_audit& audit, const audited_order& order,
                   const ledger_record& recharge) {
  if (!order.provider.empty() && recharge.provider != order.provider) {
    note(audit, disagreement_kind::success_elsewhere, order.id,
         fmt::format("succeeded at {} per the store, recharged at {}", order.provider,
                     recharge.provider));
    return;
  }
  if (!order.provider_txn.empty() && recharge.provider_txn != order.provider_txn)
    note(audit, disagreement_kind::success_other_txn, order.id,
         fmt::format("the store names transaction {}, the ledger of {} {}", order.provider_txn,
                     recharge.provider, recharge.provider_txn));
}

} // namespace

std::string_view to_string(disagreement_kind kind) {
  switch (kind) {
    case disagreement_kind::duplicate: return "duplicate";
    case disagreement_kind::success_unrecharged: return "success_unrecharged";
    case disagreement_kind::success_elsewhere: return "success_elsewhere";
    case disagreement_kind::success_other_txn: return "success_other_txn";
    case disagreement_kind::failure_recharged: return "failure_recharged";
    case disagreement_kind::recharge_unstored: return "recharge_unstored";
    case disagreement_kind::stored_twice: return "stored_twice";
  }
  return "unknown";
}

uint64_t ledger_audit::count(disagreement_kind kind) const {
  return static_cast<uint64_t>(
    std::count_if(disagreements.begin(), disagreements.end(),
                  [kind](const disagreement& d) { return d.kind == kind; }));
}

ledger_audit audit_ledgers(const std::vector<audited_order>& orders,
                           const std::vector<ledger_record>& recharges) {
  ledger_audit audit;
  std::map<std::string, recharges_of_order> by_order;
  for (const auto& row : recharges)
    by_order[row.order_id].rows.push_back(&row);
  audit.recharges = recharges.size();

  std::map<std::string, const audited_order*> stored;
  std::map<std::string, uint64_t> listed;
  for (const auto& order : orders)
    if (++listed[order.id] == 1)
      stored.emplace(order.id, &order);
  for (const auto& [id, times] : listed)
    if (times > 1)
      note(audit, disagreement_kind::stored_twice, id,
           fmt::format("the store lists it {} times (several succeeded attempts)", times));
  audit.orders = stored.size();

  for (const auto& [id, order] : stored) {
    auto found = by_order.find(id);
    auto recharged = found == by_order.end() ? 0 : found->second.rows.size();
    if (recharged > 1) {
      ++audit.duplicates;
      note(audit, disagreement_kind::duplicate, id,
           fmt::format("{}, recharged {} times ({})", order->status, recharged,
                       found->second.where()));
    }
    if (order->status == "succeeded") {
      ++audit.succeeded;
      if (recharged == 0)
        note(audit, disagreement_kind::success_unrecharged, id,
             fmt::format("succeeded at {} per the store, recharged nowhere", order->provider));
      else if (recharged == 1)
        judge_success(audit, *order, *found->second.rows.front());
    } else if (order->status == "failed") {
      ++audit.failed;
      if (recharged > 0)
        note(audit, disagreement_kind::failure_recharged, id,
             fmt::format("failed (refunded) per the store, recharged at {}",
                         found->second.where()));
    } else if (order->status == "unknown") {
      ++audit.unknown;
      audit.unknown_recharged += recharged == 1 ? 1 : 0;
    } else {
      ++audit.open;
    }
  }
  for (const auto& [id, of_order] : by_order)
    if (!stored.count(id))
      note(audit, disagreement_kind::recharge_unstored, id,
           fmt::format("recharged at {}, but the store has no such order", of_order.where()));
  std::stable_sort(audit.disagreements.begin(), audit.disagreements.end(),
                   [](const disagreement& a, const disagreement& b) {
                     return a.order_id < b.order_id;
                   });
  return audit;
}

nlohmann::json to_json(const ledger_audit& audit, size_t examples) {
  nlohmann::json by_kind = nlohmann::json::object();
  for (auto kind : all_disagreement_kinds)
    if (auto n = audit.count(kind))
      by_kind[std::string{to_string(kind)}] = n;
  nlohmann::json shown = nlohmann::json::array();
  for (size_t i = 0; i < audit.disagreements.size() && i < examples; ++i) {
    const auto& d = audit.disagreements[i];
    shown.push_back(fmt::format("{} {}: {}", to_string(d.kind), d.order_id, d.detail));
  }
  return {{"orders", audit.orders},
          {"succeeded", audit.succeeded},
          {"failed", audit.failed},
          {"unknown", audit.unknown},
          {"unknown_recharged", audit.unknown_recharged},
          {"open", audit.open},
          {"recharges", audit.recharges},
          {"duplicates", audit.duplicates},
          {"disagreements", audit.disagreements.size()},
          {"disagreements_by_kind", by_kind},
          {"examples", shown}};
}

std::string describe(const ledger_audit& audit, size_t examples) {
  if (audit.agrees())
    return fmt::format("store and ledgers agree on {} orders ({} succeeded, {} failed, "
                       "{} recharges)",
                       audit.orders, audit.succeeded, audit.failed, audit.recharges);
  std::string kinds;
  for (auto kind : all_disagreement_kinds)
    if (auto n = audit.count(kind))
      kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", n, to_string(kind));
  auto text = fmt::format("{} disagreements between store and ledgers ({})",
                          audit.disagreements.size(), kinds);
  for (size_t i = 0; i < audit.disagreements.size() && i < examples; ++i)
    text += fmt::format("; {}: {}", audit.disagreements[i].order_id,
                        audit.disagreements[i].detail);
  return text;
}

timeliness check_timeliness(const std::vector<timed_order>& orders, int64_t limit_ms,
                            int64_t grace_ms) {
  timeliness result;
  for (const auto& order : orders) {
    ++result.checked;
    if (!order.final_at_ms) {
      result.not_final.push_back(order.id);
      continue;
    }
    auto spare = order.acked_at_ms + limit_ms + grace_ms - *order.final_at_ms;
    result.least_spare_ms = std::min(result.least_spare_ms.value_or(spare), spare);
    if (spare < 0)
      result.late.push_back(fmt::format("{} final {} ms after ack + {} + {} ms", order.id,
                                        -spare, limit_ms, grace_ms));
  }
  return result;
}

std::string describe(const timeliness& result, size_t examples) {
  auto spare = result.least_spare_ms ? fmt::format(" (least spare {} ms)", *result.least_spare_ms)
                                     : std::string{};
  if (result.on_time())
    return fmt::format("{} orders checked, all final by ack + limit + grace{}", result.checked,
                       spare);
  auto text = fmt::format("{} of {} orders late, {} never final{}", result.late.size(),
                          result.checked, result.not_final.size(), spare);
  for (size_t i = 0; i < result.late.size() && i < examples; ++i)
    text += "; " + result.late[i];
  for (size_t i = 0; i < result.not_final.size() && i < examples; ++i)
    text += "; " + result.not_final[i] + " not final";
  return text;
}

} // namespace topup::bench
