#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace topup {

/// A failure text made fit for a log line and a client's error: one line, at most
/// `max_length` bytes. Database drivers answer in several lines (libpq: the message, then
/// tab-indented hints, "DETAIL:  Key (client_ref)=(...)", "HINT:", "CONTEXT:", the query):
/// only the message lines are kept, joined by a space, with runs of spaces collapsed. The
/// detail lines carry stored values and are dropped; any run of 7 or more digits left (a
/// phone number quoted in "invalid input syntax for type bigint: ...") is masked as logs
/// mask phone numbers. An empty result reads "unknown error".
std::string one_line_reason(std::string_view raw, size_t max_length = 300);

} // namespace topup
