#include "messages/errors.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace topup {

caf::error make_error(errc code, std::string reason) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(reason))};
}

caf::error make_error(const failure& f) {
  if (f.retry_after_s <= 0)
    return make_error(f.code, f.reason);
  // The hint rides as a second element: clients that read only the reason still do.
  return caf::error{static_cast<uint8_t>(f.code), error_category,
                    caf::make_message(f.reason, f.retry_after_s)};
}

namespace {

/// The error's context: the reason, and for some the retry hint in seconds.
failure failure_of(errc code, const caf::message& context) {
  failure f{code, {}, 0};
  if (context.size() >= 1 && context.match_element<std::string>(0))
    f.reason = context.get_as<std::string>(0);
  if (context.size() >= 2 && context.match_element<int64_t>(1))
    f.retry_after_s = context.get_as<int64_t>(1);
  return f;
}

} // namespace

std::optional<failure> as_failure(const caf::error& error) {
  if (!error || error.category() != error_category)
    return std::nullopt;
  return failure_of(static_cast<errc>(error.code()), error.context());
}

std::string describe(const caf::error& error) {
  if (!error)
    return "no error";
  if (auto f = as_failure(error))
    return f->describe();
  if (error.category() == caf::atom("system"))
    return "system_error: " + to_string(static_cast<caf::sec>(error.code()))
           + (error.context().empty() ? "" : " " + to_string(error.context()));
  return to_string(error);
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category,
                         [](uint8_t code, caf::atom_value, const caf::message& context) {
                           return failure_of(static_cast<errc>(code), context).describe();
                         });
}

} // namespace topup
