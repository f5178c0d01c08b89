#pragma once

// What `topup-node --check` verifies beyond the configuration's syntax, and what the node
// verifies again before it starts anything: that it can load what the configuration names.

#include "config/config.hpp"

namespace topup {

/// Loads the TLS certificate, key and CA file with OpenSSL as CAF's OpenSSL module will
/// (certificate chain, private key matching it, CA locations), probes the store and every
/// provider ledger (persistence/store_probe: nothing is created), and resolves the listen
/// host and binds it on a port chosen by the system (not the configured port, which a
/// running node may hold while its next configuration is checked). Throws config_error
/// naming the field.
void check_startup(const config& cfg);

/// The TLS part of check_startup.
void check_tls_files(const tls_config& tls);

} // namespace topup
