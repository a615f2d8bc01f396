#pragma once

// The fixtures of the service's tests, each building on the one before: a
// service on real storage and a deterministic runtime; two workspaces with an
// account each; a sequence; a launched sequence taking leads.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>

#include "api/service.hpp"
#include "api_world.hpp"
#include "storage/keys.hpp"

namespace herald::api::test {

namespace json = boost::json;

class Service : public ::testing::Test {
 protected:
  Service() : world("api-service", time) { open(); }

  // (Re)opens storage, the runtime and the service, as a restart would.
  void open() {
    world.open(manual, [this] { ++moves; });
    svc = world.svc.get();
  }

  response send(http::verb method, std::string target, std::string body = {},
                std::string_view token = admin,
                std::string content_type = "application/json") {
    request req{method, target, 11};
    if (!token.empty())
      req.set(http::field::authorization, "Bearer " + std::string{token});
    if (!body.empty() || method == http::verb::post) {
      req.set(http::field::content_type, content_type);
      req.body() = std::move(body);
    }
    req.prepare_payload();
    return svc->handle(req);
  }

  static json::object body(const response& res) {
    return json::parse(res.body()).as_object();
  }

  static std::string field_of(const response& res) {
    auto e = body(res).at("error").as_object();
    return e.contains("field") ? std::string{e.at("field").as_string()} : "";
  }

  json::object create(std::string name = "Acme",
                      std::string zone = "Europe/Berlin") {
    auto res =
      send(http::verb::post, "/v1/workspaces",
           json::serialize(json::object{{"name", name}, {"timezone", zone}}));
    EXPECT_EQ(res.result(), http::status::created) << res.body();
    return body(res);
  }

  manual_clock time{from_ms(1'800'000'000'000)};
  manual_clock* manual = &time;
  int moves = 0;
  test::api_world world;
  service* svc = nullptr;
};

class Accounts : public Service {
 protected:
  Accounts() {
    auto a = create("Agency A");
    ws_a = std::string{a.at("id").as_string()};
    key_a = std::string{a.at("api_key").as_string()};
    auto b = create("Agency B", "America/New_York");
    key_b = std::string{b.at("api_key").as_string()};
  }

  response account_call(http::verb method, std::string target,
                        std::string body = {}, std::string_view key = {}) {
    return send(method, std::move(target), std::move(body),
                key.empty() ? std::string_view{key_a} : key);
  }

  json::object make_account(std::string_view key = {}) {
    auto res = account_call(http::verb::post, "/v1/accounts", R"({
      "name": "Anna's inbox", "channel": "email", "provider": {"type": "sim"},
      "limits": {"daily_cap": 30, "spacing_s": 90, "jitter_s": 30,
                 "warmup": {"start": 5, "increment": 5, "ceiling": 30},
                 "window": {"start": "08:00", "end": "18:30"}}})",
                            key);
    EXPECT_EQ(res.result(), http::status::created) << res.body();
    return body(res);
  }

  std::string ws_a, key_a, key_b;
};

class Sequences : public Accounts {
 protected:
  Sequences() {
    email = std::string{make_account().at("id").as_string()};
    auto li = account_call(http::verb::post, "/v1/accounts",
                           R"({"name":"Li","channel":"linkedin",
                               "provider":{"type":"sim"}})");
    linkedin = std::string{body(li).at("id").as_string()};
  }

  std::string two_steps(std::string invite_note = "Hi {{first_name}}") {
    return R"({"name":"Launch week","steps":[
      {"channel":"linkedin_invite","delay_days":0,"template":{"body":")" +
           invite_note + R"("}},
      {"channel":"email","delay_days":3,"condition":"no_reply",
       "template":{"subject":"Hello {{first_name}}","body":"Dear {{first_name}}, ..."}}],
      "senders":{"email":[")" +
           email + R"("],"linkedin":[")" + linkedin + R"("]},
      "schedule":{"mode":"relative","day_ms":1000},
      "stop_on_colleague_reply":true})";
  }

  json::object make_sequence() {
    auto res = account_call(http::verb::post, "/v1/sequences", two_steps());
    EXPECT_EQ(res.result(), http::status::created) << res.body();
    return body(res);
  }

  std::string email, linkedin;
};

class Leads : public Sequences {
 protected:
  Leads() {
    auto seq = make_sequence();
    id = std::string{seq.at("id").as_string()};
    path = "/v1/sequences/" + id;
    account_call(http::verb::post, path + "/steps/1/approve");
    account_call(http::verb::post, path + "/steps/2/approve");
    auto launched = account_call(http::verb::post, path + "/launch");
    EXPECT_EQ(launched.result(), http::status::ok) << launched.body();
  }

  response import(std::string b, std::string type = "application/json",
                  std::string_view key = {}) {
    request req{http::verb::post, path + "/leads", 11};
    req.set(http::field::authorization,
            "Bearer " + std::string{key.empty() ? key_a : key});
    req.set(http::field::content_type, type);
    req.body() = std::move(b);
    req.prepare_payload();
    auto res = svc->handle(req);
    world.engine->settle();
    return res;
  }

  // Moves the manual clock through every due time up to `until`, running
  // what comes due.
  void run_until(time_point until) {
    world.engine->settle();
    while (auto next = world.engine->advance()) {
      if (*next > until) break;
      ASSERT_TRUE(time.set(std::max(*next, time.now())));
    }
  }

  std::string id, path;
};

} // namespace herald::api::test
