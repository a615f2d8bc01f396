#include "api/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace herald::api {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

// A streamed import's body is read and fed this much at a time: about
// 8,000 lines, so that writing one batch overlaps reading the next through
// most of it (the importer waits for its writes at the end of each piece).
constexpr size_t chunk_bytes = size_t{1} << 20;

namespace {

class session;

} // namespace

class server::impl {
 public:
  impl(server_options options, service& handler)
    : options_(std::move(options)), handler_(handler),
      pool_(
        make_pool(options_.threads > 0 ? options_.threads : default_threads())),
      // On the first thread only: an accept's completion (which starts the
      // next accept) and stop()'s close never run at once.
      acceptor_(pool_.front()->get_executor()) {}

  result<uint16_t, std::string> start();
  void stop();
  uint16_t port() const noexcept { return port_; }

  const server_options& options() const noexcept { return options_; }
  service& handler() noexcept { return handler_; }
  bool stopping() const noexcept { return stopping_.load(); }
  /// Where imports are fed: they wait for the engine's room and for their
  /// writes, which would stall every other connection of an HTTP thread.
  net::thread_pool::executor_type imports() noexcept {
    return imports_.get_executor();
  }

  /// Sessions register themselves, so that stop() can close the idle ones.
  void enter(const std::shared_ptr<session>& s);

  /// A thread's connections, whose deadlines (a read's, a write's, an
  /// answer's) it checks every few milliseconds: one timer per thread,
  /// instead of one armed and cancelled for every read, write and answer.
  struct sweep {
    explicit sweep(net::io_context& io) : timer(io) {}
    net::steady_timer timer;
    std::vector<std::weak_ptr<session>> sessions; // touched on its thread
  };
  /// How late a deadline may be noticed.
  std::chrono::milliseconds sweep_every() const {
    return std::clamp(
      std::min(options_.read_timeout, options_.answer_within) / 8,
      std::chrono::milliseconds{5}, std::chrono::milliseconds{250});
  }

 private:
  void do_accept();
  void on_accept(size_t at, error_code ec, tcp::socket socket);

  // One io_context per thread, each connection on one of them for its whole
  // life: its reads, handler and writes run on one thread, and no thread is
  // woken for another's work (with one shared io_context, every completion
  // could wake an idle thread: most of an import's CPU was threads switching).
  // A handler that waits blocks only its own thread's connections.
  using work_guard = net::executor_work_guard<net::io_context::executor_type>;
  // One per core: a handler never waits on them (imports are fed on their
  // own threads), and more threads than cores only switched more (events went
  // 7-9% faster with 2 threads than with 4 on two cores).
  static size_t default_threads() {
    return std::max<size_t>(2, std::thread::hardware_concurrency());
  }
  static std::vector<std::unique_ptr<net::io_context>> make_pool(size_t n) {
    std::vector<std::unique_ptr<net::io_context>> pool;
    for (size_t i = 0; i < n; ++i)
      pool.push_back(std::make_unique<net::io_context>(1));
    return pool;
  }
  void start_sweep(sweep& w);

  server_options options_;
  service& handler_;
  std::vector<std::unique_ptr<net::io_context>> pool_;
  std::vector<std::unique_ptr<sweep>> sweeps_; // one per thread of pool_
  std::vector<work_guard> busy_; // keeps each thread running until stop()
  size_t next_ = 0;              // the context the next connection gets
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::vector<std::thread> threads_;
  // Two imports are fed at once; more wait their turn.
  net::thread_pool imports_{2};
  std::mutex sessions_mu_;
  std::list<std::weak_ptr<session>> sessions_;
};

namespace {

// One connection: read a request, answer it, again while kept alive. Its
// handlers run on its io_context's one thread, one at a time.
class session : public std::enable_shared_from_this<session> {
 public:
  using clock = std::chrono::steady_clock;

  session(tcp::socket&& socket, server::impl& owner,
          net::io_context::executor_type io, server::impl::sweep& sweep)
    : stream_(std::move(socket)), io_(io), owner_(owner), sweep_(sweep) {}

  void run() {
    net::dispatch(io_, [self = shared_from_this()] {
      self->sweep_.sessions.push_back(self);
      self->do_read();
    });
  }

  /// From stop(): an idle connection closes now; a busy one after its answer.
  void stop() {
    net::dispatch(io_, [self = shared_from_this()] {
      if (self->waiting_ && self->head_ && !self->head_->got_some())
        self->close();
    });
  }

  /// From its thread's sweep: a read or write past its deadline closes the
  /// connection (the operation ends aborted); an answer the engine has not
  /// made in time is a 503.
  void check(clock::time_point now) {
    if (now >= io_deadline_) {
      io_deadline_ = clock::time_point::max();
      close();
    }
    if (awaiting_ && now >= answer_deadline_)
      answered(asked_,
               error_answer(awaited_version_, http::status::service_unavailable,
                            "not_acknowledged", not_acknowledged_message,
                            awaited_keep_));
  }

 private:
  // The header first: what it says decides how the body is read.
  void do_read() {
    if (owner_.stopping()) return close();
    head_.emplace();
    head_->header_limit(
      static_cast<uint32_t>(owner_.options().max_header_bytes));
    // Checked below, against the limit of the route's kind of body.
    head_->body_limit(boost::none);
    waiting_ = true;
    expires_after(owner_.options().read_timeout);
    http::async_read_header(
      stream_, buffer_, *head_,
      beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(error_code ec, size_t) {
    waiting_ = false;
    io_deadline_ = clock::time_point::max();
    if (ec == http::error::header_limit)
      return refuse(
        http::status::request_header_fields_too_large, "header_too_large",
        "the header is larger than " +
          std::to_string(owner_.options().max_header_bytes) + " bytes");
    // The peer closed, the read timed out, the bytes are not HTTP: nothing
    // to answer.
    if (ec) return close();
    const auto& h = head_->get();
    service::opened_import opened;
    if (h.method() == http::verb::post &&
        h[http::field::content_type].starts_with("application/x-ndjson"))
      opened = owner_.handler().open_import(request{h.base()});
    if (auto* refused = std::get_if<response>(&opened)) {
      // Answered from the header alone: the body is not read.
      refused->keep_alive(false);
      refused_ = true;
      return write(std::move(*refused));
    }
    if (auto* import = std::get_if<std::unique_ptr<lead_stream>>(&opened))
      import_ = std::move(*import);
    auto limit = import_ ? owner_.options().max_import_bytes
                         : owner_.options().max_body_bytes;
    if (auto length = head_->content_length(); length && *length > limit) {
      drop_import();
      return refuse_large(limit);
    }
    auto read_body = [this, limit] {
      if (import_) {
        streamed_.emplace(std::move(*head_));
        streamed_->body_limit(limit);
        chunk_.resize(chunk_bytes);
        return read_chunk();
      }
      parser_.emplace(std::move(*head_));
      parser_->body_limit(limit);
      expires_after(owner_.options().read_timeout);
      http::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_read, shared_from_this()));
    };
    // curl waits for this (a second at most) before sending a large body.
    if (beast::iequals(h[http::field::expect], "100-continue"))
      return go_on(std::move(read_body));
    read_body();
  }

  // Tells the peer to send the body, then reads it.
  void go_on(std::function<void()> next) {
    auto res = std::make_shared<http::response<http::empty_body>>(
      http::status::continue_, 11);
    expires_after(owner_.options().read_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res,
                       next = std::move(next)](error_code ec, size_t) {
                        self->io_deadline_ = clock::time_point::max();
                        if (ec) return self->close();
                        next();
                      });
  }

  void refuse_large(size_t limit) {
    refuse(http::status::payload_too_large, "body_too_large",
           "the body is larger than " + std::to_string(limit) + " bytes");
  }

  void on_read(error_code ec, size_t) {
    io_deadline_ = clock::time_point::max();
    if (ec == http::error::body_limit)
      return refuse_large(owner_.options().max_body_bytes);
    if (ec) return close();
    auto req = parser_->release();
    // The answer may come from another thread (an event's, once the engine
    // applied it): it is carried to this connection's thread, and the
    // tracked executor keeps that thread running until it is.
    const auto asked = ++asked_;
    awaiting_ = true;
    auto io = net::prefer(io_, net::execution::outstanding_work.tracked);
    try {
      owner_.handler().handle(
        req, [self = shared_from_this(), io, asked](response res) {
          if (io.running_in_this_thread())
            return self->answered(asked, std::move(res));
          net::post(io, [self, asked, res = std::move(res)]() mutable {
            self->answered(asked, std::move(res));
          });
        });
    } catch (const std::exception&) {
      answered(asked,
               error_answer(req.version(), http::status::internal_server_error,
                            "internal", "the request failed inside herald"));
    }
    if (!awaiting_) return;
    // Waiting for the engine: answered 503 if it takes too long (check();
    // the request may still take effect; the late answer is dropped).
    answer_deadline_ = clock::now() + owner_.options().answer_within;
    awaited_version_ = req.version();
    awaited_keep_ = req.keep_alive();
  }

  // The answer to request number `asked`: written if it is the one awaited.
  void answered(uint64_t asked, response res) {
    if (!awaiting_ || asked != asked_) return;
    awaiting_ = false;
    if (owner_.stopping()) res.keep_alive(false);
    write(std::move(res));
  }

  // A streamed import: each piece of the body goes to the service as it
  // comes.
  void read_chunk() {
    auto& body = streamed_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    expires_after(owner_.options().read_timeout);
    http::async_read(
      stream_, buffer_, *streamed_,
      beast::bind_front_handler(&session::on_chunk, shared_from_this()));
  }

  void on_chunk(error_code ec, size_t) {
    io_deadline_ = clock::time_point::max();
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::body_limit) {
      // What came before the limit stays imported (imports are idempotent).
      drop_import();
      return refuse(http::status::payload_too_large, "body_too_large",
                    "the import is larger than " +
                      std::to_string(owner_.options().max_import_bytes) +
                      " bytes: the lines before that point were imported; "
                      "send the rest in another request");
    }
    if (ec) {
      drop_import();
      return close();
    }
    auto got = chunk_.size() - streamed_->get().body().size;
    // Fed on an import thread, which hands the connection back to this one:
    // nothing else of the session runs meanwhile (no read is under way).
    auto io = net::prefer(io_, net::execution::outstanding_work.tracked);
    net::post(owner_.imports(), [self = shared_from_this(), io, got,
                                 last = streamed_->is_done(),
                                 version = streamed_->get().version()] {
      std::optional<response> res;
      try {
        if (got > 0) self->import_->feed({self->chunk_.data(), got});
        if (last) res = self->import_->finish();
      } catch (const std::exception&) {
        res = error_answer(version, http::status::internal_server_error,
                           "internal", "the request failed inside herald");
      }
      net::post(io, [self, res = std::move(res)]() mutable {
        if (!res) return self->read_chunk();
        self->drop_import();
        std::vector<char>{}.swap(self->chunk_);
        if (self->owner_.stopping()) res->keep_alive(false);
        self->write(std::move(*res));
      });
    });
  }

  static response error_answer(unsigned version, http::status status,
                               std::string_view code, std::string_view message,
                               bool keep_alive = false) {
    response res{status, version};
    res.set(http::field::server, "herald");
    res.set(http::field::content_type, "application/json");
    res.body() = boost::json::serialize(boost::json::object{
      {"error", boost::json::object{{"code", code}, {"message", message}}}});
    res.keep_alive(keep_alive);
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

  // The answer goes out as one buffer: its start line, its fields as the
  // handler set them (Content-Length among them) and its body. Beast's
  // serializer, generic over buffer sequences, cost a quarter of the CPU an
  // event's answer took outside the kernel.
  void write(response res) {
    const bool keep_alive = res.keep_alive();
    sending_.clear();
    sending_.append("HTTP/1.");
    sending_.push_back(res.version() == 10 ? '0' : '1');
    sending_.push_back(' ');
    sending_.append(std::to_string(res.result_int()));
    sending_.push_back(' ');
    sending_.append(res.reason());
    sending_.append("\r\n");
    for (const auto& field : res) {
      sending_.append(field.name_string());
      sending_.append(": ");
      sending_.append(field.value());
      sending_.append("\r\n");
    }
    sending_.append("\r\n");
    sending_.append(res.body());
    expires_after(owner_.options().read_timeout);
    net::async_write(stream_, net::buffer(sending_),
                     beast::bind_front_handler(&session::on_write,
                                               shared_from_this(), keep_alive));
  }

  void on_write(bool keep_alive, error_code ec, size_t) {
    io_deadline_ = clock::time_point::max();
    // A large answer's buffer is not kept for the next.
    if (sending_.capacity() > kept_answer_bytes) std::string{}.swap(sending_);
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
      stream_.shutdown(tcp::socket::shutdown_send, ec);
      expires_after(std::chrono::seconds{1});
    }
    // The second's deadline holds across every read of the drain.
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](error_code e, size_t) {
                              if (e) return self->close();
                              self->drain(false);
                            });
  }

  void close() {
    error_code ec;
    stream_.shutdown(tcp::socket::shutdown_send, ec);
    stream_.close(ec);
  }

  // An importer ends on the import threads: its destructor waits for its
  // turn and its writes, which another import may hold for a whole piece.
  void drop_import() {
    if (import_)
      net::post(owner_.imports(),
                [done = std::move(import_)]() mutable { done.reset(); });
  }

  // The next read or write must end within `d`.
  void expires_after(clock::duration d) { io_deadline_ = clock::now() + d; }

  tcp::socket stream_;
  net::io_context::executor_type io_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> head_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::buffer_body>> streamed_;
  std::unique_ptr<lead_stream> import_;
  std::vector<char> chunk_;
  std::string sending_; // the answer being written
  static constexpr size_t kept_answer_bytes = 16 << 10;
  server::impl& owner_;
  server::impl::sweep& sweep_;
  // When the read or write under way must have ended (none: max), and the
  // awaited answer (with its request's version and keep-alive).
  clock::time_point io_deadline_ = clock::time_point::max();
  clock::time_point answer_deadline_ = clock::time_point::max();
  unsigned awaited_version_ = 11;
  bool awaited_keep_ = false;
  bool waiting_ = false;
  bool refused_ = false;
  // Whether request number `asked_` waits for its answer.
  bool awaiting_ = false;
  uint64_t asked_ = 0;
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
  for (auto& ioc : pool_) {
    sweeps_.push_back(std::make_unique<sweep>(*ioc));
    start_sweep(*sweeps_.back());
  }
  do_accept();
  for (auto& ioc : pool_) {
    busy_.emplace_back(ioc->get_executor());
    threads_.emplace_back([&ioc = *ioc] { ioc.run(); });
  }
  started_ = true;
  return port_;
}

void server::impl::do_accept() {
  // Connections go to the threads in turn.
  auto at = next_++ % pool_.size();
  acceptor_.async_accept(pool_[at]->get_executor(),
                         [this, at](error_code ec, tcp::socket socket) {
                           on_accept(at, ec, std::move(socket));
                         });
}

void server::impl::on_accept(size_t at, error_code ec, tcp::socket socket) {
  if (!acceptor_.is_open()) return;
  if (!ec) {
    // The socket was accepted on the context it is to live on.
    auto s = std::make_shared<session>(std::move(socket), *this,
                                       pool_[at]->get_executor(), *sweeps_[at]);
    enter(s);
    s->run();
  }
  do_accept();
}

void server::impl::start_sweep(sweep& w) {
  // Stopping, often: the thread ends soon after its last connection.
  w.timer.expires_after(stopping() ? std::chrono::milliseconds{5}
                                   : sweep_every());
  w.timer.async_wait([this, &w](error_code ec) {
    // Cancelled by stop(): a sweep now. Stopping, it goes on while its
    // thread has connections (their deadlines still hold), then lets the
    // thread end.
    if (ec && !stopping()) return;
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(w.sessions, [&](const std::weak_ptr<session>& x) {
      auto s = x.lock();
      if (!s) return true;
      s->check(now);
      return false;
    });
    if (stopping() && w.sessions.empty()) return;
    start_sweep(w);
  });
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
  for (size_t i = 0; i < pool_.size(); ++i)
    net::post(*pool_[i], [w = sweeps_[i].get()] { w->timer.cancel(); });
  // Returns once the acceptor and every session are done: nothing else keeps
  // the threads running.
  busy_.clear();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  // Each import fed there held its connection's thread (tracked work) until
  // it handed the connection back: none is left.
  imports_.join();
}

server::server(server_options options, service& handler)
  : impl_(std::make_unique<impl>(std::move(options), handler)) {}

server::~server() { stop(); }

result<uint16_t, std::string> server::start() { return impl_->start(); }

uint16_t server::port() const noexcept { return impl_->port(); }

void server::stop() { impl_->stop(); }

} // namespace herald::api
