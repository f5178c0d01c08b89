#include "apps/bench/stop_signal.hpp"

#include <atomic>
#include <csignal>

namespace topup::bench {
namespace {

std::atomic<bool> stop_flag{false};

extern "C" void request_stop(int) {
  stop_flag = true;
}

} // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() {
  return stop_flag.load();
}

} // namespace topup::bench
