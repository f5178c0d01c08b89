#include "apps/bench/server_process.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace topup::bench {

using steady = std::chrono::steady_clock;

std::optional<uint64_t> parse_status_kib(const std::string& status_text,
                                         const std::string& field) {
  std::istringstream lines{status_text};
  std::string line;
  auto prefix = field + ":";
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) != 0)
      continue;
    std::istringstream fields{line.substr(prefix.size())};
    uint64_t kib = 0;
    if (fields >> kib)
      return kib;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_vm_hwm_kib(const std::string& status_text) {
  return parse_status_kib(status_text, "VmHWM");
}

std::optional<uint64_t> status_kib(pid_t pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  if (!in)
    return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return parse_status_kib(text.str(), field);
}

std::optional<uint64_t> peak_rss_kib(pid_t pid) {
  return status_kib(pid, "VmHWM");
}

server_process::server_process(const std::string& what, std::vector<std::string> command,
                               const std::string& work_dir, const std::string& log_path,
                               std::chrono::milliseconds timeout)
  : started_at_(steady::now()),
    child_(std::move(command), log_path, work_dir, /*own_process_group=*/true) {
  process::line_reader reader{child_.stdout_fd()};
  if (!reader.read_until(1, steady::now() + timeout)) {
    auto ended = child_.kill_and_reap();
    throw std::runtime_error(what + " did not report listening within "
                             + std::to_string(timeout.count()) + " ms (" + ended + "; see "
                             + log_path + ")");
  }
  ready_at_ = steady::now();
  const auto& line = reader.lines().front();
  auto address = process::parse_listening_line(line);
  if (!address) {
    child_.kill_and_reap();
    throw std::runtime_error("unexpected first line from " + what + ": " + line);
  }
  host_ = address->host;
  port_ = address->port;
}

} // namespace topup::bench
