#include "domain/admission.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace topup {

int64_t latest_first_start_ms(int64_t deadline_limit_ms, std::optional<int64_t> first_resend_ms,
                              int64_t call_timeout_ms, std::optional<int64_t> margin_ms) {
  auto latest = deadline_limit_ms - call_timeout_ms;
  if (first_resend_ms)
    latest = std::min(latest, *first_resend_ms);
  return std::max<int64_t>(latest - margin_ms.value_or(latest / 10), 0);
}

double store_refusal_share(double lag_ms, double limit_ms) {
  if (limit_ms <= 0 || lag_ms <= limit_ms / 2)
    return 0;
  return std::min(1.0, (lag_ms - limit_ms / 2) / (limit_ms / 2));
}

namespace {

std::string whole_seconds(double ms) {
  return std::to_string(std::llround(ms / 1000.0)) + " s";
}

admission_control::verdict refused(std::string reason, double excess_ms) {
  admission_control::verdict answer;
  auto retry_after_s = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(excess_ms / 1000.0)));
  answer.admitted = false;
  answer.refusal.code = errc::overloaded;
  answer.refusal.retry_after_s = retry_after_s;
  answer.refusal.reason = std::move(reason) + "; retry in " + std::to_string(retry_after_s) + " s";
  return answer;
}

/// The largest store lag among the providers whose load this node knows.
double store_lag_ms(const std::vector<provider_view>& views) {
  double lag = 0;
  for (const auto& view : views)
    if (view.load_known)
      lag = std::max(lag, view.store_lag_ms);
  return lag;
}

} // namespace

admission_control::verdict admission_control::admit(const std::string& carrier) {
  const auto& views = snapshot_.providers;
  if (views.empty() || snapshot_.latest_start_ms.size() != views.size())
    return {};  // no snapshot yet: nothing is known to refuse on
  auto lag = store_lag_ms(views);
  if (auto share = store_refusal_share(lag, snapshot_.store_lag_limit_ms); share > 0) {
    // A share of the orders, spread evenly: clients that back off when refused slow down
    // by that share, and the store keeps working through what it has.
    store_refusals_ += share;
    if (store_refusals_ >= 1) {
      store_refusals_ -= 1;
      return refused("the store is " + std::to_string(std::llround(lag))
                       + " ms behind with the state changes of accepted orders (the limit is "
                       + std::to_string(std::llround(snapshot_.store_lag_limit_ms)) + " ms)",
                     std::max(0.0, lag - snapshot_.store_lag_limit_ms / 2));
    }
  }
  auto choice = choose_provider(views, carrier, routing_goal::preferred,
                                snapshot_.routing_budget_ms);
  if (!choice)
    return {};  // nobody serves the carrier: routing reports it, admission has no say
  // As routing does: providers with an open breaker count only when every one has it open.
  bool any_accepting = false;
  for (const auto& view : views)
    any_accepting |= view.accepting && view.serves(carrier);
  bool can_start = false;
  std::optional<size_t> earliest;  // the provider closest to its latest start
  double least_excess = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < views.size() && !can_start; ++i) {
    const auto& view = views[i];
    if (!view.serves(carrier) || (any_accepting && !view.accepting))
      continue;
    if (!view.load_known) {
      can_start = true;  // held by another node: its load is not known here, never refuse
      break;
    }
    auto excess = predicted_start_ms(view) - snapshot_.latest_start_ms[i];
    if (excess <= 0)
      can_start = true;
    else if (excess < least_excess) {
      least_excess = excess;
      earliest = i;
    }
  }
  verdict answer;
  if (can_start || !earliest) {
    if (views[*choice].load_known) {
      answer.charged = static_cast<uint16_t>(*choice);
      add_charge(*choice, 1);
    }
    return answer;
  }
  const auto& late = views[*earliest];
  return refused("the providers serving " + carrier + " cannot start a new order within "
                   + whole_seconds(snapshot_.latest_start_ms[*earliest])
                   + " of its acceptance (" + late.name + ", the earliest, would in "
                   + whole_seconds(predicted_start_ms(late)) + ")",
                 least_excess);
}

void admission_control::add_charge(uint16_t provider, int64_t delta) {
  if (provider >= charged_.size())
    return;
  auto& count = charged_[provider];
  auto& queued = snapshot_.providers[provider].queued;
  if (delta < 0) {
    auto down = std::min<uint64_t>(count, static_cast<uint64_t>(-delta));
    count -= down;
    queued -= std::min<size_t>(queued, down);
  } else {
    count += static_cast<uint64_t>(delta);
    queued += static_cast<size_t>(delta);
  }
}

void admission_control::handed_on(charge charged) {
  if (snapshot_.providers.empty()) {
    ++untracked_;  // admitted uncharged before any snapshot: only its place in the count matters
    return;
  }
  handed_.push_back(charged);
}

void admission_control::withdraw(charge charged) {
  if (charged)
    add_charge(*charged, -1);
}

void admission_control::update(admission_snapshot snapshot) {
  // The router counts intake's orders as they arrive, in the order intake handed them on:
  // the first `newly` of those not counted before are in this snapshot's loads now.
  auto newly = snapshot.orders_received > counted_ ? snapshot.orders_received - counted_ : 0;
  counted_ = std::max(counted_, snapshot.orders_received);
  auto skipped = std::min(newly, untracked_);
  untracked_ -= skipped;
  newly -= skipped;
  for (; newly > 0 && !handed_.empty(); --newly) {
    if (auto charged = handed_.front(); charged && *charged < charged_.size())
      --charged_[*charged];
    handed_.pop_front();
  }
  snapshot_ = std::move(snapshot);
  charged_.resize(snapshot_.providers.size(), 0);
  for (size_t i = 0; i < charged_.size(); ++i)
    snapshot_.providers[i].queued += static_cast<size_t>(charged_[i]);
}

void admission_control::router_changed() {
  for (const auto& charged : handed_)
    withdraw(charged);
  handed_.clear();
  counted_ = 0;
  untracked_ = 0;
}

uint64_t admission_control::uncounted() const {
  uint64_t total = 0;
  for (auto count : charged_)
    total += count;
  return total;
}

} // namespace topup
