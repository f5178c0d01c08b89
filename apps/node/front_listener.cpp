#include "apps/node/front_listener.hpp"

#include "domain/connection_slots.hpp"
#include "domain/log_repeats.hpp"

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace topup {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

/// Bytes read from a socket at once.
constexpr size_t chunk_size = 64 * 1024;

/// After an accept failed for lack of descriptors, the listener waits this long before
/// accepting again instead of spinning on a connection it cannot take.
constexpr milliseconds accept_pause{100};

tcp::endpoint resolve_listen_endpoint(asio::io_context& io, const std::string& host,
                                      uint16_t port) {
  tcp::resolver resolver{io};
  error_code ec;
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve '" + host + "': " + (ec ? ec.message() : "no address"));
  return results.begin()->endpoint();
}

void open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec)
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec)
    acceptor.bind(endpoint, ec);
  if (!ec)
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":"
                             + std::to_string(endpoint.port()) + ": " + ec.message());
}

std::string peer_of(const tcp::socket& socket) {
  error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec)
    return "a peer";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

} // namespace

/// One peer's connection and its connection to the middleman.
class front_relay;

struct front_listener::impl : std::enable_shared_from_this<impl> {
  front_settings settings;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_timer{io};
  connection_slots slots;
  log_repeats repeats;
  std::unordered_map<uint64_t, std::shared_ptr<front_relay>> relays;
  uint64_t next_id = 1;
  front_counters counters;
  std::thread thread;
  uint16_t port = 0;
  bool stopped = false;

  explicit impl(front_settings s) : settings(std::move(s)), slots(settings.max_connections) {}

  /// A warning that repeats are summarised for (see domain/log_repeats).
  template <class... Args>
  void warn(const std::string& kind, fmt::format_string<Args...> format, Args&&... args) {
    auto verdict = repeats.occurred(kind, mono_clock::now());
    if (verdict.write)
      spdlog::warn("{}{}", fmt::format(format, std::forward<Args>(args)...), verdict.suffix());
  }

  void accept();
  void admit(tcp::socket socket);
  void forget(uint64_t id);
  void close_all();
};

class front_relay : public std::enable_shared_from_this<front_relay> {
public:
  front_relay(front_listener::impl& owner, uint64_t id, tcp::socket client)
    : owner_(owner), id_(id), peer_(peer_of(client)), client_(std::move(client)),
      upstream_(owner.io), deadline_(owner.io),
      check_(owner.settings.tls ? inbound_stream::protocol::tls : inbound_stream::protocol::basp,
             owner.settings.limits) {
    in_.resize(chunk_size);
  }

  void start() {
    error_code ignored;
    client_.set_option(tcp::no_delay(true), ignored);
    deadline_.expires_after(owner_.settings.handshake_timeout);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->closed_ || self->check_.handshake_done())
        return;
      self->owner_.counters.timed_out++;
      self->owner_.warn("timeout", "port closed the connection of {}: no handshake within {} ms",
                        self->peer_, self->owner_.settings.handshake_timeout.count());
      self->close();
    });
    tcp::endpoint middleman{asio::ip::address_v4::loopback(), owner_.settings.upstream_port};
    upstream_.async_connect(middleman, [self = shared_from_this()](error_code ec) {
      if (self->closed_)
        return;
      if (ec) {
        self->owner_.warn("upstream", "port cannot reach the node's middleman: {}", ec.message());
        self->close();
        return;
      }
      error_code option_ec;
      self->upstream_.set_option(tcp::no_delay(true), option_ec);
      self->upstream_ready_ = true;
      self->read_upstream();
      self->send_upstream();
    });
    read_client();
  }

  /// Closes both sides (idempotent).
  void close() {
    if (closed_)
      return;
    closed_ = true;
    error_code ignored;
    deadline_.cancel();
    client_.close(ignored);
    upstream_.close(ignored);
    owner_.forget(id_);
  }

  const std::string& peer() const { return peer_; }

private:
  // -- peer to middleman ----------------------------------------------------------------------

  void read_client() {
    if (in_filled_ == in_.size()) {
      // A message larger than the buffer is arriving: grow with what came, never to what
      // was merely announced.
      in_.resize(std::max(in_.size() * 2, chunk_size));
    }
    client_.async_read_some(
      asio::buffer(in_.data() + in_filled_, in_.size() - in_filled_),
      [self = shared_from_this()](error_code ec, size_t n) { self->client_read(ec, n); });
  }

  /// What a finished read means: data, the end of that side's stream, or nothing more to
  /// do (the relay is closed, or the read failed and closed it).
  enum class read_outcome { data, end_of_stream, stop };

  read_outcome after_read(error_code ec) {
    if (closed_)
      return read_outcome::stop;
    if (!ec)
      return read_outcome::data;
    if (ec != asio::error::eof) {
      close();
      return read_outcome::stop;
    }
    return read_outcome::end_of_stream;
  }

  void client_read(error_code ec, size_t n) {
    auto outcome = after_read(ec);
    if (outcome == read_outcome::stop)
      return;
    if (outcome == read_outcome::end_of_stream) {
      client_done_ = true;
      if (!upstream_ready_)
        close();
      else if (!writing_upstream_ && pending_.empty())
        end_upstream();
      return;
    }
    in_filled_ += n;
    auto verdict = check_.inspect(in_.data(), in_filled_);
    if (!verdict.refusal.empty()) {
      owner_.counters.refused_protocol++;
      owner_.warn("protocol", "port closed the connection of {}: {}", peer_, verdict.refusal);
      close();
      return;
    }
    if (check_.handshake_done() && !established_) {
      established_ = true;
      deadline_.cancel();
      owner_.slots.established(id_);
    }
    if (verdict.complete > 0) {
      // The relayed bytes go out of `pending_`; what remains starts the next message.
      std::swap(in_, pending_);
      auto rest = in_filled_ - verdict.complete;
      in_.resize(std::max({chunk_size, rest, std::min(verdict.needed, pending_.size())}));
      std::copy(pending_.begin() + static_cast<std::ptrdiff_t>(verdict.complete),
                pending_.begin() + static_cast<std::ptrdiff_t>(in_filled_), in_.begin());
      pending_.resize(verdict.complete);
      in_filled_ = rest;
      send_upstream();
    } else {
      read_client();
    }
  }

  void send_upstream() {
    if (!upstream_ready_ || writing_upstream_ || pending_.empty())
      return;
    writing_upstream_ = true;
    asio::async_write(upstream_, asio::buffer(pending_),
                      [self = shared_from_this()](error_code ec, size_t) {
                        self->writing_upstream_ = false;
                        if (self->closed_)
                          return;
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->pending_.clear();
                        // After a large message, give the memory back.
                        if (self->pending_.capacity() > 4 * chunk_size)
                          self->pending_.shrink_to_fit();
                        if (self->client_done_)
                          self->end_upstream();
                        else
                          self->read_client();
                      });
  }

  void end_upstream() {
    error_code ignored;
    upstream_.shutdown(tcp::socket::shutdown_send, ignored);
    if (upstream_done_)
      close();
  }

  // -- middleman to peer ----------------------------------------------------------------------

  void read_upstream() {
    upstream_.async_read_some(asio::buffer(out_),
                              [self = shared_from_this()](error_code ec, size_t n) {
                                self->upstream_read(ec, n);
                              });
  }

  void upstream_read(error_code ec, size_t n) {
    auto outcome = after_read(ec);
    if (outcome == read_outcome::stop)
      return;
    if (outcome == read_outcome::end_of_stream) {
      upstream_done_ = true;
      error_code ignored;
      client_.shutdown(tcp::socket::shutdown_send, ignored);
      if (client_done_)
        close();
      return;
    }
    asio::async_write(client_, asio::buffer(out_.data(), n),
                      [self = shared_from_this()](error_code write_ec, size_t) {
                        if (self->closed_)
                          return;
                        if (write_ec) {
                          self->close();
                          return;
                        }
                        self->read_upstream();
                      });
  }

  front_listener::impl& owner_;
  uint64_t id_;
  std::string peer_;
  tcp::socket client_;
  tcp::socket upstream_;
  asio::steady_timer deadline_;
  inbound_stream check_;
  std::vector<uint8_t> in_;       ///< from the peer, not relayed yet
  size_t in_filled_ = 0;
  std::vector<uint8_t> pending_;  ///< whole messages on their way to the middleman
  std::array<uint8_t, chunk_size> out_{};
  bool upstream_ready_ = false;
  bool writing_upstream_ = false;
  bool established_ = false;
  bool client_done_ = false;      ///< the peer finished sending
  bool upstream_done_ = false;    ///< the middleman finished sending
  bool closed_ = false;
};

void front_listener::impl::accept() {
  acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (self->stopped || ec == asio::error::operation_aborted)
      return;
    if (ec) {
      // Out of descriptors (EMFILE, ENFILE) or memory: the connection stays in the backlog
      // and the socket keeps reporting it; pause instead of spinning on it.
      self->warn("accept", "port cannot accept a connection: {}", ec.message());
      self->accept_timer.expires_after(accept_pause);
      self->accept_timer.async_wait([self](error_code timer_ec) {
        if (!timer_ec && !self->stopped)
          self->accept();
      });
      return;
    }
    self->admit(std::move(socket));
    self->accept();
  });
}

void front_listener::impl::admit(tcp::socket socket) {
  auto id = next_id++;
  auto admission = slots.admit(id);
  if (!admission.accepted) {
    counters.refused_at_cap++;
    warn("cap", "port refused the connection of {}: {} connections are open, the most it keeps",
         peer_of(socket), slots.open());
    error_code ignored;
    socket.close(ignored);
    return;
  }
  if (admission.evicted) {
    if (auto evicted = relays.find(*admission.evicted); evicted != relays.end()) {
      // close() erases the map entry: hold the relay while it runs.
      auto victim = evicted->second;
      counters.evicted++;
      warn("evicted",
           "port closed the connection of {} to make room: the oldest of {} without a handshake",
           victim->peer(), slots.pending());
      victim->close();
    }
  }
  counters.accepted++;
  auto connection = std::make_shared<front_relay>(*this, id, std::move(socket));
  relays.emplace(id, connection);
  counters.open = relays.size();
  connection->start();
}

void front_listener::impl::forget(uint64_t id) {
  slots.closed(id);
  relays.erase(id);
  counters.open = relays.size();
}

void front_listener::impl::close_all() {
  auto open = std::move(relays);
  relays.clear();
  for (auto& [id, connection] : open)
    connection->close();
}

front_listener::front_listener(front_settings settings)
  : impl_(std::make_shared<impl>(std::move(settings))) {
  auto endpoint = resolve_listen_endpoint(impl_->io, impl_->settings.host, impl_->settings.port);
  open_acceptor(impl_->acceptor, endpoint);
  impl_->port = impl_->acceptor.local_endpoint().port();
}

front_listener::~front_listener() {
  stop();
}

uint16_t front_listener::port() const {
  return impl_->port;
}

void front_listener::start() {
  impl_->accept();
  impl_->thread = std::thread([state = impl_] { state->io.run(); });
}

void front_listener::stop() {
  if (!impl_->thread.joinable())
    return;
  asio::post(impl_->io, [state = impl_] {
    state->stopped = true;
    error_code ignored;
    state->acceptor.close(ignored);
    state->accept_timer.cancel();
    state->close_all();
  });
  impl_->thread.join();
}

const front_counters& front_listener::counters() const {
  return impl_->counters;
}

void check_listen_address(const std::string& host, uint16_t port) {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  open_acceptor(acceptor, resolve_listen_endpoint(io, host, port));
}

} // namespace topup
