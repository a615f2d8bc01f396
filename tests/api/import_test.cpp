// Streamed NDJSON imports: the service fed a body in pieces cut anywhere, and
// the real server reading a large body piece by piece.

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/server.hpp"
#include "service_fixture.hpp"

namespace herald::api::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

// `n` NDJSON leads from `first` on; every tenth line broken (not JSON) and
// every tenth lead one before it again (a duplicate).
std::string leads(size_t first, size_t n) {
  std::string out;
  for (size_t i = first; i < first + n; ++i) {
    if (i % 10 == 3) {
      out += "{\"external_id\":\"broken\n";
      continue;
    }
    auto id = i % 10 == 7 ? i - 1 : i;
    out += "{\"external_id\":\"x" + std::to_string(id) + "\",\"email\":\"lead" +
           std::to_string(id) + "@acme.com\",\"first_name\":\"L\"}\r\n";
  }
  return out;
}

class Imports : public Leads {
 protected:
  // The head of an NDJSON import into the launched sequence.
  request head(std::string_view key = {}) {
    request req{http::verb::post, path + "/leads", 11};
    req.set(http::field::authorization,
            "Bearer " + std::string{key.empty() ? key_a : key});
    req.set(http::field::content_type, "application/x-ndjson");
    return req;
  }

  std::unique_ptr<lead_stream> open_stream() {
    auto opened = svc->open_import(head());
    auto* s = std::get_if<std::unique_ptr<lead_stream>>(&opened);
    EXPECT_TRUE(s != nullptr);
    return s ? std::move(*s) : nullptr;
  }

  // The real server over the service.
  void serve(size_t max_import_bytes = size_t{256} << 20) {
    server_options o;
    o.port = 0;
    o.max_body_bytes = 1024;
    o.max_import_bytes = max_import_bytes;
    o.read_timeout = std::chrono::seconds{5};
    http_server = std::make_unique<server>(o, *svc);
    ASSERT_TRUE(http_server->start().has_value());
  }

  tcp::socket connect() {
    tcp::socket s{ioc};
    s.connect({net::ip::make_address("127.0.0.1"), http_server->port()});
    return s;
  }

  void TearDown() override { http_server.reset(); }

  net::io_context ioc;
  std::unique_ptr<server> http_server;
};

TEST_F(Imports, AStreamCutAnywhereImportsAsTheWholeBodyWould) {
  auto text = leads(0, 40);
  auto whole = body(import(text, "application/x-ndjson"));
  EXPECT_EQ(whole.at("enrolled"), 32);
  EXPECT_EQ(whole.at("duplicates"), 4);
  EXPECT_EQ(whole.at("rejected").as_array().size(), 4u);
  EXPECT_EQ(whole.at("rejected").at(0).at("index"), 3);
  // The same leads again, one byte at a time: all duplicates, the same lines
  // rejected.
  auto s = open_stream();
  ASSERT_TRUE(s);
  for (char c : text)
    s->feed({&c, 1});
  auto res = s->finish();
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  auto again = body(res);
  EXPECT_EQ(again.at("enrolled"), 0);
  EXPECT_EQ(again.at("duplicates"), 36);
  EXPECT_EQ(again.at("rejected"), whole.at("rejected"));
  // New leads in pieces of seven bytes, the last line without its newline.
  auto more = leads(100, 20);
  more.resize(more.size() - 2);
  s = open_stream();
  for (size_t i = 0; i < more.size(); i += 7)
    s->feed(std::string_view{more}.substr(i, 7));
  auto third = body(s->finish());
  EXPECT_EQ(third.at("enrolled"), 16);
  EXPECT_EQ(third.at("rejected").at(1).at("index"), 13);
}

// Two imports at once, taking turns piece by piece, with leads in common and
// more batches than an import keeps in flight: each lead is enrolled once,
// by whichever import came to it first, and found a duplicate by the other
// and by a later line of its own import.
TEST_F(Imports, ImportsTakingTurnsEnrollEachLeadOnce) {
  auto clean = [](size_t first, size_t n) {
    std::string out;
    for (size_t i = first; i < first + n; ++i)
      out += "{\"external_id\":\"y" + std::to_string(i) + "\",\"email\":\"y" +
             std::to_string(i) + "@acme.com\"}\n";
    return out;
  };
  auto a = open_stream();
  auto b = open_stream();
  ASSERT_TRUE(a && b);
  // A: 0..5999, then 0..999 again. B, in turns of 500 leads with A: the
  // piece A just fed from 3000 on (before A's batch is written), else
  // 6000..8999.
  for (size_t i = 0; i < 6000; i += 500) {
    a->feed(clean(i, 500));
    b->feed(clean(i >= 3000 ? i : 6000 + i, 500));
  }
  a->feed(clean(0, 1000));
  auto first = body(a->finish());
  auto second = body(b->finish());
  EXPECT_EQ(first.at("enrolled"), 6000);
  EXPECT_EQ(first.at("duplicates"), 1000);
  EXPECT_EQ(second.at("enrolled"), 3000);
  EXPECT_EQ(second.at("duplicates"), 3000);
}

TEST_F(Imports, ALineLongerThanAMebibyteIsRejectedAndTheRestGoesOn) {
  auto s = open_stream();
  ASSERT_TRUE(s);
  s->feed("{\"external_id\":\"a\",\"email\":\"a@acme.com\"}\n");
  std::string filler(64 << 10, 'x');
  s->feed("{\"external_id\":\"");
  for (int i = 0; i < 17; ++i) // 1.06 MiB
    s->feed(filler);
  s->feed("\"}\n{\"external_id\":\"b\",\"email\":\"b@acme.com\"}\n");
  auto res = body(s->finish());
  EXPECT_EQ(res.at("enrolled"), 2);
  ASSERT_EQ(res.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(res.at("rejected").at(0).at("index"), 1);
  EXPECT_EQ(res.at("rejected").at(0).at("error").at("code"), "line_too_long");
}

TEST_F(Imports, OnlyAnAuthorizedImportIntoALaunchedSequenceOpens) {
  auto opened = svc->open_import(head("hk_nope"));
  ASSERT_TRUE(std::holds_alternative<response>(opened));
  EXPECT_EQ(std::get<response>(opened).result(), http::status::unauthorized);
  opened = svc->open_import(head(key_b));
  ASSERT_TRUE(std::holds_alternative<response>(opened));
  EXPECT_EQ(std::get<response>(opened).result(), http::status::not_found);
  // Another route, or JSON: read whole, then handled.
  auto json = head();
  json.set(http::field::content_type, "application/json");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(svc->open_import(json)));
  request event{http::verb::post, "/v1/events", 11};
  event.set(http::field::content_type, "application/x-ndjson");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(svc->open_import(event)));
}

// Through the real server: a body thousands of times the JSON body limit,
// sent chunked, then with a length after "Expect: 100-continue".
TEST_F(Imports, TheServerStreamsALargeImportPastTheBodyLimit) {
  serve();
  auto s = connect();
  beast::flat_buffer buf;
  http::request<http::string_body> req{http::verb::post, path + "/leads", 11};
  req.set(http::field::host, "t");
  req.set(http::field::authorization, "Bearer " + key_a);
  req.set(http::field::content_type, "application/x-ndjson");
  req.body() = leads(0, 20'000);
  ASSERT_GT(req.body().size(), 1'000'000u);
  req.chunked(true);
  http::write(s, req);
  http::response<http::string_body> res;
  http::read(s, buf, res);
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  auto b = body(res);
  EXPECT_EQ(b.at("enrolled"), 16'000);
  EXPECT_EQ(b.at("duplicates"), 2'000);
  EXPECT_EQ(b.at("rejected").as_array().size(), 1'000u);
  EXPECT_EQ(b.at("rejected_total"), 2'000);
  EXPECT_TRUE(res.keep_alive());
  world.engine->settle();
  // The connection goes on, now with a length and Expect: 100-continue.
  auto more = leads(20'000, 1'000);
  std::string raw = "POST " + path +
                    "/leads HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                    key_a +
                    "\r\nContent-Type: application/x-ndjson\r\n"
                    "Expect: 100-continue\r\nContent-Length: " +
                    std::to_string(more.size()) + "\r\n\r\n";
  net::write(s, net::buffer(raw));
  http::response_parser<http::empty_body> go_parser;
  http::read_header(s, buf, go_parser);
  EXPECT_EQ(go_parser.get().result(), http::status::continue_);
  net::write(s, net::buffer(more));
  http::response<http::string_body> second;
  http::read(s, buf, second);
  ASSERT_EQ(second.result(), http::status::ok) << second.body();
  EXPECT_EQ(body(second).at("enrolled"), 800);
  world.engine->settle();
  auto stats = body(account_call(http::verb::get, path + "/stats"));
  EXPECT_EQ(stats.at("states").at("active"), 16'800);
}

TEST_F(Imports, TheServerRefusesAnImportPastItsLimitOrWithoutAKey) {
  serve(64 << 10);
  // `n` leads on a new connection, with the key or without, with a length or
  // chunked: the answer.
  auto post = [&](size_t n, bool with_key, bool chunked) {
    auto s = connect();
    beast::flat_buffer buf;
    http::request<http::string_body> req{http::verb::post, path + "/leads", 11};
    if (with_key) req.set(http::field::authorization, "Bearer " + key_a);
    req.set(http::field::content_type, "application/x-ndjson");
    req.body() = leads(0, n);
    if (chunked)
      req.chunked(true);
    else
      req.prepare_payload();
    beast::error_code ec;
    http::write(s, req, ec); // the server may stop reading part way
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return res;
  };
  // Too long by its length: refused before any of it is read.
  EXPECT_EQ(post(2'000, true, false).result(), http::status::payload_too_large);
  EXPECT_EQ(body(account_call(http::verb::get, path + "/stats"))
              .at("states")
              .at("active"),
            0);
  // Without a key: 401 from the header alone.
  auto unauthorized = post(10, false, false);
  EXPECT_EQ(unauthorized.result(), http::status::unauthorized);
  EXPECT_FALSE(unauthorized.keep_alive());
  // Too long while chunked: 413 once past the limit.
  EXPECT_EQ(post(2'000, true, true).result(), http::status::payload_too_large);
}

} // namespace
} // namespace herald::api::test
