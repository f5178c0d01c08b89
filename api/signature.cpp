#include "api/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace topup::signature {

std::string hmac_sha256_hex(std::string_view secret, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
           &digest_size) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex(digest_size * 2, '0');
  for (unsigned i = 0; i < digest_size; ++i) {
    hex[2 * i] = digits[digest[i] >> 4];
    hex[2 * i + 1] = digits[digest[i] & 0x0f];
  }
  return hex;
}

bool equal_in_constant_time(std::string_view expected, std::string_view given) {
  return given.size() == expected.size()
         && CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

} // namespace topup::signature
