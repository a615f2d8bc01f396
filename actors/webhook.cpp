#include "actors/webhook.hpp"

#include <atomic>
#include <cctype>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace herald::actors {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Appends `s` as a JSON string.
void append_json(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void append_field(std::string& out, std::string_view name,
                  std::string_view value) {
  out += '"';
  out += name;
  out += "\":";
  append_json(out, value);
  out += ',';
}

void append_number(std::string& out, std::string_view name, int64_t value) {
  out += '"';
  out += name;
  out += "\":";
  out += std::to_string(value);
  out += ',';
}

// The JSON a gateway receives for `r` (steps counted from 1, as in the API).
std::string call_body(const send_request& r, const std::string& key) {
  std::string out;
  out.reserve(256 + r.to.size() + r.subject.size() + r.body.size());
  out += '{';
  append_field(out, "idempotency_key", key);
  append_field(out, "account", to_string(r.account));
  append_field(out, "channel", to_string(r.kind));
  append_field(out, "lead", to_string(r.lead));
  append_field(out, "enrollment", to_string(r.enrollment));
  append_number(out, "step", r.step + 1);
  append_number(out, "attempt", r.attempt);
  append_number(out, "due_unix_ms", to_ms(r.due));
  append_field(out, "to", r.to);
  append_field(out, "subject", r.subject);
  append_field(out, "body", r.body);
  out.back() = '}';
  return out;
}

// What a provider (an account) puts in each of its calls' requests.
struct route {
  std::string host;
  std::string target;
  /// "Bearer <secret>", or empty.
  std::string auth;
};

// One call on its way to a gateway.
struct call {
  std::shared_ptr<const route> to;
  std::string body;
  std::string key;
  std::function<void(send_report)> done;
  /// Repeats so far.
  int repeats = 0;
};

struct endpoint;

// One keep-alive connection to a gateway, carrying one call at a time.
struct connection : std::enable_shared_from_this<connection> {
  connection(net::io_context& io, endpoint& to) : stream(io), ep(to) {}

  void start(std::unique_ptr<call> c);
  void connected(beast::error_code ec);
  void written(beast::error_code ec);
  void answered(beast::error_code ec);
  // The call did not complete on this connection.
  void broken(bool maybe_sent, std::string what);

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  std::optional<http::response_parser<http::string_body>> parser;
  std::unique_ptr<call> job;
  endpoint& ep;
  /// Calls this connection completed: a failure on a used connection may be
  /// the gateway closing it while idle, and is tried again at once.
  uint64_t served = 0;
};

} // namespace

struct webhook_client::impl {
  explicit impl(webhook_options o) : options(o), work(io.get_executor()) {
    thread = std::thread{[this] { io.run(); }};
  }

  ~impl() {
    work.reset();
    io.stop();
    thread.join();
    // Calls still queued are dropped: the runtime that waited for them has
    // stopped before the client.
    endpoints.clear();
  }

  endpoint& find(const http_url& url);

  webhook_options options;
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::thread thread;
  std::mutex mu; // endpoints (gateway() runs on API threads)
  std::map<std::string, std::unique_ptr<endpoint>> endpoints;
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> repeats{0};
  std::atomic<uint64_t> connections{0};
};

namespace {

// A gateway's host and port: its queue and connections, touched only on the
// I/O thread.
struct endpoint {
  endpoint(webhook_client::impl& o, std::string h, std::string p)
    : owner(o), host(std::move(h)), port(std::move(p)) {}

  // Starts queued calls on idle connections, or on new ones up to the bound.
  void pump() {
    while (!queue.empty()) {
      std::shared_ptr<connection> c;
      if (!idle.empty()) {
        c = std::move(idle.back());
        idle.pop_back();
      } else if (open < owner.options.connections) {
        c = std::make_shared<connection>(owner.io, *this);
        ++open;
        owner.connections.fetch_add(1, std::memory_order_relaxed);
      } else {
        return;
      }
      auto job = std::move(queue.front());
      queue.pop_front();
      c->start(std::move(job));
    }
  }

  // The call ends with `outcome`.
  void finish(std::unique_ptr<call> c, send_outcome outcome,
              std::string detail) {
    c->done(send_report{outcome, std::move(detail)});
  }

  // The call is tried again after its backoff, or ends with `last` once its
  // repeats are spent.
  void repeat(std::unique_ptr<call> c, send_outcome last, std::string detail) {
    if (c->repeats >= owner.options.retries) {
      finish(std::move(c), last, std::move(detail));
      return;
    }
    auto wait = owner.options.backoff * (1 << (2 * c->repeats));
    ++c->repeats;
    owner.repeats.fetch_add(1, std::memory_order_relaxed);
    auto timer = std::make_shared<net::steady_timer>(owner.io, wait);
    auto held = std::make_shared<std::unique_ptr<call>>(std::move(c));
    timer->async_wait([this, timer, held](beast::error_code) {
      queue.push_front(std::move(*held));
      pump();
    });
  }

  webhook_client::impl& owner;
  std::string host;
  std::string port;
  tcp::resolver::results_type addresses;
  std::deque<std::unique_ptr<call>> queue;
  std::vector<std::shared_ptr<connection>> idle;
  size_t open = 0;
};

void connection::start(std::unique_ptr<call> c) {
  job = std::move(c);
  if (stream.socket().is_open()) {
    connected({});
    return;
  }
  served = 0;
  if (ep.addresses.empty()) {
    // Resolved on first use (a name, not an address, blocks this thread for
    // the lookup once).
    tcp::resolver resolver{ep.owner.io};
    beast::error_code ec;
    ep.addresses = resolver.resolve(ep.host, ep.port, ec);
    if (ec) {
      broken(false, "cannot resolve " + ep.host + ": " + ec.message());
      return;
    }
  }
  stream.expires_after(ep.owner.options.timeout);
  stream.async_connect(
    ep.addresses,
    [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      // A call is one small write: sent at once, not held for more.
      beast::error_code ignored;
      if (!ec) self->stream.socket().set_option(tcp::no_delay(true), ignored);
      self->connected(ec);
    });
}

void connection::connected(beast::error_code ec) {
  if (ec) {
    ep.addresses = {}; // looked up again next time
    broken(false, "cannot connect to " + ep.host + ":" + ep.port + ": " +
                    ec.message());
    return;
  }
  const auto& to = *job->to;
  req = {};
  req.method(http::verb::post);
  req.target(to.target);
  req.version(11);
  req.set(http::field::host, to.host);
  req.set(http::field::content_type, "application/json");
  if (!to.auth.empty()) req.set(http::field::authorization, to.auth);
  req.set("Idempotency-Key", job->key);
  req.keep_alive(true);
  req.body() = job->body; // kept: a repeat sends it again
  req.prepare_payload();
  stream.expires_after(ep.owner.options.timeout);
  http::async_write(stream, req,
                    [self = shared_from_this()](beast::error_code e, size_t) {
                      self->written(e);
                    });
}

void connection::written(beast::error_code ec) {
  if (ec) {
    broken(true, "writing to the gateway: " + ec.message());
    return;
  }
  parser.emplace();
  parser->body_limit(ep.owner.options.max_answer_bytes);
  http::async_read(stream, buffer, *parser,
                   [self = shared_from_this()](beast::error_code e, size_t) {
                     self->answered(e);
                   });
}

void connection::answered(beast::error_code ec) {
  if (ec) {
    broken(true, "reading the gateway's answer: " + ec.message());
    return;
  }
  auto res = parser->release();
  auto code = res.result_int();
  bool keep = res.keep_alive();
  ++served;
  auto c = std::move(job);
  auto detail = "HTTP " + std::to_string(code);
  auto self = shared_from_this();
  if (keep) {
    ep.idle.push_back(self);
  } else {
    beast::error_code ignored;
    stream.socket().close(ignored);
    --ep.open;
  }
  if (code >= 200 && code < 300)
    ep.finish(std::move(c), send_outcome::sent, std::move(detail));
  else if (code == 408 || code == 429 || code == 503)
    ep.repeat(std::move(c), send_outcome::deferred, std::move(detail));
  else if (code >= 500)
    ep.repeat(std::move(c), send_outcome::unknown, std::move(detail));
  else
    ep.finish(std::move(c), send_outcome::failed, std::move(detail));
  ep.pump();
}

void connection::broken(bool maybe_sent, std::string what) {
  beast::error_code ignored;
  stream.socket().close(ignored);
  buffer.clear();
  --ep.open;
  auto c = std::move(job);
  auto self = shared_from_this(); // alive until this returns
  if (maybe_sent && served > 0 && c->repeats == 0) {
    // Most likely the gateway closed this idle connection as the call left:
    // tried again at once on a new one, with the same key.
    ep.queue.push_front(std::move(c));
    ep.owner.repeats.fetch_add(1, std::memory_order_relaxed);
  } else {
    ep.repeat(std::move(c),
              maybe_sent ? send_outcome::unknown : send_outcome::deferred,
              std::move(what));
  }
  ep.pump();
}

// Posts each send to one gateway.
class webhook_provider final : public provider {
 public:
  webhook_provider(webhook_client::impl& owner, endpoint& to,
                   std::shared_ptr<const route> r)
    : owner_(owner), to_(to), route_(std::move(r)) {}

  void send(send_request r, std::function<void(send_report)> done) override {
    auto c = std::make_unique<call>();
    c->to = route_;
    c->key = r.idempotency_key();
    c->body = call_body(r, c->key);
    c->done = std::move(done);
    owner_.calls.fetch_add(1, std::memory_order_relaxed);
    net::post(owner_.io, [&to = to_, c = std::move(c)]() mutable {
      to.queue.push_back(std::move(c));
      to.pump();
    });
  }

  bool direct() const override { return true; }

 private:
  webhook_client::impl& owner_;
  // Connections are the endpoint's, shared by the accounts posting there:
  // each call carries its account's route.
  endpoint& to_;
  std::shared_ptr<const route> route_;
};

} // namespace

std::optional<http_url> parse_http_url(std::string_view url, std::string& why) {
  constexpr std::string_view scheme = "http://";
  if (url.size() > max_webhook_url_bytes) {
    why = "is longer than " + std::to_string(max_webhook_url_bytes) + " bytes";
    return std::nullopt;
  }
  if (url.substr(0, 8) == "https://") {
    why = "must be http:// (herald speaks plain HTTP to gateways; put a "
          "TLS-terminating proxy beside a remote one)";
    return std::nullopt;
  }
  if (url.substr(0, scheme.size()) != scheme) {
    why = "must start with http://";
    return std::nullopt;
  }
  auto rest = url.substr(scheme.size());
  auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  http_url out;
  out.target =
    slash == std::string_view::npos ? "/" : std::string{rest.substr(slash)};
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    why = "must not carry credentials (give the gateway's token as secret)";
    return std::nullopt;
  }
  auto colon = authority.rfind(':');
  auto host = authority.substr(0, colon);
  out.port = "80";
  if (colon != std::string_view::npos) {
    auto port = authority.substr(colon + 1);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc{} || end != port.data() + port.size() || n == 0 ||
        n > 65535) {
      why = "has a bad port";
      return std::nullopt;
    }
    out.port = std::to_string(n);
  }
  if (host.empty()) {
    why = "has no host";
    return std::nullopt;
  }
  for (char ch : host)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' ||
          ch == '-')) {
      why = "has a host that is not a name or an IPv4 address";
      return std::nullopt;
    }
  for (char ch : out.target)
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) {
      why = "has a space or control character in its path";
      return std::nullopt;
    }
  out.host = std::string{host};
  return out;
}

endpoint& webhook_client::impl::find(const http_url& url) {
  std::lock_guard lk{mu};
  auto& slot = endpoints[url.host + ":" + url.port];
  if (!slot) slot = std::make_unique<endpoint>(*this, url.host, url.port);
  return *slot;
}

webhook_client::webhook_client(webhook_options o)
  : impl_(std::make_unique<impl>(o)) {
  // nop
}

webhook_client::~webhook_client() = default;

std::shared_ptr<provider> webhook_client::gateway(const http_url& url,
                                                  std::string secret) {
  auto r = std::make_shared<route>();
  r->host = url.port == "80" ? url.host : url.host + ":" + url.port;
  r->target = url.target;
  if (!secret.empty()) r->auth = "Bearer " + secret;
  return std::make_shared<webhook_provider>(*impl_, impl_->find(url),
                                            std::move(r));
}

webhook_client::totals webhook_client::stats() const {
  return {impl_->calls.load(), impl_->repeats.load(),
          impl_->connections.load()};
}

std::shared_ptr<provider> provider_of(const provider_settings& p,
                                      webhook_client& hooks) {
  if (p.kind != provider_kind::webhook) return nullptr;
  std::string why;
  auto url = parse_http_url(p.url, why);
  if (!url) return nullptr;
  return hooks.gateway(*url, p.secret);
}

} // namespace herald::actors
