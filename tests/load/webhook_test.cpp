// The webhook provider against a real gateway on 127.0.0.1 (herald-load's):
// what a gateway receives, and how its answers become outcomes.

#include "actors/webhook.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "load-tests/http.hpp"

namespace herald::actors {
namespace {

using namespace std::chrono_literals;

send_request request_for(uint64_t e, uint16_t step = 1) {
  send_request r;
  r.enrollment = enrollment_id{e};
  r.lead = lead_id{100 + e};
  r.step = step;
  r.attempt = 2;
  r.account = account_id{7};
  r.kind = step_channel::email;
  r.to = "lead" + std::to_string(e) + "@example.test";
  r.subject = "Hi \"there\"";
  r.body = "Line one\nLine two";
  r.due = from_ms(1'700'000'000'000);
  return r;
}

// Outcomes by enrollment, waited for.
class outcomes {
 public:
  std::function<void(send_report)> for_call(uint64_t e) {
    return [this, e](send_report r) {
      std::lock_guard lk{mu_};
      got_[e].push_back(r);
      cv_.notify_all();
    };
  }
  // Waits (at most 10 s) until `n` calls have answered.
  bool wait(size_t n) {
    std::unique_lock lk{mu_};
    return cv_.wait_for(lk, 10s, [&] { return total() >= n; });
  }
  std::vector<send_report> of(uint64_t e) {
    std::lock_guard lk{mu_};
    return got_[e];
  }

 private:
  size_t total() const {
    size_t n = 0;
    for (const auto& [e, v] : got_)
      n += v.size();
    return n;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::vector<send_report>> got_;
};

struct recorded {
  std::mutex mu;
  std::vector<load::gateway_call> calls;
  void add(const load::gateway_call& c) {
    std::lock_guard lk{mu};
    calls.push_back(c);
  }
  size_t size() {
    std::lock_guard lk{mu};
    return calls.size();
  }
};

// A gateway that records every call and answers 200.
struct recording_gateway {
  recorded seen;
  load::gateway gw{[this](const load::gateway_call& c) {
    seen.add(c);
    return load::gateway_answer{};
  }};
};

http_url url_of(const load::gateway& g, std::string_view path = "/send") {
  std::string why;
  auto u = parse_http_url(g.url(path), why);
  EXPECT_TRUE(u) << why;
  return *u;
}

TEST(WebhookUrl, ParsesPlainHttpOnly) {
  std::string why;
  auto u = parse_http_url("http://gw.example.test:8080/v1/send?x=1", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "gw.example.test");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/v1/send?x=1");
  u = parse_http_url("http://10.0.0.1", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
  for (auto bad :
       {"https://gw.test/send", "ftp://gw.test", "http://", "http://:80/x",
        "http://gw.test:0/", "http://gw.test:99999/", "http://user:pw@gw.test/",
        "http://gw.test/a b", "http://gw_test/"}) {
    EXPECT_FALSE(parse_http_url(bad, why)) << bad;
    EXPECT_FALSE(why.empty());
  }
  EXPECT_FALSE(parse_http_url("http://gw.test/" + std::string(3000, 'a'), why));
}

TEST(Webhook, PostsEachSendAsJsonWithItsKeyOverKeptConnections) {
  recording_gateway g;
  auto& seen = g.seen;
  auto& gw = g.gw;
  webhook_options o;
  o.connections = 4;
  webhook_client client{o};
  auto p = client.gateway(url_of(gw, "/hook?src=herald"), "t0ken");
  ASSERT_TRUE(p->direct());
  outcomes out;
  constexpr uint64_t n = 500;
  for (uint64_t e = 1; e <= n; ++e)
    p->send(request_for(e), out.for_call(e));
  ASSERT_TRUE(out.wait(n));
  for (uint64_t e = 1; e <= n; ++e) {
    auto got = out.of(e);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].outcome, send_outcome::sent);
    EXPECT_EQ(got[0].detail, "HTTP 200");
  }
  ASSERT_EQ(seen.size(), n);
  // At most the bound of connections, each kept for many calls.
  EXPECT_LE(gw.connections(), 4u);
  EXPECT_EQ(client.stats().calls, n);
  EXPECT_EQ(client.stats().repeats, 0u);

  auto first = seen.calls[0];
  for (const auto& c : seen.calls)
    if (c.idempotency_key == "enr_0000000000000001:1:2") first = c;
  EXPECT_EQ(first.target, "/hook?src=herald");
  EXPECT_EQ(first.authorization, "Bearer t0ken");
  auto body = boost::json::parse(first.body).as_object();
  EXPECT_EQ(body.at("idempotency_key").as_string(), "enr_0000000000000001:1:2");
  EXPECT_EQ(body.at("account").as_string(), to_string(account_id{7}));
  EXPECT_EQ(body.at("lead").as_string(), to_string(lead_id{101}));
  EXPECT_EQ(body.at("enrollment").as_string(), to_string(enrollment_id{1}));
  EXPECT_EQ(body.at("channel").as_string(), "email");
  EXPECT_EQ(body.at("step").as_int64(), 2); // counted from 1
  EXPECT_EQ(body.at("attempt").as_int64(), 2);
  EXPECT_EQ(body.at("due_unix_ms").as_int64(), 1'700'000'000'000);
  EXPECT_EQ(body.at("to").as_string(), "lead1@example.test");
  EXPECT_EQ(body.at("subject").as_string(), "Hi \"there\"");
  EXPECT_EQ(body.at("body").as_string(), "Line one\nLine two");
}

TEST(Webhook, NoSecretSendsNoAuthorization) {
  recording_gateway g;
  auto& seen = g.seen;
  auto& gw = g.gw;
  webhook_client client;
  auto p = client.gateway(url_of(gw), "");
  outcomes out;
  p->send(request_for(1), out.for_call(1));
  ASSERT_TRUE(out.wait(1));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.calls[0].authorization, "");
}

TEST(Webhook, RepeatsWithTheSameKeyUntilTheGatewayTakesIt) {
  recorded seen;
  load::gateway gw{[&](const load::gateway_call& c) {
    seen.add(c);
    return load::gateway_answer{seen.size() <= 2 ? 503u : 202u};
  }};
  webhook_options o;
  o.backoff = 1ms;
  webhook_client client{o};
  auto p = client.gateway(url_of(gw), "");
  outcomes out;
  p->send(request_for(9), out.for_call(9));
  ASSERT_TRUE(out.wait(1));
  EXPECT_EQ(out.of(9)[0].outcome, send_outcome::sent);
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& c : seen.calls) {
    EXPECT_EQ(c.idempotency_key, "enr_0000000000000009:1:2");
    EXPECT_EQ(c.body, seen.calls[0].body); // the same call again, whole
  }
  EXPECT_FALSE(seen.calls[0].body.empty());
  EXPECT_EQ(client.stats().repeats, 2u);
}

TEST(Webhook, AnswersBecomeOutcomes) {
  // By the lead's number: the status the gateway answers with.
  std::map<std::string, unsigned> status{{"lead1@example.test", 429},
                                         {"lead2@example.test", 500},
                                         {"lead3@example.test", 400},
                                         {"lead4@example.test", 200}};
  std::mutex mu;
  std::map<unsigned, int> calls;
  load::gateway gw{[&](const load::gateway_call& c) {
    auto to = boost::json::parse(c.body).as_object().at("to").as_string();
    auto code = status.at(std::string{to});
    std::lock_guard lk{mu};
    ++calls[code];
    return load::gateway_answer{code};
  }};
  webhook_options o;
  o.backoff = 1ms;
  o.retries = 2;
  webhook_client client{o};
  auto p = client.gateway(url_of(gw), "");
  outcomes out;
  for (uint64_t e = 1; e <= 4; ++e)
    p->send(request_for(e), out.for_call(e));
  ASSERT_TRUE(out.wait(4));
  // 429: not taken, repeated, then deferred (a new attempt may go later).
  EXPECT_EQ(out.of(1)[0].outcome, send_outcome::deferred);
  // 500: in doubt, repeated, then unknown (never sent again under a new key).
  EXPECT_EQ(out.of(2)[0].outcome, send_outcome::unknown);
  EXPECT_EQ(out.of(2)[0].detail, "HTTP 500");
  // 400: refused for good, not repeated.
  EXPECT_EQ(out.of(3)[0].outcome, send_outcome::failed);
  EXPECT_EQ(out.of(4)[0].outcome, send_outcome::sent);
  std::lock_guard lk{mu};
  EXPECT_EQ(calls[429], 3);
  EXPECT_EQ(calls[500], 3);
  EXPECT_EQ(calls[400], 1);
  EXPECT_EQ(calls[200], 1);
}

TEST(Webhook, NoGatewayListeningIsDeferred) {
  uint16_t port = 0;
  {
    load::gateway gone{
      [](const load::gateway_call&) { return load::gateway_answer{}; }};
    port = gone.port();
  } // closed: nothing listens there now
  webhook_options o;
  o.backoff = 1ms;
  webhook_client client{o};
  std::string why;
  auto url = parse_http_url("http://127.0.0.1:" + std::to_string(port), why);
  ASSERT_TRUE(url);
  auto p = client.gateway(*url, "");
  outcomes out;
  p->send(request_for(1), out.for_call(1));
  ASSERT_TRUE(out.wait(1));
  EXPECT_EQ(out.of(1)[0].outcome, send_outcome::deferred);
  EXPECT_NE(out.of(1)[0].detail.find("cannot connect"), std::string::npos);
}

TEST(Webhook, ASlowGatewayIsInDoubt) {
  std::atomic<int> calls{0};
  load::gateway gw{[&](const load::gateway_call&) {
    ++calls;
    std::this_thread::sleep_for(300ms); // longer than the client waits
    return load::gateway_answer{};
  }};
  webhook_options o;
  o.timeout = 100ms;
  o.retries = 0;
  webhook_client client{o};
  auto p = client.gateway(url_of(gw), "");
  outcomes out;
  p->send(request_for(1), out.for_call(1));
  ASSERT_TRUE(out.wait(1));
  EXPECT_EQ(out.of(1)[0].outcome, send_outcome::unknown);
  EXPECT_EQ(calls.load(), 1);
}

TEST(Webhook, AGatewayClosingEachConnectionStillGetsEveryCall) {
  recorded seen;
  load::gateway gw{[&](const load::gateway_call& c) {
    seen.add(c);
    load::gateway_answer a;
    a.close = true;
    return a;
  }};
  webhook_options o;
  o.connections = 2;
  webhook_client client{o};
  auto p = client.gateway(url_of(gw), "");
  outcomes out;
  for (uint64_t e = 1; e <= 50; ++e)
    p->send(request_for(e), out.for_call(e));
  ASSERT_TRUE(out.wait(50));
  for (uint64_t e = 1; e <= 50; ++e)
    EXPECT_EQ(out.of(e)[0].outcome, send_outcome::sent);
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(gw.connections(), 50u);
}

TEST(AccountProviders, SendsThroughTheAccountsOwnProviderElseTheFallback) {
  sim_provider fallback;
  sim_provider own;
  account_providers delivery{fallback};
  auto mine = std::shared_ptr<provider>(&own, [](provider*) {});
  delivery.set(account_id{7}, mine);
  auto other = request_for(1);
  other.account = account_id{8};
  delivery.send(request_for(1), [](send_report) {});
  delivery.send(other, [](send_report) {});
  EXPECT_EQ(own.count(), 1u);
  EXPECT_EQ(fallback.count(), 1u);
  delivery.set(account_id{7}, nullptr);
  delivery.send(request_for(2), [](send_report) {});
  EXPECT_EQ(own.count(), 1u);
  EXPECT_EQ(fallback.count(), 2u);
}

TEST(SimProvider, CountsWithoutKeepingWhenAskedTo) {
  sim_provider::options o;
  o.keep = false;
  sim_provider p{o};
  for (int i = 0; i < 10; ++i)
    p.send(request_for(1), [](send_report) {});
  EXPECT_EQ(p.count(), 10u);
  EXPECT_TRUE(p.sent().empty());
}

} // namespace
} // namespace herald::actors
