#include "apps/process/child_process.hpp"

#include <cerrno>
#include <cstring>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace topup::process {

using steady = std::chrono::steady_clock;

std::string errno_text(const char* what) {
  return std::string{what} + ": " + std::strerror(errno);
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error(errno_text("socket"));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    auto text = errno_text("bind");
    ::close(fd);
    throw std::runtime_error(text);
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// -- child_process ----------------------------------------------------------------------------

child_process::child_process(std::vector<std::string> args, const std::string& stderr_path,
                             const std::string& work_dir, bool own_process_group) {
  if (args.empty())
    throw std::invalid_argument("child_process needs a program");
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    throw std::runtime_error(errno_text("pipe2"));
  read_fd_ = ends[0];
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copy, so fd 1 reaches the child.
  posix_spawn_file_actions_adddup2(&actions, ends[1], STDOUT_FILENO);
  if (!stderr_path.empty())
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  // Sockets of our own actor system are not all close-on-exec: a child holding a copy of a
  // client connection would keep it open after we closed it.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (!work_dir.empty())
    posix_spawn_file_actions_addchdir_np(&actions, work_dir.c_str());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  if (own_process_group) {
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
  }
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  auto failed = posix_spawn(&pid_, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  // Our copy of the write end must go, or the pipe never reports EOF after the child ends.
  ::close(ends[1]);
  if (failed != 0) {
    pid_ = -1;
    ::close(read_fd_);
    throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(failed));
  }
}

child_process::~child_process() {
  kill_and_reap();
  ::close(read_fd_);
}

void child_process::send_signal(int signal) {
  if (pid_ > 0)
    ::kill(pid_, signal);
}

void child_process::reaped(int status) {
  pid_ = -1;
  if (WIFSIGNALED(status)) {
    ended_ = "killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    exit_code_ = WEXITSTATUS(status);
    ended_ = "exited with status " + std::to_string(*exit_code_);
  }
}

std::string child_process::kill_and_reap() {
  if (pid_ <= 0)
    return ended_;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped(status);
  return ended_;
}

bool child_process::wait_for_exit(steady::time_point deadline) {
  while (pid_ > 0) {
    int status = 0;
    auto got = ::waitpid(pid_, &status, WNOHANG);
    if (got == pid_) {
      reaped(status);
      return true;
    }
    if (got < 0 && errno != EINTR)
      throw std::runtime_error(errno_text("waitpid"));
    if (steady::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::optional<int> child_process::terminate(std::chrono::milliseconds timeout) {
  send_signal(SIGTERM);
  if (!wait_for_exit(steady::now() + timeout)) {
    kill_and_reap();
    return std::nullopt;
  }
  return exit_code_;
}

// -- line_reader ------------------------------------------------------------------------------

bool line_reader::read_until(size_t count, steady::time_point deadline) {
  char buffer[65536];
  while (lines_.size() < count && !at_end_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    if (left.count() <= 0)
      return false;
    pollfd readable{fd_, POLLIN, 0};
    auto ready = ::poll(&readable, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready < 0)
      throw std::runtime_error(errno_text("poll"));
    if (ready == 0)
      return false;
    auto got = ::read(fd_, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      throw std::runtime_error(errno_text("read"));
    if (got == 0)
      at_end_ = true;
    split(buffer, static_cast<size_t>(got));
  }
  return lines_.size() >= count;
}

bool line_reader::read_to_end(steady::time_point deadline) {
  read_until(static_cast<size_t>(-1), deadline);
  return at_end_;
}

void line_reader::split(const char* data, size_t size) {
  partial_.append(data, size);
  size_t start = 0;
  for (auto end = partial_.find('\n'); end != std::string::npos;
       end = partial_.find('\n', start)) {
    lines_.push_back(partial_.substr(start, end - start));
    start = end + 1;
  }
  partial_.erase(0, start);
}

std::optional<listening_address> parse_listening_line(const std::string& line) {
  const std::string marker = "listening on ";
  if (line.rfind(marker, 0) != 0)
    return std::nullopt;
  // What follows the address ("(tls)") describes it.
  auto address = line.substr(marker.size(), line.find(' ', marker.size()) - marker.size());
  auto reading = parse_host_port(address);
  if (!reading)
    return std::nullopt;
  return *reading.address;
}

} // namespace topup::process
