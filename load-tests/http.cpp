#include "load-tests/http.hpp"

#include <atomic>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace herald::load {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

} // namespace

struct gateway::impl {
  explicit impl(handler h) : answer(std::move(h)), acceptor(io) {
    tcp::endpoint at{net::ip::make_address("127.0.0.1"), 0};
    acceptor.open(at.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(at);
    acceptor.listen(net::socket_base::max_listen_connections);
    bound = acceptor.local_endpoint().port();
    accepting = std::thread{[this] { accept_loop(); }};
  }

  ~impl() {
    stopping = true;
    beast::error_code ignored;
    {
      // A blocked accept() does not wake when its socket closes: a
      // connection of our own wakes it.
      tcp::socket wake{io};
      wake.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), bound},
                   ignored);
      accepting.join();
    }
    acceptor.close(ignored);
    {
      std::lock_guard lk{mu};
      for (auto& s : sockets)
        s->shutdown(tcp::socket::shutdown_both, ignored);
    }
    for (auto& t : threads)
      t.join();
  }

  void accept_loop() {
    while (!stopping) {
      auto s = std::make_shared<tcp::socket>(io);
      beast::error_code ec;
      acceptor.accept(*s, ec);
      if (stopping) return;
      if (ec) continue;
      s->set_option(tcp::no_delay(true), ec);
      accepted.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lk{mu};
      sockets.push_back(s);
      threads.emplace_back([this, s] { serve(*s); });
    }
  }

  // Reads requests and answers them until the peer closes.
  void serve(tcp::socket& s) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(s, buffer, req, ec);
      if (ec) break;
      gateway_call c;
      c.target = std::string{req.target()};
      c.idempotency_key = std::string{req["Idempotency-Key"]};
      c.authorization = std::string{req[http::field::authorization]};
      c.body = std::move(req.body());
      auto a = answer(c);
      http::response<http::string_body> res{static_cast<http::status>(a.status),
                                            11};
      res.set(http::field::content_type, "application/json");
      res.keep_alive(req.keep_alive() && !a.close);
      res.body() = std::move(a.body);
      res.prepare_payload();
      http::write(s, res, ec);
      if (ec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    s.shutdown(tcp::socket::shutdown_both, ignored);
    s.close(ignored);
  }

  handler answer;
  net::io_context io;
  tcp::acceptor acceptor;
  uint16_t bound = 0;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> accepted{0};
  std::thread accepting;
  std::mutex mu; // sockets, threads
  std::list<std::shared_ptr<tcp::socket>> sockets;
  std::vector<std::thread> threads;
};

gateway::gateway(handler h) : impl_(std::make_unique<impl>(std::move(h))) {
  // nop
}

gateway::~gateway() = default;

uint16_t gateway::port() const { return impl_->bound; }

std::string gateway::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(impl_->bound) + std::string{path};
}

uint64_t gateway::connections() const { return impl_->accepted.load(); }

struct http_client::impl {
  impl(std::string h, std::string p)
    : host(std::move(h)), port(std::move(p)), socket(io) {}

  bool connect() {
    beast::error_code ec;
    socket.close(ec);
    tcp::resolver resolver{io};
    auto addresses = resolver.resolve(host, port, ec);
    if (ec) return false;
    net::connect(socket, addresses, ec);
    if (ec) return false;
    socket.set_option(tcp::no_delay(true), ec);
    buffer.clear();
    return true;
  }

  std::string host;
  std::string port;
  net::io_context io;
  tcp::socket socket;
  beast::flat_buffer buffer;
};

http_client::http_client(std::string host, std::string port)
  : impl_(std::make_unique<impl>(std::move(host), std::move(port))) {
  // nop
}

http_client::~http_client() = default;
http_client::http_client(http_client&&) noexcept = default;

http_answer http_client::request(std::string_view method,
                                 std::string_view target,
                                 std::string_view token, std::string body,
                                 std::string_view content_type) {
  http::request<http::string_body> req{http::string_to_verb(method), target,
                                       11};
  req.set(http::field::host, impl_->host);
  if (!token.empty())
    req.set(http::field::authorization, "Bearer " + std::string{token});
  if (!body.empty()) req.set(http::field::content_type, content_type);
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  // A kept connection herald has closed fails once: connected again.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!impl_->socket.is_open() && !impl_->connect()) continue;
    beast::error_code ec;
    http::write(impl_->socket, req, ec);
    if (!ec) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(256u << 20);
      http::read(impl_->socket, impl_->buffer, parser, ec);
      if (!ec) {
        auto res = parser.release();
        if (!res.keep_alive()) impl_->socket.close(ec);
        return http_answer{res.result_int(), std::move(res.body())};
      }
    }
    impl_->socket.close(ec);
  }
  return {};
}

} // namespace herald::load
