#pragma once

// Certificates made at test time with the openssl command line, in a test's temporary
// directory: CAs, and certificates they sign for the names a test wants checked.

#include "tests/test_support.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <string>

namespace topup::testing {

/// Runs a shell command; fails the test when it does not exit 0.
inline void run_shell(const std::string& command) {
  int status = std::system((command + " >/dev/null 2>&1").c_str());
  BOOST_TEST_REQUIRE(status == 0, "command failed: " << command);
}

/// A CA "<name>-ca" (.pem, .key) in `dir`.
inline void make_ca(const temp_dir& dir, const std::string& name) {
  auto ca = dir.file(name + "-ca");
  run_shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + name
            + "-ca -keyout " + ca + ".key -out " + ca + ".pem");
}

/// A certificate "<ca_name>-<who>" (.pem, .key) signed by the CA "<ca_name>-ca", with the
/// common name 127.0.0.1 and the subject alternative names `names` ("IP:127.0.0.1",
/// "DNS:shop.example"): what a client checks the host it called against.
inline void make_certificate(const temp_dir& dir, const std::string& ca_name,
                             const std::string& who,
                             const std::string& names = "IP:127.0.0.1") {
  auto ca = dir.file(ca_name + "-ca");
  auto cert = dir.file(ca_name + "-" + who);
  std::ofstream{cert + ".ext"} << "subjectAltName = " << names << "\n";
  run_shell("openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout " + cert
            + ".key -out " + cert + ".csr");
  run_shell("openssl x509 -req -days 2 -in " + cert + ".csr -CA " + ca + ".pem -CAkey " + ca
            + ".key -CAcreateserial -extfile " + cert + ".ext -out " + cert + ".pem");
}

} // namespace topup::testing
