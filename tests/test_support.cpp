#include "tests/test_support.hpp"

#include "domain/merchant.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <unistd.h>

namespace topup::testing {

temp_dir::temp_dir() {
  std::random_device entropy;
  auto base = std::filesystem::temp_directory_path();
  for (int tries = 0; tries < 100; ++tries) {
    auto candidate = base / ("topup-test-" + std::to_string(getpid()) + "-"
                             + std::to_string(entropy()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

validation_rules workload_rules() {
  validation_rules rules;
  for (auto prefix : {"138", "139", "150"})
    rules.carrier_by_prefix[prefix] = "cmcc";
  for (auto prefix : {"130", "131", "186"})
    rules.carrier_by_prefix[prefix] = "cucc";
  for (auto prefix : {"133", "153", "189"})
    rules.carrier_by_prefix[prefix] = "ctcc";
  rules.allowed_amounts_fen = {1000, 2000, 3000, 5000, 10000, 20000};
  return rules;
}

store_config sqlite_store(const temp_dir& dir, const std::string& name) {
  store_config cfg;
  cfg.sqlite_path = dir.file(name);
  cfg.busy_timeout_s = 1;
  return cfg;
}

system_config::system_config() {
  set("scheduler.max-threads", 2);
  set("scheduler.policy", caf::atom("sharing"));
  set("logger.verbosity", caf::atom("quiet"));
  register_protocol(*this);
}

order_request valid_request(const std::string& client_ref, uint64_t n, int64_t amount) {
  char phone[16];
  std::snprintf(phone, sizeof phone, "138%08llu", static_cast<unsigned long long>(n % 100000000));
  return {client_ref, phone, amount};
}

order stored_order(const std::string& id, const std::string& client_ref, uint64_t n,
                   order_status status) {
  order o;
  o.id = id;
  o.client_ref = client_ref;
  o.phone = valid_request(client_ref, n).phone;
  o.carrier = "cmcc";
  o.amount_fen = 1000;
  o.status = status;
  o.accepted_at_ms = 1'700'000'000'000;
  o.deadline_ms = o.accepted_at_ms + 180000;
  o.updated_at_ms = o.accepted_at_ms;
  o.merchant = std::string{merchant_directory::implicit_default};
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace topup::testing
