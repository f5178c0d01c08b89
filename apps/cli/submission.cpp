#include "apps/cli/submission.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace topup::cli {

std::string_view to_string(submit_outcome outcome) {
  switch (outcome) {
    case submit_outcome::accepted: return "accepted";
    case submit_outcome::existing: return "existing";
    case submit_outcome::rejected: return "rejected";
    case submit_outcome::unknown: return "unknown";
    case submit_outcome::not_sent: return "not_sent";
  }
  return "unknown";
}

exit_code exit_code_of(const submission& s) {
  switch (s.outcome) {
    case submit_outcome::accepted:
    case submit_outcome::existing:
      return exit_code::ok;
    case submit_outcome::rejected:
    case submit_outcome::unknown:
    case submit_outcome::not_sent:
      break;
  }
  return s.failure.code;
}

void submit_tally::add(const submission& s) {
  switch (s.outcome) {
    case submit_outcome::accepted: ++accepted; break;
    case submit_outcome::existing: ++existing; break;
    case submit_outcome::rejected: ++rejected; break;
    case submit_outcome::unknown: ++unknown; break;
    case submit_outcome::not_sent: ++not_sent; break;
  }
  code = worse(code, exit_code_of(s));
}

size_t submit_tally::total() const {
  return accepted + existing + rejected + unknown + not_sent;
}

std::string summary_line(const submit_tally& tally, double seconds) {
  auto answered = tally.accepted + tally.existing + tally.rejected;
  auto rate = seconds > 0 ? static_cast<double>(answered) / seconds : 0.0;
  auto text = fmt::format("{} orders in {:.2f} s ({:.0f}/s): {} accepted, {} existing, {} rejected",
                          tally.total(), seconds, rate, tally.accepted, tally.existing,
                          tally.rejected);
  if (tally.unknown > 0)
    text += fmt::format(", {} unknown (no answer; resubmit them)", tally.unknown);
  if (tally.not_sent > 0)
    text += fmt::format(", {} not sent", tally.not_sent);
  return text;
}

submit_pipeline::submit_pipeline(std::vector<numbered_request> orders, size_t batch_size,
                                 size_t max_batches_in_flight)
  : orders_(std::move(orders)),
    batch_size_(std::max<size_t>(batch_size, 1)),
    max_batches_in_flight_(std::max<size_t>(max_batches_in_flight, 1)) {}

std::optional<batch> submit_pipeline::next_batch() {
  if (stopped_ || next_unsent_ >= orders_.size() || in_flight_.size() >= max_batches_in_flight_)
    return std::nullopt;
  batch next;
  next.first = next_unsent_;
  auto count = std::min(batch_size_, orders_.size() - next_unsent_);
  next.requests.reserve(count);
  for (size_t i = next_unsent_; i < next_unsent_ + count; ++i)
    next.requests.push_back(orders_[i].request);
  next_unsent_ += count;
  in_flight_.emplace(next.first, count);
  return next;
}

void submit_pipeline::answered(size_t first, const std::vector<submit_result>& results) {
  auto batch_size = in_flight_.find(first);
  if (batch_size == in_flight_.end())
    return;  // already given up (abandon), a late answer changes nothing
  if (results.size() != batch_size->second) {
    failed(first, {exit_code::internal, "unexpected_response",
                   fmt::format("the node answered a batch of {} orders with {} results",
                               batch_size->second, results.size())});
    return;
  }
  in_flight_.erase(batch_size);
  for (size_t k = 0; k < results.size(); ++k) {
    const auto& result = results[k];
    submission s{orders_[first + k].line, orders_[first + k].request, submit_outcome::accepted,
                 {}, {}};
    if (result.error) {
      s.outcome = submit_outcome::rejected;
      s.failure = classify(result.error);
    } else {
      s.outcome = result.existing ? submit_outcome::existing : submit_outcome::accepted;
      s.stored = result.accepted;
    }
    settle(first + k, std::move(s));
  }
}

void submit_pipeline::failed(size_t first, const failure_report& why) {
  auto batch_size = in_flight_.find(first);
  if (batch_size == in_flight_.end())
    return;
  auto count = batch_size->second;
  in_flight_.erase(batch_size);
  auto outcome = is_refusal(why.code) ? submit_outcome::rejected : submit_outcome::unknown;
  for (size_t i = first; i < first + count; ++i)
    settle(i, {orders_[i].line, orders_[i].request, outcome, {}, why});
  if (outcome == submit_outcome::unknown)
    stop({why.code, why.kind, "not sent: an earlier batch got no answer"});
}

void submit_pipeline::stop(const failure_report& why) {
  if (stopped_)
    return;
  stopped_ = true;
  give_up_unsent(why);
}

void submit_pipeline::abandon(const failure_report& why) {
  while (!in_flight_.empty()) {
    auto [first, count] = *in_flight_.begin();
    in_flight_.erase(in_flight_.begin());
    for (size_t i = first; i < first + count; ++i)
      settle(i, {orders_[i].line, orders_[i].request, submit_outcome::unknown, {}, why});
  }
  stop({why.code, why.kind, "not sent: " + why.message});
}

void submit_pipeline::give_up_unsent(const failure_report& why) {
  for (; next_unsent_ < orders_.size(); ++next_unsent_)
    settle(next_unsent_, {orders_[next_unsent_].line, orders_[next_unsent_].request,
                          submit_outcome::not_sent, {}, why});
}

void submit_pipeline::settle(size_t index, submission s) {
  tally_.add(s);
  ++settled_;
  settled_unreleased_.emplace(index, std::move(s));
}

std::vector<submission> submit_pipeline::take_ready() {
  std::vector<submission> ready;
  for (auto it = settled_unreleased_.begin();
       it != settled_unreleased_.end() && it->first == next_to_release_;
       it = settled_unreleased_.erase(it), ++next_to_release_)
    ready.push_back(std::move(it->second));
  return ready;
}

std::vector<submission> unsent_submissions(const std::vector<numbered_request>& orders,
                                           const failure_report& why) {
  submit_pipeline nothing_sent{orders, 1, 1};
  nothing_sent.abandon(why);
  return nothing_sent.take_ready();
}

bool submit_pipeline::finished() const {
  return settled_ == orders_.size();
}

} // namespace topup::cli
