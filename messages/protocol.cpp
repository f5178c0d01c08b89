#include "messages/protocol.hpp"

#include "messages/errors.hpp"

namespace topup {

void register_protocol(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::topup>();
  add_error_category(cfg);
}

} // namespace topup
