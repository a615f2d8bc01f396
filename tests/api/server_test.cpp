#include "api/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "api_world.hpp"
#include "service_fixture.hpp"

namespace herald::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

// The real server on 127.0.0.1 (a port the OS picks), over the service.
class Server : public ::testing::Test {
 protected:
  Server() : world("api-server", time, 1024) { svc = world.svc.get(); }
  ~Server() override { http.reset(); }

  void start(server_options o = {}) {
    o.port = 0;
    o.max_body_bytes = 1024;
    o.max_header_bytes = 2048;
    if (o.read_timeout == std::chrono::milliseconds{30'000})
      o.read_timeout = std::chrono::seconds{5};
    http = std::make_unique<server>(o, *svc);
    auto port = http->start();
    ASSERT_TRUE(port.has_value()) << port.error();
  }

  tcp::socket connect() {
    tcp::socket s{ioc};
    s.connect({net::ip::make_address("127.0.0.1"), http->port()});
    return s;
  }

  static void send_raw(tcp::socket& s, std::string_view bytes) {
    net::write(s, net::buffer(bytes.data(), bytes.size()));
  }

  static http::response<http::string_body> receive(tcp::socket& s,
                                                   beast::flat_buffer& buf) {
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return res;
  }

  // True when the server closed the connection (EOF or reset).
  static bool closed(tcp::socket& s) {
    char c;
    beast::error_code ec;
    s.read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

  static std::string get(std::string_view path, bool keep_alive = true) {
    std::string r = "GET " + std::string{path} + " HTTP/1.1\r\nHost: t\r\n";
    if (!keep_alive) r += "Connection: close\r\n";
    return r + "\r\n";
  }

  net::io_context ioc;
  manual_clock time{from_ms(1'800'000'000'000)};
  test::api_world world;
  service* svc = nullptr;
  std::unique_ptr<server> http;
};

TEST_F(Server, AnswersSeveralRequestsOnOneKeptAliveConnection) {
  start();
  auto s = connect();
  beast::flat_buffer buf;
  for (int i = 0; i < 3; ++i) {
    send_raw(s, get("/healthz"));
    auto res = receive(s, buf);
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_TRUE(res.keep_alive());
  }
  send_raw(s, get("/readyz", false));
  auto last = receive(s, buf);
  EXPECT_EQ(last.result(), http::status::ok);
  EXPECT_FALSE(last.keep_alive());
  EXPECT_TRUE(closed(s));
}

// The answer's bytes on the wire: the start line in the request's version,
// the fields, an empty line, then exactly Content-Length bytes of body; an
// HTTP/1.0 client asking to keep the connection is told it is kept.
TEST_F(Server, WritesEachAnswerAsItsStartLineFieldsAndBody) {
  start();
  auto s = connect();
  send_raw(s, get("/healthz"));
  send_raw(s, "GET /v1/nothing HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  send_raw(s, "GET /readyz HTTP/1.0\r\n\r\n");
  std::string wire;
  beast::error_code ec;
  net::read(s, net::dynamic_buffer(wire), ec);
  EXPECT_EQ(ec, net::error::eof); // the HTTP/1.0 request not kept alive
  auto body = [](std::string_view json) {
    return "Content-Type: application/json\r\nContent-Length: " +
           std::to_string(json.size()) + "\r\n\r\n" + std::string{json};
  };
  std::string not_found =
    R"({"error":{"code":"not_found","message":"no such path: /v1/nothing"}})";
  EXPECT_EQ(wire, "HTTP/1.1 200 OK\r\nServer: herald\r\n" +
                    body(R"({"alive":true})") +
                    "HTTP/1.0 404 Not Found\r\nServer: herald\r\n"
                    "Connection: keep-alive\r\n" +
                    body(not_found) + "HTTP/1.0 200 OK\r\nServer: herald\r\n" +
                    body(R"({"ready":true})"));
}

TEST_F(Server, RefusesALargeBodyWith413AndALargeHeaderWith431) {
  start();
  auto s = connect();
  beast::flat_buffer buf;
  std::string body(4000, 'x');
  send_raw(s, "POST /v1/workspaces HTTP/1.1\r\nHost: t\r\nContent-Type: "
              "application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
  auto res = receive(s, buf);
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_NE(res.body().find("body_too_large"), std::string::npos);
  EXPECT_TRUE(closed(s));
  auto t = connect();
  beast::flat_buffer buf2;
  send_raw(t, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " +
                std::string(3000, 'y') + "\r\n\r\n");
  auto big = receive(t, buf2);
  EXPECT_EQ(big.result(), http::status::request_header_fields_too_large);
  // The server goes on serving.
  auto u = connect();
  beast::flat_buffer buf3;
  send_raw(u, get("/healthz"));
  EXPECT_EQ(receive(u, buf3).result(), http::status::ok);
}

// After a refusal the server reads what the peer still sends for a second
// at most, however it trickles in, then closes.
TEST_F(Server, DrainsARefusedBodyForASecondAtMost) {
  start();
  auto s = connect();
  send_raw(s, "POST /v1/workspaces HTTP/1.1\r\nHost: t\r\nContent-Type: "
              "application/json\r\nContent-Length: 100000\r\n\r\n" +
                std::string(100, 'x'));
  beast::flat_buffer buf;
  EXPECT_EQ(receive(s, buf).result(), http::status::payload_too_large);
  s.non_blocking(true);
  bool closed_by_server = false;
  auto began = std::chrono::steady_clock::now();
  while (!closed_by_server &&
         std::chrono::steady_clock::now() - began < std::chrono::seconds{4}) {
    // The server stopped sending at once (EOF here); it reads until it
    // closes, and a byte sent then is refused.
    beast::error_code ec;
    char c = 'x';
    s.write_some(net::buffer(&c, 1), ec);
    if (ec && ec != net::error::would_block) closed_by_server = true;
    std::array<char, 64> sink;
    s.read_some(net::buffer(sink), ec);
    if (ec == net::error::connection_reset) closed_by_server = true;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  EXPECT_TRUE(closed_by_server);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds{3});
}

TEST_F(Server, ClosesConnectionsThatSendGarbageOrNothing) {
  server_options o;
  o.read_timeout = std::chrono::milliseconds{200};
  start(o);
  auto garbage = connect();
  send_raw(garbage, "\x01\x02 not http at all\r\n\r\n");
  EXPECT_TRUE(closed(garbage));
  // Silent past the read timeout.
  auto silent = connect();
  EXPECT_TRUE(closed(silent));
  // Half a header, then silence.
  auto half = connect();
  send_raw(half, "GET /healthz HTTP/1.1\r\nHo");
  EXPECT_TRUE(closed(half));
  // A whole header, then half the body it announced.
  auto short_body = connect();
  send_raw(short_body, "POST /v1/workspaces HTTP/1.1\r\nHost: t\r\n"
                       "Content-Type: application/json\r\nContent-Length: "
                       "40\r\n\r\n{\"name\":");
  EXPECT_TRUE(closed(short_body));
  auto fine = connect();
  beast::flat_buffer buf;
  send_raw(fine, get("/healthz"));
  EXPECT_EQ(receive(fine, buf).result(), http::status::ok);
}

TEST_F(Server, StopClosesIdleConnectionsAndAnswersTheOneUnderWay) {
  start();
  auto idle = connect();
  beast::flat_buffer idle_buf;
  send_raw(idle, get("/healthz"));
  ASSERT_EQ(receive(idle, idle_buf).result(), http::status::ok);
  auto busy = connect();
  send_raw(busy, "GET /healthz HTTP/1.1\r\n");
  // Let the server read the first bytes of the busy one's request.
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  auto stopped = std::async(std::launch::async, [this] { http->stop(); });
  EXPECT_TRUE(closed(idle));
  send_raw(busy, "Host: t\r\n\r\n");
  beast::flat_buffer buf;
  auto res = receive(busy, buf);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds{10}),
            std::future_status::ready);
  // Nothing listens any more.
  tcp::socket late{ioc};
  beast::error_code ec;
  late.connect({net::ip::make_address("127.0.0.1"), http->port()}, ec);
  EXPECT_TRUE(ec);
}

TEST_F(Server, RefusesAnAddressItCannotListenOn) {
  server_options o;
  o.host = "not-an-address";
  server bad{o, *svc};
  auto r = bad.start();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("not-an-address"), std::string::npos);
  start();
  server_options same;
  same.port = http->port();
  server twice{same, *svc};
  auto again = twice.start();
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().find("cannot listen"), std::string::npos);
}

// An event is answered from the engine's completion, not by a thread
// waiting for it. Here the deterministic engine runs only when the test
// drives it, so the server's deadline answers first.
class ServedEvents : public test::Leads {
 protected:
  ~ServedEvents() override { http.reset(); }

  net::io_context ioc;
  std::unique_ptr<server> http;
};

TEST_F(ServedEvents, AnEventTheEngineDoesNotApplyInTimeAnswers503) {
  auto enrolled = import(
    R"([{"external_id":"ann","email":"ann@acme.com","first_name":"Ann"}])");
  ASSERT_EQ(body(enrolled).at("enrolled"), 1) << enrolled.body();
  server_options o;
  o.port = 0;
  o.answer_within = std::chrono::milliseconds{200};
  http = std::make_unique<server>(o, *svc);
  ASSERT_TRUE(http->start().has_value());
  tcp::socket s{ioc};
  s.connect({net::ip::make_address("127.0.0.1"), http->port()});
  std::string event = R"({"event_id":"m1","type":"reply","external_id":"ann"})";
  std::string raw = "POST /v1/events HTTP/1.1\r\nHost: t\r\n"
                    "Authorization: Bearer " +
                    key_a +
                    "\r\nContent-Type: application/json\r\n"
                    "Content-Length: " +
                    std::to_string(event.size()) + "\r\n\r\n" + event;
  net::write(s, net::buffer(raw));
  beast::flat_buffer buf;
  http::response<http::string_body> late;
  http::read(s, buf, late);
  ASSERT_EQ(late.result(), http::status::service_unavailable) << late.body();
  EXPECT_EQ(test::json::parse(late.body()).at("error").at("code"),
            "not_acknowledged");
  EXPECT_TRUE(late.keep_alive());
  // Driven now, the engine applies the event and answers: that answer is
  // dropped, and the connection serves the next request.
  world.engine->settle();
  net::write(
    s, net::buffer(std::string{"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"}));
  http::response<http::string_body> next;
  http::read(s, buf, next);
  EXPECT_EQ(next.result(), http::status::ok) << next.body();
  EXPECT_EQ(test::json::parse(next.body()).at("alive"), true);
  // The event took effect: sent again, it is a duplicate.
  auto again = account_call(http::verb::post, "/v1/events", event);
  EXPECT_EQ(body(again).at("duplicate"), true) << again.body();
}

} // namespace
} // namespace herald::api
