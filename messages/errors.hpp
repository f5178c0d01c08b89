#pragma once

#include "domain/errors.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

#include <optional>
#include <string>

namespace topup {

/// Category of every topup error inside caf::error; the code is the errc value and the
/// context the human-readable reason (a string), followed for a refusal with a retry hint by
/// that hint in seconds (an int64_t). Remote clients decode them.
constexpr caf::atom_value error_category = caf::atom("topup");

caf::error make_error(errc code, std::string reason = {});
caf::error make_error(const failure& f);

/// The topup failure carried by an error (reason and retry hint), if it is one of ours.
std::optional<failure> as_failure(const caf::error& error);

/// "invalid_phone: 1380013800 has 10 digits..." for topup errors; CAF's rendering otherwise.
std::string describe(const caf::error& error);

/// Lets actor_system::render print topup errors by name.
void add_error_category(caf::actor_system_config& cfg);

} // namespace topup
