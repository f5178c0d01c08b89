#include "messages/errors.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace topup {

caf::error make_error(errc code, std::string reason) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(reason))};
}

caf::error make_error(const failure& f) {
  return make_error(f.code, f.reason);
}

namespace {

std::string reason_of(const caf::message& context) {
  if (context.match_elements<std::string>())
    return context.get_as<std::string>(0);
  return {};
}

} // namespace

std::optional<failure> as_failure(const caf::error& error) {
  if (!error || error.category() != error_category)
    return std::nullopt;
  return failure{static_cast<errc>(error.code()), reason_of(error.context())};
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
                           return failure{static_cast<errc>(code), reason_of(context)}.describe();
                         });
}

} // namespace topup
