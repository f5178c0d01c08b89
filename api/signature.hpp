#pragma once

// HMAC-SHA256 signatures (OpenSSL), for every signed exchange of topup: the provider protocol
// (providers/http_wire) and the merchants' HTTP API (api/merchant_api).

#include <string>
#include <string_view>

namespace topup::signature {

/// Lowercase hex HMAC-SHA256 of `message` under `secret`.
std::string hmac_sha256_hex(std::string_view secret, std::string_view message);

/// Whether two signatures are equal, in time that depends only on their length (CRYPTO_memcmp):
/// a forger learns nothing from how long a refusal took.
bool equal_in_constant_time(std::string_view expected, std::string_view given);

} // namespace topup::signature
