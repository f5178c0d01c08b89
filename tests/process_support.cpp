#include "tests/process_support.hpp"

#include "apps/app_support.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace topup::testing {

using steady = std::chrono::steady_clock;

std::string errno_text(const char* what) {
  return std::string{what} + ": " + std::strerror(errno);
}

// -- child_process ----------------------------------------------------------------------------

child_process::child_process(std::vector<std::string> args, const std::string& stderr_path) {
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
  // Sockets of the test's own actor system are not all close-on-exec: a child holding a
  // copy of a client connection would keep it open after the client closed it.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  auto failed = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
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

// -- files and ports --------------------------------------------------------------------------

std::string tail_of(const std::string& path, size_t max_bytes) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return "(no file " + path + ")";
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (text.size() > max_bytes)
    text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

void write_json(const std::string& path, const nlohmann::json& value) {
  std::ofstream out{path, std::ios::trunc};
  out << value.dump(2) << "\n";
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path);
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

// -- topup-node -------------------------------------------------------------------------------

nlohmann::json test_node_config(const std::filesystem::path& dir, uint16_t port) {
  using nlohmann::json;
  auto file = [&](const std::string& name) { return (dir / name).string(); };
  json providers = json::array();
  std::vector<std::pair<std::string, std::vector<std::string>>> serving{
    {"p-cmcc", {"cmcc"}}, {"p-cucc", {"cucc"}}, {"p-ctcc", {"ctcc"}},
    {"p-agg", {"cmcc", "cucc", "ctcc"}}};
  uint64_t seed = 0;
  for (const auto& [name, carriers] : serving) {
    ++seed;
    json provider = {
      {"name", name},
      {"carriers", carriers},
      {"rate", 2000},
      {"burst", 200},
      {"concurrency", 64},
      {"timeout_ms", 300},
      {"adapter",
       {{"type", "simulated"},
        {"latency", {{"distribution", "fixed"}, {"fixed_ms", 2}}},
        {"outcomes", {{"success", 1.0}}},
        {"ledger", file("ledger-" + name + ".db")},
        {"seed", seed}}}};
    if (name != "p-agg")
      provider["failover"] = json::array({"p-agg"});
    providers.push_back(std::move(provider));
  }
  return {
    {"node",
     {{"name", "test-node"},
      {"listen", {{"host", "127.0.0.1"}, {"port", port}}},
      {"scheduler_threads", 2},
      {"log_level", "info"},
      {"heartbeat_interval_ms", 200},
      {"connection_timeout_ms", 2000}}},
    {"store",
     {{"backend", "sqlite"}, {"sqlite", {{"path", file("orders.db")}, {"synchronous", "normal"}}}}},
    {"deadline", {{"limit_ms", 6000}, {"resend_at_ms", {4000, 5000}}, {"query_interval_ms", 200}}},
    {"carriers",
     {{"cmcc", {"138", "139", "150"}}, {"cucc", {"130", "131", "186"}},
      {"ctcc", {"133", "153", "189"}}}},
    {"amounts_fen", {1000, 2000, 3000, 5000, 10000, 20000}},
    {"providers", providers},
  };
}

nlohmann::json& provider_entry(nlohmann::json& cfg, const std::string& name) {
  for (auto& provider : cfg.at("providers"))
    if (provider.at("name") == name)
      return provider;
  throw std::invalid_argument("no provider " + name + " in the configuration");
}

std::vector<std::string> ledger_paths(const std::filesystem::path& dir) {
  std::vector<std::string> paths;
  for (const auto& name : workload_providers)
    paths.push_back((dir / ("ledger-" + name + ".db")).string());
  return paths;
}

namespace {

std::vector<std::string> node_command(const std::string& binary, const std::string& config_path,
                                      const std::vector<std::string>& extra_args) {
  std::vector<std::string> command{binary, "--config", config_path};
  command.insert(command.end(), extra_args.begin(), extra_args.end());
  return command;
}

} // namespace

node_process::node_process(const std::string& binary, const std::string& config_path,
                           const std::string& log_path,
                           const std::vector<std::string>& extra_args,
                           std::chrono::milliseconds timeout)
  : log_path_(log_path), child_(node_command(binary, config_path, extra_args), log_path) {
  line_reader reader{child_.stdout_fd()};
  auto fail = [&](const std::string& what) {
    auto ended = child_.kill_and_reap();
    throw std::runtime_error("topup-node " + what + " (" + ended + "); its log ends:\n"
                             + tail_of(log_path_));
  };
  if (!reader.read_until(1, steady::now() + timeout))
    fail("printed no 'listening on' line within " + std::to_string(timeout.count()) + " ms");
  const auto& line = reader.lines().front();
  const std::string prefix = "listening on 127.0.0.1:";
  if (line.rfind(prefix, 0) != 0)
    fail("printed '" + line + "' instead of '" + prefix + "PORT'");
  auto port = std::stoul(line.substr(prefix.size()));
  if (port == 0 || port > 65535)
    fail("announced port " + std::to_string(port));
  port_ = static_cast<uint16_t>(port);
}

std::optional<int> node_process::terminate(std::chrono::milliseconds timeout) {
  child_.send_signal(SIGTERM);
  if (!child_.wait_for_exit(steady::now() + timeout)) {
    child_.kill_and_reap();
    return std::nullopt;
  }
  return child_.exit_code();
}

// -- the client -------------------------------------------------------------------------------

client_config::client_config() {
  configure_caf(*this, 2, 200, 2000);
}

caf::expected<gateway_actor> connect_gateway(caf::actor_system& system, uint16_t port,
                                             std::chrono::milliseconds timeout,
                                             const caf::actor_addr& stale) {
  auto until = steady::now() + timeout;
  for (;;) {
    auto gateway = system.middleman().remote_actor<gateway_actor>("127.0.0.1", port);
    bool fresh = gateway && (!stale || gateway->address() != stale);
    if (fresh)
      return gateway;
    if (steady::now() >= until) {
      if (gateway)  // only ever the stale proxy
        return caf::make_error(caf::sec::cannot_connect_to_node);
      return gateway;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

} // namespace topup::testing
