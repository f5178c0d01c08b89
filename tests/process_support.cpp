#include "tests/process_support.hpp"

#include "apps/app_support.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace topup::testing {

std::string program_run::describe() const {
  std::string text = "exit " + (code ? std::to_string(*code) : std::string{"none"});
  text += "; stdout:";
  for (const auto& line : out)
    text += "\n  " + line;
  return text + "\nstderr: " + err;
}

program_run run_program(const std::vector<std::string>& command, const std::string& err_path,
                        std::chrono::steady_clock::duration limit) {
  using steady = std::chrono::steady_clock;
  std::ofstream{err_path, std::ios::trunc}.close();
  child_process run{command, err_path};
  line_reader output{run.stdout_fd()};
  output.read_to_end(steady::now() + limit);
  program_run result;
  if (run.wait_for_exit(steady::now() + limit))
    result.code = run.exit_code();
  result.out = output.lines();
  result.err = tail_of(err_path);
  return result;
}


using steady = std::chrono::steady_clock;

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
     {{"backend", "sqlite"},
      {"sqlite", {{"path", file("orders.db")}, {"synchronous", "normal"}}},
      {"shards", 1}}},
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
                                      const std::vector<std::string>& extra_args,
                                      const std::vector<std::string>& launcher) {
  std::vector<std::string> command{launcher};
  command.insert(command.end(), {binary, "--config", config_path});
  command.insert(command.end(), extra_args.begin(), extra_args.end());
  return command;
}

} // namespace

node_process::node_process(const std::string& binary, const std::string& config_path,
                           const std::string& log_path,
                           const std::vector<std::string>& extra_args,
                           std::chrono::milliseconds timeout,
                           const std::vector<std::string>& launcher)
  : log_path_(log_path),
    child_(node_command(binary, config_path, extra_args, launcher), log_path) {
  line_reader reader{child_.stdout_fd()};
  auto fail = [&](const std::string& what) {
    auto ended = child_.kill_and_reap();
    throw std::runtime_error("topup-node " + what + " (" + ended + "); its log ends:\n"
                             + tail_of(log_path_));
  };
  if (!reader.read_until(1, steady::now() + timeout))
    fail("printed no 'listening on' line within " + std::to_string(timeout.count()) + " ms");
  const auto& line = reader.lines().front();
  auto address = process::parse_listening_line(line);
  if (!address || address->host != "127.0.0.1")
    fail("printed '" + line + "' instead of 'listening on 127.0.0.1:PORT'");
  port_ = address->port;
}

std::optional<int> node_process::terminate(std::chrono::milliseconds timeout) {
  return child_.terminate(timeout);
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

double process_cpu_seconds(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto after_name = text.rfind(')');
  if (after_name == std::string::npos)
    return 0;
  std::istringstream fields{text.substr(after_name + 2)};
  std::string field;
  double ticks = 0;
  // After the name, fields count from 3 (the state); utime and stime are 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; ++index)
    if (index == 14 || index == 15)
      ticks += std::stod(field);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// -- raw TCP ----------------------------------------------------------------------------------

raw_connection::raw_connection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

raw_connection::~raw_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool raw_connection::send_all(const std::vector<uint8_t>& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool raw_connection::closed_by_peer_before(steady::time_point deadline) {
  char buffer[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    if (::recv(fd_, buffer, sizeof buffer, 0) <= 0)
      return true;  // end of file or reset
  }
}

bool raw_connection::closed_by_peer_now() {
  char buffer[4096];
  for (;;) {
    auto n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0)
      return true;
    if (n < 0)
      return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

} // namespace topup::testing
