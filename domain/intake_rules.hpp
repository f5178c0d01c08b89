#pragma once

#include "domain/errors.hpp"
#include "domain/order.hpp"
#include "domain/validation.hpp"

#include <optional>

namespace topup {

/// A new order from a validated request: status accepted, deadline = now + limit, stored in
/// wall-clock time and, for the running engine, on the steady clock (both read now).
order make_order(const validated_request& checked, std::string id, const clock& time,
                 int64_t deadline_limit_ms);

/// What a submission became, given the row the store holds for its client reference.
enum class submission_kind { new_order, resubmission, conflict };

/// `inserted`: the store wrote our row. Otherwise the reference existed: the same content is
/// a resubmission (answered with the stored order), other content a conflict.
submission_kind classify_submission(bool inserted, const order& stored,
                                    const order_request& request);

/// The duplicate_reference failure for a conflicting resubmission.
failure reference_conflict(const order& stored, const order_request& request);

} // namespace topup
