#include "api/service.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "api_world.hpp"
#include "storage/keys.hpp"

namespace herald::api {
namespace {

namespace json = boost::json;

using test::admin;

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

TEST_F(Service, HealthAnswersAndReadinessWaitsForRecovery) {
  EXPECT_EQ(send(http::verb::get, "/healthz", {}, {}).result(),
            http::status::ok);
  svc->set_ready(false);
  EXPECT_EQ(send(http::verb::get, "/readyz", {}, {}).result(),
            http::status::service_unavailable);
  svc->set_ready(true);
  auto ready = send(http::verb::get, "/readyz", {}, {});
  EXPECT_EQ(ready.result(), http::status::ok);
  EXPECT_EQ(body(ready).at("ready"), true);
}

TEST_F(Service, CreatesAWorkspaceWithAKeyShownOnceAndKeepsItAcrossARestart) {
  auto made = create();
  std::string id{made.at("id").as_string()};
  EXPECT_TRUE(id.starts_with("ws_"));
  EXPECT_EQ(made.at("timezone"), "Europe/Berlin");
  std::string key{made.at("api_key").as_string()};
  EXPECT_TRUE(key.starts_with("hk_"));
  EXPECT_EQ(key.size(), 3u + 64u);
  auto got = send(http::verb::get, "/v1/workspaces/" + id);
  ASSERT_EQ(got.result(), http::status::ok);
  EXPECT_EQ(body(got).at("name"), "Acme");
  EXPECT_FALSE(body(got).contains("api_key"));
  // The key opens the workspace's routes (not built yet: 501, not 401).
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, key)
      .result(),
    http::status::not_implemented);
  open();
  EXPECT_EQ(send(http::verb::get, "/v1/workspaces/" + id).result(),
            http::status::ok);
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, key)
      .result(),
    http::status::not_implemented);
  // Stored hashed: the secret is nowhere in the database's keys family.
  bool secret_stored = false;
  ASSERT_TRUE(world.db->scan(
    storage::cf::keys, {}, {}, [&](std::string_view, std::string_view v) {
      secret_stored |= v.find(key.substr(3)) != std::string_view::npos;
      return true;
    }));
  EXPECT_FALSE(secret_stored);
}

TEST_F(Service, RejectsBadWorkspacesNamingTheFieldAndChangesNothing) {
  auto post = [&](std::string b) {
    return send(http::verb::post, "/v1/workspaces", std::move(b));
  };
  EXPECT_EQ(field_of(post(R"({"timezone":"Europe/Berlin"})")), "name");
  EXPECT_EQ(field_of(post(R"({"name":"","timezone":"Europe/Berlin"})")),
            "name");
  EXPECT_EQ(field_of(post(R"({"name":"A","timezone":"Mars/Olympus"})")),
            "timezone");
  EXPECT_EQ(field_of(post(R"({"name":"A","timezone":"UTC","colour":1})")),
            "colour");
  EXPECT_EQ(
    field_of(
      post(R"({"name":"A","timezone":"UTC","holidays":["2026-12-25","x"]})")),
    "holidays[1]");
  EXPECT_EQ(field_of(post(R"({"name":"A","timezone":"UTC","holidays":[
              "2026-02-30"]})")),
            "holidays[0]");
  EXPECT_EQ(field_of(post(std::string(R"({"name":")") + std::string(201, 'x') +
                          R"(","timezone":"UTC"})")),
            "name");
  auto broken = post(R"({"name":)");
  EXPECT_EQ(broken.result(), http::status::bad_request);
  EXPECT_EQ(body(broken).at("error").at("code"), "invalid_json");
  EXPECT_EQ(post("[1]").result(), http::status::bad_request);
  auto big = post(R"({"name":")" + std::string(5000, 'x') + R"("})");
  EXPECT_EQ(big.result(), http::status::payload_too_large);
  auto form = send(http::verb::post, "/v1/workspaces", "name=A", admin,
                   "application/x-www-form-urlencoded");
  EXPECT_EQ(form.result(), http::status::unsupported_media_type);
  auto list = send(http::verb::get, "/v1/workspaces");
  EXPECT_TRUE(body(list).at("items").as_array().empty());
}

TEST_F(Service, AdminRoutesNeedTheAdminTokenAndWorkspaceRoutesAKey) {
  auto made = create();
  std::string key{made.at("api_key").as_string()};
  auto no_token = send(http::verb::get, "/v1/workspaces", {}, {});
  EXPECT_EQ(no_token.result(), http::status::unauthorized);
  EXPECT_EQ(no_token[http::field::www_authenticate], "Bearer");
  EXPECT_EQ(
    send(http::verb::get, "/v1/workspaces", {}, "admin-token-x").result(),
    http::status::unauthorized);
  // A workspace key is not the admin token, nor the other way round.
  EXPECT_EQ(send(http::verb::get, "/v1/workspaces", {}, key).result(),
            http::status::unauthorized);
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, admin)
      .result(),
    http::status::unauthorized);
  auto forged = key;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats",
                 {}, forged)
              .result(),
            http::status::unauthorized);
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, key)
      .result(),
    http::status::not_implemented);
}

TEST_F(Service, RevokedKeysStopWorkingAndNewOnesStart) {
  auto made = create();
  std::string id{made.at("id").as_string()};
  std::string first{made.at("api_key").as_string()};
  std::string first_id{made.at("key_id").as_string()};
  auto second = send(http::verb::post, "/v1/workspaces/" + id + "/keys");
  ASSERT_EQ(second.result(), http::status::created);
  std::string key2{body(second).at("api_key").as_string()};
  EXPECT_NE(key2, first);
  auto gone =
    send(http::verb::delete_, "/v1/workspaces/" + id + "/keys/" + first_id);
  EXPECT_EQ(gone.result(), http::status::no_content);
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, first)
      .result(),
    http::status::unauthorized);
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, key2)
      .result(),
    http::status::not_implemented);
  open();
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, first)
      .result(),
    http::status::unauthorized);
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, key2)
      .result(),
    http::status::not_implemented);
  EXPECT_EQ(
    send(http::verb::delete_, "/v1/workspaces/" + id + "/keys/" + first_id)
      .result(),
    http::status::not_found);
  // Another workspace's key id answers 404 too.
  auto other = create("Other");
  std::string other_id{other.at("id").as_string()};
  std::string other_key{other.at("key_id").as_string()};
  EXPECT_EQ(
    send(http::verb::delete_, "/v1/workspaces/" + id + "/keys/" + other_key)
      .result(),
    http::status::not_found);
  EXPECT_EQ(
    send(http::verb::post, "/v1/workspaces/ws_00000000000000ff/keys").result(),
    http::status::not_found);
}

TEST_F(Service, ListsWorkspacesPageByPage) {
  for (auto name : {"W0", "W1", "W2", "W3", "W4"})
    create(name);
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (;;) {
    std::string target = "/v1/workspaces?limit=2";
    if (!cursor.empty()) target.append("&cursor=").append(cursor);
    auto res = send(http::verb::get, target);
    ASSERT_EQ(res.result(), http::status::ok) << res.body();
    auto b = body(res);
    for (const auto& w : b.at("items").as_array())
      seen.emplace_back(w.at("id").as_string());
    ++pages;
    if (b.at("next_cursor").is_null()) break;
    cursor = std::string{b.at("next_cursor").as_string()};
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(field_of(send(http::verb::get, "/v1/workspaces?limit=0")), "limit");
  EXPECT_EQ(field_of(send(http::verb::get, "/v1/workspaces?limit=1001")),
            "limit");
  EXPECT_EQ(field_of(send(http::verb::get, "/v1/workspaces?cursor=zz")),
            "cursor");
}

TEST_F(Service, UnknownPathsAre404WrongMethods405AndUnbuiltRoutes501) {
  auto missing = send(http::verb::get, "/v1/nothing");
  EXPECT_EQ(missing.result(), http::status::not_found);
  auto wrong = send(http::verb::put, "/v1/workspaces");
  EXPECT_EQ(wrong.result(), http::status::method_not_allowed);
  EXPECT_EQ(wrong[http::field::allow], "POST, GET");
  auto metrics = send(http::verb::get, "/metrics", {}, {});
  EXPECT_EQ(metrics.result(), http::status::not_implemented);
  EXPECT_NE(
    body(metrics).at("error").at("message").as_string().find("not built"),
    std::string::npos);
  EXPECT_EQ(
    send(http::verb::get, "/v1/workspaces/ws_00000000000000ff").result(),
    http::status::not_found);
  EXPECT_EQ(send(http::verb::get, "/v1/workspaces/not-an-id").result(),
            http::status::not_found);
}

TEST_F(Service, TheManualClockMovesForwardOnly) {
  auto moved =
    send(http::verb::post, "/v1/admin/clock", R"({"advance_s":3600})");
  ASSERT_EQ(moved.result(), http::status::ok) << moved.body();
  EXPECT_EQ(body(moved).at("now"), "2027-01-15T09:00:00.000Z");
  EXPECT_EQ(moves, 1);
  auto to = send(http::verb::post, "/v1/admin/clock",
                 R"({"to":"2027-01-16T09:00:00Z"})");
  ASSERT_EQ(to.result(), http::status::ok) << to.body();
  EXPECT_EQ(body(to).at("now"), "2027-01-16T09:00:00.000Z");
  EXPECT_EQ(field_of(send(http::verb::post, "/v1/admin/clock",
                          R"({"to":"2027-01-01T00:00:00Z"})")),
            "to");
  EXPECT_EQ(
    field_of(send(http::verb::post, "/v1/admin/clock", R"({"advance_s":-1})")),
    "advance_s");
  EXPECT_EQ(field_of(send(http::verb::post, "/v1/admin/clock",
                          R"({"advance_s":1,"to":"2028-01-01T00:00:00Z"})")),
            "to");
  EXPECT_EQ(field_of(send(http::verb::post, "/v1/admin/clock", "{}")),
            "advance_s");
  EXPECT_EQ(moves, 2);
  EXPECT_EQ(time.now(), from_ms(1'800'000'000'000) + std::chrono::hours{25});
  // With the system clock the route is absent.
  manual = nullptr;
  open();
  EXPECT_EQ(
    send(http::verb::post, "/v1/admin/clock", R"({"advance_s":1})").result(),
    http::status::not_found);
}

// -- sender accounts --------------------------------------------------------

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

TEST_F(Accounts, CreatesASimAccountAndKeepsItAcrossARestart) {
  auto a = make_account();
  std::string id{a.at("id").as_string()};
  EXPECT_TRUE(id.starts_with("acc_"));
  EXPECT_EQ(a.at("channel"), "email");
  EXPECT_EQ(a.at("status"), "active");
  EXPECT_EQ(a.at("provider").at("type"), "sim");
  EXPECT_EQ(a.at("limits").at("daily_cap"), 30);
  EXPECT_EQ(a.at("limits").at("spacing_s"), 90);
  EXPECT_EQ(a.at("limits").at("window").at("end"), "18:30");
  EXPECT_EQ(a.at("limits").at("warmup").at("ceiling"), 30);
  EXPECT_EQ(a.at("usage").at("emails"), 0);
  // The first day of the ramp allows its start.
  EXPECT_EQ(a.at("usage").at("email_allowance"), 5);
  EXPECT_TRUE(a.at("paused_until").is_null());
  open();
  auto got = account_call(http::verb::get, "/v1/accounts/" + id);
  ASSERT_EQ(got.result(), http::status::ok) << got.body();
  EXPECT_EQ(body(got).at("name"), "Anna's inbox");
  // Registered with the runtime again: its standing is there.
  EXPECT_TRUE(body(got).contains("usage"));
  auto list = account_call(http::verb::get, "/v1/accounts");
  ASSERT_EQ(list.result(), http::status::ok);
  EXPECT_EQ(body(list).at("items").as_array().size(), 1u);
}

TEST_F(Accounts, RejectsBadAccountsNamingTheFieldAndCreatesNothing) {
  auto post = [&](std::string b) {
    return account_call(http::verb::post, "/v1/accounts", std::move(b));
  };
  const std::string ok_head =
    R"({"name":"x","channel":"email","provider":{"type":"sim"})";
  EXPECT_EQ(field_of(post(R"({"channel":"email","provider":{"type":"sim"}})")),
            "name");
  EXPECT_EQ(
    field_of(post(R"({"name":"x","channel":"fax","provider":{"type":"sim"}})")),
    "channel");
  EXPECT_EQ(field_of(post(R"({"name":"x","channel":"email"})")), "provider");
  EXPECT_EQ(
    field_of(
      post(R"({"name":"x","channel":"email","provider":{"type":"pigeon"}})")),
    "provider.type");
  EXPECT_EQ(
    field_of(post(
      R"({"name":"x","channel":"email","provider":{"type":"sim","host":"a"}})")),
    "provider.host");
  EXPECT_EQ(field_of(post(ok_head + R"(,"limits":{"daily_cap":-1}})")),
            "limits.daily_cap");
  EXPECT_EQ(
    field_of(post(ok_head + R"(,"limits":{"window":{"start":"25:00"}}})")),
    "limits.window.start");
  EXPECT_EQ(
    field_of(post(ok_head +
                  R"(,"limits":{"window":{"start":"17:00","end":"17:00"}}})")),
    "limits.window.end");
  EXPECT_EQ(field_of(post(ok_head + R"(,"limits":{"warmup":{"speed":1}}})")),
            "limits.warmup.speed");
  EXPECT_EQ(field_of(post(ok_head + R"(,"limits":{"spacing_s":86401}})")),
            "limits.spacing_s");
  EXPECT_EQ(field_of(post(ok_head + R"(,"timezone":"Mars/Base"})")),
            "timezone");
  EXPECT_EQ(field_of(post(ok_head + R"(,"colour":"red"})")), "colour");
  auto smtp =
    post(R"({"name":"x","channel":"email","provider":{"type":"smtp"}})");
  EXPECT_EQ(smtp.result(), http::status::not_implemented);
  EXPECT_NE(smtp.body().find("smtp provider is not built"), std::string::npos);
  auto list = account_call(http::verb::get, "/v1/accounts");
  EXPECT_TRUE(body(list).at("items").as_array().empty());
}

TEST_F(Accounts, PauseResumeAndRevokeShowAtOnceAndSurviveARestart) {
  auto a = make_account();
  std::string id{a.at("id").as_string()};
  auto paused = account_call(http::verb::post, "/v1/accounts/" + id + "/pause");
  ASSERT_EQ(paused.result(), http::status::ok) << paused.body();
  EXPECT_EQ(body(paused).at("status"), "paused");
  EXPECT_EQ(
    body(account_call(http::verb::get, "/v1/accounts/" + id)).at("status"),
    "paused");
  open();
  EXPECT_EQ(
    body(account_call(http::verb::get, "/v1/accounts/" + id)).at("status"),
    "paused");
  auto resumed =
    account_call(http::verb::post, "/v1/accounts/" + id + "/resume");
  EXPECT_EQ(body(resumed).at("status"), "active");
  auto revoked =
    account_call(http::verb::post, "/v1/accounts/" + id + "/revoke");
  EXPECT_EQ(body(revoked).at("status"), "revoked");
  auto again = account_call(http::verb::post, "/v1/accounts/" + id + "/resume");
  EXPECT_EQ(again.result(), http::status::conflict);
  open();
  EXPECT_EQ(
    body(account_call(http::verb::get, "/v1/accounts/" + id)).at("status"),
    "revoked");
}

TEST_F(Accounts, AnotherWorkspacesAccountIsNotFoundOnEveryRoute) {
  auto a = make_account();
  std::string id{a.at("id").as_string()};
  make_account(key_b);
  for (auto [method, path] :
       std::initializer_list<std::pair<http::verb, std::string>>{
         {http::verb::get, "/v1/accounts/" + id},
         {http::verb::patch, "/v1/accounts/" + id},
         {http::verb::post, "/v1/accounts/" + id + "/pause"},
         {http::verb::post, "/v1/accounts/" + id + "/resume"},
         {http::verb::post, "/v1/accounts/" + id + "/revoke"}}) {
    auto res = account_call(method, path, R"({"name":"mine now"})", key_b);
    EXPECT_EQ(res.result(), http::status::not_found) << path;
  }
  // And exactly as an id that does not exist.
  auto missing = account_call(http::verb::get,
                              "/v1/accounts/acc_00000000000000ff", {}, key_b);
  auto other = account_call(http::verb::get, "/v1/accounts/" + id, {}, key_b);
  EXPECT_EQ(missing.body(), other.body());
  auto list_b = account_call(http::verb::get, "/v1/accounts", {}, key_b);
  ASSERT_EQ(body(list_b).at("items").as_array().size(), 1u);
  EXPECT_NE(body(list_b).at("items").at(0).at("id"), json::value(id));
  EXPECT_EQ(
    body(account_call(http::verb::get, "/v1/accounts/" + id)).at("status"),
    "active");
}

TEST_F(Accounts, PatchChangesTheNameAndSaysWhatItCannotChange) {
  auto a = make_account();
  std::string id{a.at("id").as_string()};
  auto renamed =
    account_call(http::verb::patch, "/v1/accounts/" + id, R"({"name":"Bo"})");
  ASSERT_EQ(renamed.result(), http::status::ok) << renamed.body();
  EXPECT_EQ(body(renamed).at("name"), "Bo");
  EXPECT_EQ(field_of(account_call(http::verb::patch, "/v1/accounts/" + id,
                                  R"({"channel":"linkedin"})")),
            "channel");
  EXPECT_EQ(account_call(http::verb::patch, "/v1/accounts/" + id,
                         R"({"limits":{"daily_cap":5}})")
              .result(),
            http::status::not_implemented);
  open();
  EXPECT_EQ(
    body(account_call(http::verb::get, "/v1/accounts/" + id)).at("name"), "Bo");
}

// -- sequences --------------------------------------------------------------

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

TEST_F(Sequences, CreatesADraftAndKeepsItAcrossARestart) {
  auto seq = make_sequence();
  std::string id{seq.at("id").as_string()};
  EXPECT_TRUE(id.starts_with("seq_"));
  EXPECT_EQ(seq.at("status"), "draft");
  ASSERT_EQ(seq.at("steps").as_array().size(), 2u);
  EXPECT_EQ(seq.at("steps").at(1).at("condition"), "no_reply");
  EXPECT_EQ(seq.at("steps").at(1).at("approved"), false);
  EXPECT_EQ(seq.at("schedule").at("day_ms"), 1000);
  EXPECT_EQ(seq.at("senders").at("email").at(0), json::value(email));
  open();
  auto got = account_call(http::verb::get, "/v1/sequences/" + id);
  ASSERT_EQ(got.result(), http::status::ok);
  EXPECT_EQ(body(got), seq);
  auto list = account_call(http::verb::get, "/v1/sequences");
  EXPECT_EQ(body(list).at("items").as_array().size(), 1u);
}

TEST_F(Sequences, RejectsBadSequencesNamingTheFieldAndCreatesNothing) {
  auto post = [&](std::string b) {
    return account_call(http::verb::post, "/v1/sequences", std::move(b));
  };
  auto with = [&](std::string from, std::string to) {
    auto b = two_steps();
    auto at = b.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return b.replace(at, from.size(), to);
  };
  EXPECT_EQ(field_of(post(with(R"("channel":"email")", R"("channel":"fax")"))),
            "steps[1].channel");
  EXPECT_EQ(field_of(post(two_steps(std::string(301, 'x')))),
            "steps[0].template.body");
  EXPECT_EQ(field_of(post(with(R"("delay_days":3)", R"("delay_days":400)"))),
            "steps[1].delay_days");
  EXPECT_EQ(
    field_of(post(with(R"("email":[")" + email, R"("email":[")" + linkedin))),
    "senders.email[0]");
  EXPECT_EQ(
    field_of(post(with(R"("mode":"relative")", R"("mode":"calendar")"))),
    "schedule.day_ms");
  EXPECT_EQ(field_of(post(with(R"("day_ms":1000)",
                               R"("day_ms":1000,"window":{"start":"9am"})"))),
            "schedule.window.start");
  EXPECT_EQ(field_of(post(with(R"("stop_on_colleague_reply":true)",
                               R"("stop_on_colleague_reply":"yes")"))),
            "stop_on_colleague_reply");
  EXPECT_EQ(field_of(post(
              with(R"("name":"Launch week")", R"("name":"x","owner":"me")"))),
            "owner");
  EXPECT_EQ(field_of(post(R"({"name":"x"})")), "steps");
  // Another workspace's account is not a sender here.
  auto other = body(account_call(http::verb::post, "/v1/accounts",
                                 R"({"name":"B","channel":"email",
                                     "provider":{"type":"sim"}})",
                                 key_b));
  std::string theirs{other.at("id").as_string()};
  EXPECT_EQ(
    field_of(post(with(R"("email":[")" + email, R"("email":[")" + theirs))),
    "senders.email[0]");
  auto list = account_call(http::verb::get, "/v1/sequences");
  EXPECT_TRUE(body(list).at("items").as_array().empty());
}

TEST_F(Sequences, LaunchWaitsForEveryStepsApprovalThenDraftsAreFrozen) {
  auto seq = make_sequence();
  std::string path = "/v1/sequences/" + std::string{seq.at("id").as_string()};
  auto review = body(account_call(http::verb::get, path + "/readiness"));
  EXPECT_EQ(review.at("ready"), false);
  auto refused = account_call(http::verb::post, path + "/launch");
  ASSERT_EQ(refused.result(), http::status::conflict) << refused.body();
  auto findings = body(refused).at("error").at("findings").as_array();
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings.at(0).at("severity"), "blocking");
  EXPECT_EQ(findings.at(0).at("code"), "step_not_approved");
  EXPECT_EQ(body(account_call(http::verb::get, path)).at("status"), "draft");
  for (auto n : {"1", "2"})
    ASSERT_EQ(account_call(http::verb::post, path + "/steps/" + n + "/approve")
                .result(),
              http::status::ok);
  EXPECT_EQ(account_call(http::verb::post, path + "/steps/3/approve").result(),
            http::status::not_found);
  auto ready = body(account_call(http::verb::get, path + "/readiness"));
  EXPECT_EQ(ready.at("ready"), true) << json::serialize(ready);
  auto launched = account_call(http::verb::post, path + "/launch");
  ASSERT_EQ(launched.result(), http::status::ok) << launched.body();
  EXPECT_EQ(body(launched).at("status"), "active");
  EXPECT_EQ(account_call(http::verb::patch, path, R"({"name":"y"})").result(),
            http::status::conflict);
  EXPECT_EQ(account_call(http::verb::post, path + "/launch").result(),
            http::status::conflict);
  EXPECT_EQ(body(account_call(http::verb::post, path + "/pause")).at("status"),
            "paused");
  open();
  EXPECT_EQ(body(account_call(http::verb::get, path)).at("status"), "paused");
  EXPECT_EQ(body(account_call(http::verb::post, path + "/resume")).at("status"),
            "active");
}

TEST_F(Sequences, AChangedStepNeedsApprovingAgain) {
  auto seq = make_sequence();
  std::string path = "/v1/sequences/" + std::string{seq.at("id").as_string()};
  account_call(http::verb::post, path + "/steps/1/approve");
  account_call(http::verb::post, path + "/steps/2/approve");
  auto b = two_steps();
  b.replace(b.find("Dear"), 4, "Hey");
  auto changed = account_call(http::verb::patch, path, b);
  ASSERT_EQ(changed.result(), http::status::ok) << changed.body();
  EXPECT_EQ(body(changed).at("steps").at(0).at("approved"), true);
  EXPECT_EQ(body(changed).at("steps").at(1).at("approved"), false);
  EXPECT_EQ(
    body(account_call(http::verb::get, path + "/readiness")).at("ready"),
    false);
}

TEST_F(Sequences, AnotherWorkspacesSequenceIsNotFoundOnEveryRoute) {
  auto seq = make_sequence();
  std::string path = "/v1/sequences/" + std::string{seq.at("id").as_string()};
  for (auto [method, p] :
       std::initializer_list<std::pair<http::verb, std::string>>{
         {http::verb::get, path},
         {http::verb::patch, path},
         {http::verb::post, path + "/steps/1/approve"},
         {http::verb::get, path + "/readiness"},
         {http::verb::post, path + "/launch"},
         {http::verb::post, path + "/pause"},
         {http::verb::post, path + "/resume"}}) {
    auto res = account_call(method, p, R"({"name":"mine"})", key_b);
    EXPECT_EQ(res.result(), http::status::not_found) << p;
  }
  EXPECT_TRUE(body(account_call(http::verb::get, "/v1/sequences", {}, key_b))
                .at("items")
                .as_array()
                .empty());
}

// -- leads ------------------------------------------------------------------

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

TEST_F(Leads, ImportsJsonAndNdjsonListingRejectedLinesAndSkippingDuplicates) {
  auto first = import(R"([
    {"external_id":"a1","email":"ann@acme.com","linkedin_url":"https://www.linkedin.com/in/ann","first_name":"Ann"},
    {"external_id":"b2","email":"not an address","linkedin_url":"https://www.linkedin.com/in/b"},
    {"external_id":"c3","linkedin_url":"https://www.linkedin.com/in/cy","fields":{"role":"CTO"}},
    {"email":"nobody@acme.com"},
    {"external_id":"a1","email":"ann@acme.com"}
  ])");
  ASSERT_EQ(first.result(), http::status::ok) << first.body();
  auto b = body(first);
  EXPECT_EQ(b.at("enrolled"), 2);
  EXPECT_EQ(b.at("duplicates"), 1);
  auto rejected = b.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected.at(0).at("index"), 1);
  EXPECT_EQ(rejected.at(0).at("error").at("field"), "email");
  EXPECT_EQ(rejected.at(1).at("index"), 3);
  EXPECT_EQ(rejected.at(1).at("error").at("field"), "external_id");
  // NDJSON: a broken line is rejected with its index, the rest goes on; a
  // lead imported before is a duplicate.
  auto lines = import("{\"external_id\":\"d4\",\"email\":\"dee@beta.io\"}\n"
                      "{\"external_id\":\n"
                      "\n"
                      "{\"external_id\":\"a1\",\"email\":\"ann@acme.com\"}\n"
                      "{\"external_id\":\"e5\",\"email\":\"eve@beta.io\","
                      "\"timezone\":\"Mars/Base\"}\n",
                      "application/x-ndjson");
  ASSERT_EQ(lines.result(), http::status::ok) << lines.body();
  auto l = body(lines);
  EXPECT_EQ(l.at("enrolled"), 1);
  EXPECT_EQ(l.at("duplicates"), 1);
  ASSERT_EQ(l.at("rejected").as_array().size(), 2u);
  EXPECT_EQ(l.at("rejected").at(0).at("index"), 1);
  EXPECT_EQ(l.at("rejected").at(0).at("error").at("code"), "invalid_json");
  EXPECT_EQ(l.at("rejected").at(1).at("index"), 4);
  EXPECT_EQ(l.at("rejected").at(1).at("error").at("field"), "timezone");
  // After a restart the same leads are still duplicates.
  open();
  auto again = import(R"([{"external_id":"a1","email":"ann@acme.com"},
                          {"external_id":"d4","email":"dee@beta.io"}])");
  EXPECT_EQ(body(again).at("enrolled"), 0);
  EXPECT_EQ(body(again).at("duplicates"), 2);
}

TEST_F(Leads, RefusesDraftsOtherWorkspacesAndWrongBodies) {
  EXPECT_EQ(import("leads", "text/csv").result(),
            http::status::unsupported_media_type);
  EXPECT_EQ(import(R"({"external_id":"x"})").result(),
            http::status::bad_request);
  EXPECT_EQ(import(R"([{"external_id":"x","email":"x@y.io"}])",
                   "application/json", key_b)
              .result(),
            http::status::not_found);
  auto draft = make_sequence();
  path = "/v1/sequences/" + std::string{draft.at("id").as_string()};
  EXPECT_EQ(import(R"([{"external_id":"x","email":"x@y.io"}])").result(),
            http::status::conflict);
}

TEST_F(Leads, EnrolledLeadsAreSentToAsTheManualClockMoves) {
  auto res = import(R"([
    {"external_id":"a1","email":"ann@acme.com","linkedin_url":"https://www.linkedin.com/in/ann","first_name":"Ann"},
    {"external_id":"b2","email":"bob@acme.com","linkedin_url":"https://www.linkedin.com/in/bob","first_name":"Bob"}])");
  ASSERT_EQ(body(res).at("enrolled"), 2) << res.body();
  // Relative days of a second: the invite at once, the email three "days"
  // later.
  run_until(time.now() + std::chrono::hours{1});
  auto sent = world.sim.sent();
  ASSERT_EQ(sent.size(), 4u);
  size_t invites = 0, emails = 0;
  for (const auto& r : sent) {
    if (r.request.kind == step_channel::linkedin_invite) {
      ++invites;
      EXPECT_TRUE(r.request.body == "Hi Ann" || r.request.body == "Hi Bob")
        << r.request.body;
    } else {
      ++emails;
    }
  }
  EXPECT_EQ(invites, 2u);
  EXPECT_EQ(emails, 2u);
}

// -- events and the inbox ---------------------------------------------------

TEST_F(Leads, AReplyHaltsTheLeadAndItsColleaguesAndLandsInTheInbox) {
  auto res = import(R"([
    {"external_id":"ann","email":"ann@acme.com","linkedin_url":"https://www.linkedin.com/in/ann","first_name":"Ann"},
    {"external_id":"bob","email":"bob@acme.com","linkedin_url":"https://www.linkedin.com/in/bob","first_name":"Bob"},
    {"external_id":"cy","email":"cy@other.io","linkedin_url":"https://www.linkedin.com/in/cy","first_name":"Cy"}])");
  ASSERT_EQ(body(res).at("enrolled"), 3) << res.body();
  auto reply = account_call(http::verb::post, "/v1/events", R"({
    "event_id":"msg-1","type":"reply","external_id":"ann","channel":"email",
    "text":"Not interested, thanks"})");
  ASSERT_EQ(reply.result(), http::status::accepted) << reply.body();
  EXPECT_EQ(body(reply).at("duplicate"), false);
  EXPECT_EQ(body(reply).at("enrollments"), 1);
  // The same event again changes nothing.
  auto again = account_call(http::verb::post, "/v1/events", R"({
    "event_id":"msg-1","type":"reply","external_id":"ann"})");
  EXPECT_EQ(body(again).at("duplicate"), true);
  run_until(time.now() + std::chrono::hours{1});
  // Ann replied, Bob is her colleague (the sequence stops on that): only Cy
  // got the invite and the email.
  auto sent = world.sim.sent();
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& r : sent)
    EXPECT_TRUE(r.request.to.find("cy") != std::string::npos) << r.request.to;
  auto inbox = account_call(http::verb::get, "/v1/inbox");
  ASSERT_EQ(inbox.result(), http::status::ok) << inbox.body();
  auto items = body(inbox).at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items.at(0).at("text"), "Not interested, thanks");
  EXPECT_EQ(items.at(0).at("channel"), "email");
  // Another workspace sees nothing of it.
  EXPECT_TRUE(body(account_call(http::verb::get, "/v1/inbox", {}, key_b))
                .at("items")
                .as_array()
                .empty());
}

TEST_F(Leads, EventsNameTheirLeadOrAccountAndAreCheckedFirst) {
  import(
    R"([{"external_id":"ann","email":"ann@acme.com","linkedin_url":"https://www.linkedin.com/in/ann"}])");
  auto post = [&](std::string b, std::string_view key = {}) {
    return account_call(http::verb::post, "/v1/events", std::move(b), key);
  };
  EXPECT_EQ(field_of(post(R"({"type":"reply","external_id":"ann"})")),
            "event_id");
  EXPECT_EQ(
    field_of(post(R"({"event_id":"e","type":"fax","external_id":"ann"})")),
    "type");
  EXPECT_EQ(
    field_of(post(R"({"event_id":"e","type":"reply","external_id":"zed"})")),
    "external_id");
  EXPECT_EQ(field_of(post(
              R"({"event_id":"e","type":"reply","external_id":"ann"})", key_b)),
            "external_id");
  EXPECT_EQ(field_of(post(R"({"event_id":"e","type":"linkedin_warning"})")),
            "account");
  EXPECT_EQ(
    post(R"({"event_id":"e","type":"reply","email":"ann@acme.com"})").result(),
    http::status::not_implemented);
  EXPECT_EQ(
    field_of(post(
      R"({"event_id":"e","type":"reply","external_id":"ann","mood":"grumpy"})")),
    "mood");
  auto warned =
    post(R"({"event_id":"w1","type":"linkedin_warning","account":")" +
         linkedin + R"("})");
  ASSERT_EQ(warned.result(), http::status::accepted) << warned.body();
  EXPECT_EQ(body(account_call(http::verb::get, "/v1/accounts/" + linkedin))
              .at("status"),
            "warned");
}

// -- a lead's view and the preview ------------------------------------------

TEST_F(Leads, ALeadShowsItsEnrollmentsAndHistoryAndPreviewsItsMessages) {
  import(
    R"([{"external_id":"ann","email":"ann@acme.com","linkedin_url":"https://www.linkedin.com/in/ann","first_name":"Ann"},
             {"external_id":"nameless","email":"x@acme.com","linkedin_url":"https://www.linkedin.com/in/x"}])");
  auto id_of = [&](std::string ext) {
    auto got = world.db->get(
      storage::cf::leads,
      storage::key::lead_external(*parse_id<workspace_id>(ws_a), ext));
    return got && *got ? **got : std::string{};
  };
  auto ann = id_of("ann");
  ASSERT_TRUE(ann.starts_with("lead_")) << ann;
  auto preview =
    account_call(http::verb::get, path + "/preview?lead=" + ann + "&step=2");
  ASSERT_EQ(preview.result(), http::status::ok) << preview.body();
  EXPECT_EQ(body(preview).at("subject"), "Hello Ann");
  EXPECT_TRUE(body(preview).at("missing_fields").as_array().empty());
  auto gap = body(account_call(
    http::verb::get, path + "/preview?lead=" + id_of("nameless") + "&step=1"));
  EXPECT_EQ(gap.at("body"), "Hi ");
  EXPECT_EQ(gap.at("missing_fields").at(0), "first_name");
  EXPECT_EQ(field_of(account_call(http::verb::get,
                                  path + "/preview?lead=" + ann + "&step=3")),
            "step");
  EXPECT_EQ(field_of(account_call(http::verb::get, path + "/preview?step=1")),
            "lead");
  EXPECT_EQ(account_call(http::verb::get,
                         path + "/preview?lead=" + ann + "&step=1", {}, key_b)
              .result(),
            http::status::not_found);

  run_until(time.now() + std::chrono::hours{1});
  auto view = account_call(http::verb::get, "/v1/leads/" + ann);
  ASSERT_EQ(view.result(), http::status::ok) << view.body();
  auto v = body(view);
  EXPECT_EQ(v.at("external_id"), "ann");
  ASSERT_EQ(v.at("enrollments").as_array().size(), 1u);
  EXPECT_EQ(v.at("enrollments").at(0).at("state"), "completed");
  EXPECT_EQ(v.at("enrollments").at(0).at("sequence"), json::value(id));
  size_t sends = 0;
  for (const auto& h : v.at("history").as_array())
    if (h.at("event") == "sent") {
      ++sends;
      EXPECT_TRUE(h.as_object().contains("account"));
    }
  EXPECT_EQ(sends, 2u);
  EXPECT_EQ(
    account_call(http::verb::get, "/v1/leads/" + ann, {}, key_b).result(),
    http::status::not_found);
}

TEST_F(Leads, PausingTheSequencePausesItsEnrollmentsUntilItResumes) {
  import(
    R"([{"external_id":"ann","email":"ann@acme.com","linkedin_url":"https://www.linkedin.com/in/ann","first_name":"Ann"}])");
  ASSERT_EQ(body(account_call(http::verb::post, path + "/pause")).at("status"),
            "paused");
  run_until(time.now() + std::chrono::hours{1});
  EXPECT_EQ(world.sim.count(), 0u);
  ASSERT_EQ(body(account_call(http::verb::post, path + "/resume")).at("status"),
            "active");
  run_until(time.now() + std::chrono::hours{1});
  EXPECT_EQ(world.sim.count(), 2u);
}

TEST_F(Leads, ListsTheSequencesEnrollmentsByStateAndStepPageByPage) {
  import(R"([
    {"external_id":"a","email":"a@acme.com","linkedin_url":"https://www.linkedin.com/in/a"},
    {"external_id":"b","email":"b@beta.io","linkedin_url":"https://www.linkedin.com/in/b"},
    {"external_id":"c","email":"c@gamma.io","linkedin_url":"https://www.linkedin.com/in/c"}])");
  account_call(http::verb::post, "/v1/events",
               R"({"event_id":"r","type":"reply","external_id":"a"})");
  std::vector<std::string> leads;
  std::string cursor;
  for (int pages = 0; pages < 5; ++pages) {
    std::string target = path + "/leads?limit=2";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    auto res = account_call(http::verb::get, target);
    ASSERT_EQ(res.result(), http::status::ok) << res.body();
    auto b = body(res);
    for (const auto& x : b.at("items").as_array())
      leads.emplace_back(x.at("lead").as_string());
    if (b.at("next_cursor").is_null()) break;
    cursor = std::string{b.at("next_cursor").as_string()};
  }
  EXPECT_EQ(leads.size(), 3u);
  EXPECT_TRUE(std::is_sorted(leads.begin(), leads.end()));
  auto replied =
    body(account_call(http::verb::get, path + "/leads?state=replied"));
  EXPECT_EQ(replied.at("items").as_array().size(), 1u);
  // Nothing has fired yet: all three are at step 1, two of them active.
  auto at_one = body(account_call(http::verb::get, path + "/leads?step=1"));
  EXPECT_EQ(at_one.at("items").as_array().size(), 3u);
  auto active =
    body(account_call(http::verb::get, path + "/leads?step=1&state=active"));
  EXPECT_EQ(active.at("items").as_array().size(), 2u);
  EXPECT_EQ(
    field_of(account_call(http::verb::get, path + "/leads?state=happy")),
    "state");
  EXPECT_EQ(field_of(account_call(http::verb::get, path + "/leads?step=9")),
            "step");
  EXPECT_EQ(account_call(http::verb::get, path + "/leads", {}, key_b).result(),
            http::status::not_found);
}

// -- do not contact -----------------------------------------------------------

TEST_F(Leads, UnsubscribesHaltTheLeadsTheyNameAndStopLaterImports) {
  import(R"([
    {"external_id":"ann","email":"ann@acme.com","linkedin_url":"https://www.linkedin.com/in/ann"},
    {"external_id":"bob","email":"bob@acme.com","linkedin_url":"https://www.linkedin.com/in/bob"},
    {"external_id":"cy","email":"cy@beta.io","linkedin_url":"https://www.linkedin.com/in/cy"}])");
  auto post = [&](std::string b, std::string_view key = {}) {
    return account_call(http::verb::post, "/v1/unsubscribes", std::move(b),
                        key);
  };
  auto ann = post(R"({"email":"Ann@Acme.com"})");
  ASSERT_EQ(ann.result(), http::status::created) << ann.body();
  EXPECT_EQ(body(ann).at("email"), "ann@acme.com");
  EXPECT_EQ(body(ann).at("enrollments"), 1);
  auto beta = post(R"({"domain":"beta.io"})");
  EXPECT_EQ(body(beta).at("enrollments"), 1);
  run_until(time.now() + std::chrono::hours{1});
  auto sent = world.sim.sent();
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& r : sent)
    EXPECT_NE(r.request.to.find("bob"), std::string::npos) << r.request.to;
  auto later = import(R"([{"external_id":"dee","email":"dee@beta.io"}])");
  EXPECT_EQ(body(later).at("enrolled"), 0);
  EXPECT_EQ(body(later).at("rejected").at(0).at("error").at("code"),
            "do_not_contact");
  auto list = body(account_call(http::verb::get, "/v1/unsubscribes"));
  EXPECT_EQ(list.at("items").as_array().size(), 2u);
  EXPECT_TRUE(body(account_call(http::verb::get, "/v1/unsubscribes", {}, key_b))
                .at("items")
                .as_array()
                .empty());
  EXPECT_EQ(field_of(post("{}")), "email");
  EXPECT_EQ(field_of(post(R"({"email":"a@b.io","domain":"b.io"})")), "domain");
  EXPECT_EQ(field_of(post(R"({"domain":"localhost"})")), "domain");
  EXPECT_EQ(field_of(post(R"({"email":"nobody"})")), "email");
}

} // namespace
} // namespace herald::api
