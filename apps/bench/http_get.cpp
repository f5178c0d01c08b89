#include "apps/bench/http_get.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>

namespace topup::bench {

std::string http_get(const std::string& host, uint16_t port, const std::string& target) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver{io};
  boost::asio::ip::tcp::socket socket{io};
  boost::asio::connect(socket, resolver.resolve(host, std::to_string(port)));
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, host);
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  if (response.result() != http::status::ok)
    throw std::runtime_error("GET " + target + " answered "
                             + std::to_string(response.result_int()));
  return response.body();
}

} // namespace topup::bench
