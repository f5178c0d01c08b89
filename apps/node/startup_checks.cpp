#include "apps/node/startup_checks.hpp"

#include "apps/node/front_listener.hpp"
#include "domain/error_text.hpp"
#include "persistence/store_probe.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace topup {
namespace {

/// The reason of OpenSSL's last error, one line; its queue is emptied.
std::string openssl_reason() {
  auto code = ERR_peek_last_error();
  std::string reason = code ? ERR_reason_error_string(code) ? ERR_reason_error_string(code)
                                                              : "error " + std::to_string(code)
                            : "unknown error";
  ERR_clear_error();
  return one_line_reason(reason);
}

/// An encrypted key would make OpenSSL ask for a passphrase on the terminal: the node has
/// none to give, so it fails instead.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

} // namespace

void check_tls_files(const tls_config& tls) {
  if (!tls.enabled())
    return;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx)
    throw config_error("/node/tls", "OpenSSL cannot make a context: " + openssl_reason());
  SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.certificate.c_str()) != 1)
    throw config_error("/node/tls/certificate",
                       "cannot load certificate '" + tls.certificate + "': " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw config_error("/node/tls/key", "cannot load private key '" + tls.key
                                          + "' (it must be PEM, without a passphrase): "
                                          + openssl_reason());
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    throw config_error("/node/tls/key", "'" + tls.key + "' is not the key of certificate '"
                                          + tls.certificate + "': " + openssl_reason());
  if (!tls.ca_file.empty()
      && SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(), nullptr) != 1)
    throw config_error("/node/tls/ca_file",
                       "cannot load CA file '" + tls.ca_file + "': " + openssl_reason());
}

void check_startup(const config& cfg) {
  check_tls_files(cfg.node.tls);
  probe_store(cfg.store);
  for (size_t i = 0; i < cfg.providers.size(); ++i)
    if (auto sim = std::get_if<simulated_adapter_config>(&cfg.providers[i].adapter))
      if (!sim->ledger_path.empty())
        probe_sqlite_file(sim->ledger_path,
                          "/providers/" + std::to_string(i) + "/adapter/ledger");
  try {
    check_listen_address(cfg.node.host, 0);
  } catch (const std::exception& error) {
    throw config_error("/node/listen/host", one_line_reason(error.what()));
  }
}

} // namespace topup
