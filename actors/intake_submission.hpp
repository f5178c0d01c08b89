#pragma once

// Submitting a batch of queue messages to intake, for the queue consumers: the one place
// that turns intake's answer (or its silence) into each message's outcome.

#include "actors/supervisor.hpp"
#include "domain/queue_ingress.hpp"
#include "messages/errors.hpp"
#include "messages/interfaces.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace topup {

/// The refusal a submit result carries, if any: a topup error as it is; any other error (it
/// never answered for this order) as `unavailable`, so that the message is kept.
inline std::optional<failure> refusal_of(const caf::error& error) {
  if (!error)
    return std::nullopt;
  if (auto f = as_failure(error))
    return f;
  return failure{errc::unavailable, describe(error)};
}

/// Submits the batch's requests to the node's current intake (asked of `supervisor`, since
/// intake restarts) as orders of `ingress`, and calls `done` with every message's outcome:
/// settled by intake's answer, or unanswered (kept) when intake or the supervisor did not
/// answer within `timeout`.
template <class Self, class Done>
void submit_to_intake(Self* self, const supervisor_actor& supervisor,
                      std::shared_ptr<const ingress_batch> batch, const std::string& ingress,
                      caf::duration timeout, Done done) {
  if (batch->requests().empty()) {
    done(batch->settle({}));
    return;
  }
  auto not_answered = [=](const caf::error& error) {
    done(batch->unanswered(refusal_of(error).value_or(failure{errc::unavailable, ""})));
  };
  self->request(supervisor, timeout, caf::get_atom::value)
    .then(
      [=](node_handles& handles) {
        if (!handles.intake) {
          done(batch->unanswered({errc::unavailable, "intake is not running"}));
          return;
        }
        self->request(handles.intake, timeout, submit_atom::value, batch->requests(), ingress)
          .then(
            [=](std::vector<submit_result>& results) {
              std::vector<std::optional<failure>> answers;
              answers.reserve(results.size());
              for (const auto& result : results)
                answers.push_back(refusal_of(result.error));
              done(batch->settle(answers));
            },
            not_answered);
      },
      not_answered);
}

} // namespace topup
