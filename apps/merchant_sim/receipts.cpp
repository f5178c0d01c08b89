#include "apps/merchant_sim/receipts.hpp"

#include <map>

namespace topup::merchant_sim {

std::string_view to_string(answer_mode mode) {
  switch (mode) {
    case answer_mode::ack: return "ack";
    case answer_mode::fail: return "fail";
    case answer_mode::hang: return "hang";
    case answer_mode::wrong: return "wrong";
  }
  return "ack";
}

std::optional<answer_mode> answer_mode_from(std::string_view name) {
  for (auto mode : {answer_mode::ack, answer_mode::fail, answer_mode::hang, answer_mode::wrong})
    if (to_string(mode) == name)
      return mode;
  return std::nullopt;
}

void answer_plan::set(answer_mode mode, int64_t now_ms, int64_t for_ms) {
  mode_ = mode;
  until_ms_ = for_ms > 0 ? now_ms + for_ms : 0;
}

answer_mode answer_plan::mode_at(int64_t now_ms) const {
  if (until_ms_ != 0 && now_ms >= until_ms_)
    return answer_mode::ack;
  return mode_;
}

ledger_report report_of(const std::vector<receipt>& receipts,
                        const std::set<std::string>& expected_orders) {
  ledger_report report;
  std::map<std::string, bool> acknowledged_by_delivery;
  std::set<std::string> orders, final_orders;
  for (const auto& r : receipts) {
    ++report.deliveries;
    if (!r.signature_ok)
      ++report.bad_signatures;
    auto& acked = acknowledged_by_delivery[r.delivery_id];
    acked = acked || r.answered == to_string(answer_mode::ack);
    orders.insert(r.order_id);
    if (r.status == "succeeded" || r.status == "failed")
      final_orders.insert(r.order_id);
  }
  report.distinct = acknowledged_by_delivery.size();
  report.duplicates = report.deliveries - report.distinct;
  for (const auto& [id, acked] : acknowledged_by_delivery)
    report.acknowledged += acked ? 1 : 0;
  report.orders = orders.size();
  report.final_orders = final_orders.size();
  for (const auto& id : expected_orders)
    if (final_orders.count(id) == 0)
      report.missing_orders.push_back(id);
  return report;
}

nlohmann::ordered_json to_json(const ledger_report& report) {
  return {{"deliveries", report.deliveries},         {"distinct", report.distinct},
          {"duplicates", report.duplicates},         {"bad_signatures", report.bad_signatures},
          {"acknowledged", report.acknowledged},     {"orders", report.orders},
          {"final_orders", report.final_orders},     {"missing_orders", report.missing_orders}};
}

receipt receipt_of_body(std::string_view body) {
  receipt r;
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_object())
    return r;
  auto text = [&](const char* key) {
    auto found = parsed.find(key);
    return found != parsed.end() && found->is_string() ? found->get<std::string>()
                                                       : std::string{};
  };
  r.delivery_id = text("delivery_id");
  r.order_id = text("order_id");
  r.status = text("status");
  return r;
}

} // namespace topup::merchant_sim
