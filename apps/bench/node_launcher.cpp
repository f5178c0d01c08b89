#include "apps/bench/node_launcher.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace topup::bench {

using steady = std::chrono::steady_clock;

std::optional<uint64_t> parse_vm_hwm_kib(const std::string& status_text) {
  std::istringstream lines{status_text};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("VmHWM:", 0) != 0)
      continue;
    std::istringstream fields{line.substr(6)};
    uint64_t kib = 0;
    if (fields >> kib)
      return kib;
  }
  return std::nullopt;
}

std::optional<uint64_t> peak_rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  if (!in)
    return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return parse_vm_hwm_kib(text.str());
}

node_launcher::node_launcher(const std::string& binary, const std::string& config_path,
                             const std::string& work_dir, const std::string& log_path,
                             std::chrono::milliseconds timeout) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string{"pipe2: "} + std::strerror(errno));
  stdout_fd_ = ends[0];
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, ends[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  // The bench's own sockets (a connection to an earlier node) must not leak into the child.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawn_file_actions_addchdir_np(&actions, work_dir.c_str());
  std::vector<std::string> args{binary, "--config", config_path};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  auto failed = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(ends[1]);
  if (failed != 0) {
    pid_ = -1;
    ::close(stdout_fd_);
    throw std::runtime_error("cannot start " + binary + ": " + std::strerror(failed));
  }
  // The first stdout line is "listening on HOST:PORT" once the gateway is published.
  auto deadline = steady::now() + timeout;
  std::string text;
  while (text.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    pollfd readable{stdout_fd_, POLLIN, 0};
    auto ready = left.count() > 0 ? ::poll(&readable, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR)
      continue;
    char buffer[512];
    auto got = ready > 0 ? ::read(stdout_fd_, buffer, sizeof buffer) : 0;
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      kill();
      ::close(stdout_fd_);
      throw std::runtime_error("topup-node did not report listening within "
                               + std::to_string(timeout.count()) + " ms (see " + log_path + ")");
    }
    text.append(buffer, static_cast<size_t>(got));
  }
  ready_at_ = steady::now();
  auto line = text.substr(0, text.find('\n'));
  const std::string marker = "listening on ";
  auto at = line.find(marker);
  auto colon = line.rfind(':');
  if (at == std::string::npos || colon == std::string::npos || colon < at) {
    kill();
    ::close(stdout_fd_);
    throw std::runtime_error("unexpected first line from topup-node: " + line);
  }
  host_ = line.substr(at + marker.size(), colon - at - marker.size());
  port_ = static_cast<uint16_t>(std::stoul(line.substr(colon + 1)));
}

node_launcher::~node_launcher() {
  kill();
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
}

std::optional<int> node_launcher::reap(bool wait) {
  int status = 0;
  auto got = ::waitpid(pid_, &status, wait ? 0 : WNOHANG);
  while (got < 0 && errno == EINTR)
    got = ::waitpid(pid_, &status, wait ? 0 : WNOHANG);
  if (got != pid_)
    return std::nullopt;
  pid_ = -1;
  return WIFEXITED(status) ? std::optional<int>{WEXITSTATUS(status)} : std::optional<int>{-1};
}

void node_launcher::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

std::optional<int> node_launcher::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return std::nullopt;
  ::kill(pid_, SIGTERM);
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    if (auto code = reap(false))
      return *code >= 0 ? code : std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill();
  return std::nullopt;
}

} // namespace topup::bench
