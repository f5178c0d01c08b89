#include "apps/cli/exit_codes.hpp"

#include "messages/errors.hpp"

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

#include <array>

namespace topup::cli {
namespace {

/// Severity order for worse(): later entries win.
constexpr std::array severity{exit_code::ok,          exit_code::disagreements,
                              exit_code::rejected,    exit_code::bad_input,
                              exit_code::retry_later, exit_code::unreachable,
                              exit_code::internal,    exit_code::interrupted};

size_t rank(exit_code code) {
  for (size_t i = 0; i < severity.size(); ++i)
    if (severity[i] == code)
      return i;
  return severity.size();
}

/// Topup errors a node answers with because of a bug on its side rather than the request.
bool is_node_fault(errc code) {
  return code == errc::none || code == errc::stale_owner || code == errc::outcome_unknown;
}

/// CAF system errors meaning the node could not be reached or stopped answering.
bool is_connection_loss(caf::sec code) {
  switch (code) {
    case caf::sec::request_receiver_down:
    case caf::sec::request_timeout:
    case caf::sec::disconnect_during_handshake:
    case caf::sec::no_route_to_receiving_node:
    case caf::sec::cannot_connect_to_node:
    case caf::sec::network_syscall_failed:
    case caf::sec::remote_linking_failed:
    case caf::sec::socket_disconnected:
    case caf::sec::socket_operation_failed:
    case caf::sec::remote_lookup_failed:
    case caf::sec::connection_timeout:
      return true;
    default:
      return false;
  }
}

/// A hint for the system errors whose CAF name alone does not tell a user what to check.
std::string hint_for(caf::sec code) {
  switch (code) {
    case caf::sec::request_timeout:
      return "no answer within --timeout";
    case caf::sec::cannot_connect_to_node:
      return "nothing accepts connections there: is topup-node running?";
    case caf::sec::disconnect_during_handshake:
      return "the node closed the connection during the handshake: TLS on one side only, or "
             "a certificate the node does not accept";
    case caf::sec::connection_timeout:
      return "the connection went silent: the peer hangs, or is not a topup node";
    case caf::sec::malformed_basp_message:
      return "the peer does not speak CAF's protocol: not a topup node";
    case caf::sec::unexpected_actor_messaging_interface:
      return "the actor published there is not a gateway of this client's protocol";
    case caf::sec::no_actor_published_at_port:
      return "nothing is published at that port";
    case caf::sec::incompatible_application_ids:
    case caf::sec::incompatible_versions:
      return "the peer is a CAF application of another kind or version";
    default:
      return {};
  }
}

/// "remote_link_unreachable", "request_timeout", or the topup description: the name of a
/// reason, short enough for a parenthesis.
std::string reason_name(const caf::error& error) {
  if (error.category() == caf::atom("exit"))
    return to_string(static_cast<caf::exit_reason>(error.code()));
  if (error.category() == caf::atom("system"))
    return to_string(static_cast<caf::sec>(error.code()));
  return describe(error);
}

} // namespace

exit_code worse(exit_code a, exit_code b) {
  return rank(a) >= rank(b) ? a : b;
}

std::string exit_codes_help() {
  return "Exit codes:\n"
         "  0    success\n"
         "  6    reconcile found disagreements between the engine and the statement (every\n"
         "       one is listed); 0 when all agree\n"
         "  1    rejected: the node refused an order (invalid input, duplicate reference),\n"
         "       found no such order, or refused a cancel; sending the same again will not help\n"
         "  2    bad arguments or input (a malformed line of an order file, an amount that is\n"
         "       not a plain decimal number); nothing was sent for it\n"
         "  5    retry later: the node refused for now (overloaded, unavailable, shutting_down);\n"
         "       resubmitting with the same client references is safe\n"
         "  3    node unreachable: cannot connect, the node went down, or a request timed out\n"
         "       (the outcome of orders in flight is then unknown; resubmitting them with the\n"
         "       same client references is safe)\n"
         "  4    protocol mismatch or internal error (a bug: please report it)\n"
         "  130  submit interrupted by Ctrl-C (watch ends with 0 on Ctrl-C)\n"
         "When several apply, the later one in this list wins.";
}

failure_report classify(const caf::error& error) {
  if (!error)
    return {exit_code::internal, "no_error", "an empty error (a bug in topup-cli)"};
  if (auto f = as_failure(error)) {
    auto code = is_node_fault(f->code)   ? exit_code::internal
                : is_retryable(f->code) ? exit_code::retry_later
                                        : exit_code::rejected;
    return {code, std::string{to_string(f->code)}, f->describe(), f->retry_after_s};
  }
  if (error.category() == caf::atom("system")) {
    auto code = static_cast<caf::sec>(error.code());
    auto message = describe(error);
    if (auto hint = hint_for(code); !hint.empty())
      message = hint + " (" + message + ")";
    return {is_connection_loss(code) ? exit_code::unreachable : exit_code::internal,
            to_string(code), std::move(message)};
  }
  if (error.category() == caf::atom("exit")) {
    // Exit reasons reach a client only as the reason of a remote actor's termination.
    auto reason = reason_name(error);
    return {exit_code::unreachable, reason, "the node's actor terminated: " + reason};
  }
  return {exit_code::internal, "unexpected_error", describe(error)};
}

bool is_refusal(exit_code code) {
  return code == exit_code::rejected || code == exit_code::retry_later;
}

failure_report node_down(std::string_view node, const caf::error& reason) {
  std::string message{"node "};
  message += node;
  message += " went down";
  if (reason) {
    message += " (";
    message += reason_name(reason);
    message += ")";
  }
  return {exit_code::unreachable, "node_down", std::move(message)};
}

} // namespace topup::cli
