#include "api/server.hpp"

#include <array>
#include <atomic>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace herald::api {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

namespace {

class session;

} // namespace

class server::impl {
 public:
  impl(server_options options, service& handler)
    : options_(std::move(options)), handler_(handler),
      ioc_(static_cast<int>(options_.threads)), acceptor_(ioc_) {}

  result<uint16_t, std::string> start();
  void stop();
  uint16_t port() const noexcept { return port_; }

  const server_options& options() const noexcept { return options_; }
  service& handler() noexcept { return handler_; }
  bool stopping() const noexcept { return stopping_.load(); }

  /// Sessions register themselves, so that stop() can close the idle ones.
  void enter(const std::shared_ptr<session>& s);

 private:
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);

  server_options options_;
  service& handler_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::vector<std::thread> threads_;
  std::mutex sessions_mu_;
  std::list<std::weak_ptr<session>> sessions_;
};

namespace {

// One connection: read a request, answer it, again while kept alive. Its
// handlers run on its strand, one at a time.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket&& socket, server::impl& owner)
    : stream_(std::move(socket)), owner_(owner) {}

  void run() {
    net::dispatch(
      stream_.get_executor(),
      beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

  /// From stop(): an idle connection closes now; a busy one after its answer.
  void stop() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->waiting_ && !self->parser_->got_some()) self->close();
    });
  }

 private:
  void do_read() {
    if (owner_.stopping()) return close();
    parser_.emplace();
    parser_->header_limit(
      static_cast<uint32_t>(owner_.options().max_header_bytes));
    parser_->body_limit(owner_.options().max_body_bytes);
    waiting_ = true;
    stream_.expires_after(owner_.options().read_timeout);
    http::async_read(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(error_code ec, size_t) {
    waiting_ = false;
    if (ec == http::error::body_limit)
      return refuse(http::status::payload_too_large, "body_too_large",
                    "the body is larger than " +
                      std::to_string(owner_.options().max_body_bytes) +
                      " bytes");
    if (ec == http::error::header_limit)
      return refuse(
        http::status::request_header_fields_too_large, "header_too_large",
        "the header is larger than " +
          std::to_string(owner_.options().max_header_bytes) + " bytes");
    // The peer closed, the read timed out, the bytes are not HTTP: nothing
    // to answer.
    if (ec) return close();
    auto req = parser_->release();
    response res;
    try {
      res = owner_.handler().handle(req);
    } catch (const std::exception&) {
      res = error_answer(req.version(), http::status::internal_server_error,
                         "internal", "the request failed inside herald");
    }
    if (owner_.stopping()) res.keep_alive(false);
    write(std::move(res));
  }

  static response error_answer(unsigned version, http::status status,
                               std::string_view code,
                               std::string_view message) {
    response res{status, version};
    res.set(http::field::server, "herald");
    res.set(http::field::content_type, "application/json");
    res.body() = boost::json::serialize(boost::json::object{
      {"error", boost::json::object{{"code", code}, {"message", message}}}});
    res.keep_alive(false);
    res.prepare_payload();
    return res;
  }

  // Answers an error the parser found, then closes: the rest of that
  // request's bytes are not read.
  void refuse(http::status status, std::string_view code,
              std::string_view message) {
    refused_ = true;
    write(error_answer(11, status, code, message));
  }

  void write(response res) {
    answer_ = std::make_shared<response>(std::move(res));
    http::async_write(stream_, *answer_,
                      beast::bind_front_handler(&session::on_write,
                                                shared_from_this(),
                                                answer_->keep_alive()));
  }

  void on_write(bool keep_alive, error_code ec, size_t) {
    answer_.reset();
    if (!ec && refused_) return drain();
    if (ec || !keep_alive) return close();
    do_read();
  }

  // After a refusal the peer may still be sending what was refused. Closing
  // with those bytes unread would reset the connection, and the peer could
  // lose the answer: stop sending, read until the peer closes (a second at
  // most), then close.
  void drain(bool first = true) {
    if (first) {
      error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream_.expires_after(std::chrono::seconds{1});
    }
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](error_code e, size_t) {
                              if (e) return self->close();
                              self->drain(false);
                            });
  }

  void close() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<response> answer_;
  server::impl& owner_;
  bool waiting_ = false;
  bool refused_ = false;
  std::array<char, 4096> scratch_;
};

} // namespace

result<uint16_t, std::string> server::impl::start() {
  error_code ec;
  auto address = net::ip::make_address(options_.host, ec);
  if (ec)
    return "listen address '" + options_.host +
           "' is not an IP address: " + ec.message();
  tcp::endpoint at{address, options_.port};
  acceptor_.open(at.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(at, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return "cannot listen on " + options_.host + ":" +
           std::to_string(options_.port) + ": " + ec.message();
  port_ = acceptor_.local_endpoint().port();
  do_accept();
  for (size_t i = 0; i < std::max<size_t>(1, options_.threads); ++i)
    threads_.emplace_back([this] { ioc_.run(); });
  started_ = true;
  return port_;
}

void server::impl::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&impl::on_accept, this));
}

void server::impl::on_accept(error_code ec, tcp::socket socket) {
  if (!acceptor_.is_open()) return;
  if (!ec) {
    auto s = std::make_shared<session>(std::move(socket), *this);
    enter(s);
    s->run();
  }
  do_accept();
}

void server::impl::enter(const std::shared_ptr<session>& s) {
  std::lock_guard lk{sessions_mu_};
  sessions_.remove_if([](const auto& w) { return w.expired(); });
  sessions_.push_back(s);
}

void server::impl::stop() {
  if (!started_ || stopping_.exchange(true)) return;
  net::post(acceptor_.get_executor(), [this] {
    error_code ec;
    acceptor_.close(ec);
  });
  {
    std::lock_guard lk{sessions_mu_};
    for (auto& w : sessions_)
      if (auto s = w.lock()) s->stop();
  }
  // Returns once the acceptor and every session are done: nothing else keeps
  // the io_context running.
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

server::server(server_options options, service& handler)
  : impl_(std::make_unique<impl>(std::move(options), handler)) {}

server::~server() { stop(); }

result<uint16_t, std::string> server::start() { return impl_->start(); }

uint16_t server::port() const noexcept { return impl_->port(); }

void server::stop() { impl_->stop(); }

} // namespace herald::api
