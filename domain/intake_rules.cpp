#include "domain/intake_rules.hpp"

namespace topup {

order make_order(const validated_request& checked, std::string id, const clock& time,
                 int64_t deadline_limit_ms) {
  auto now_ms = time.wall_ms();
  order o;
  o.id = std::move(id);
  o.client_ref = checked.request.client_ref;
  o.phone = checked.request.phone;
  o.amount_fen = checked.request.amount_fen;
  o.carrier = checked.carrier;
  o.merchant = checked.request.merchant;
  o.notify_url = checked.request.notify_url;
  o.status = order_status::accepted;
  o.accepted_at_ms = now_ms;
  o.deadline_ms = now_ms + deadline_limit_ms;
  o.updated_at_ms = now_ms;
  o.steady_deadline = time.now() + milliseconds{deadline_limit_ms};
  return o;
}

submission_kind classify_submission(bool inserted, const order& stored,
                                    const order_request& request) {
  if (inserted)
    return submission_kind::new_order;
  return stored.same_content(request) ? submission_kind::resubmission
                                      : submission_kind::conflict;
}

failure reference_conflict(const order& stored, const order_request& request) {
  std::string differs;
  if (stored.phone != request.phone)
    differs = "phone " + mask_phone(stored.phone) + " vs " + mask_phone(request.phone);
  else if (stored.notify_url != request.notify_url)
    differs = "another notify_url";
  else
    differs = "amount " + std::to_string(stored.amount_fen) + " vs "
              + std::to_string(request.amount_fen) + " fen";
  return {errc::duplicate_reference, "client reference '" + request.client_ref
                                       + "' already names order " + stored.id
                                       + " with other content (" + differs + ")"};
}

} // namespace topup
