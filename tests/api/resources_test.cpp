// Sender accounts and sequences, with the review before launch.

#include <mutex>
#include <set>
#include <thread>

#include "load-tests/http.hpp"
#include "service_fixture.hpp"

namespace herald::api::test {
namespace {

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

TEST_F(Accounts, CreatesAWebhookAccountAndNeverShowsItsSecret) {
  auto res = account_call(http::verb::post, "/v1/accounts", R"({
    "name": "gw", "channel": "email",
    "provider": {"type": "webhook", "url": "http://127.0.0.1:9/send?x=1",
                 "secret": "hush-hush"},
    "limits": {"window": {"start": "00:00", "end": "24:00"}}})");
  ASSERT_EQ(res.result(), http::status::created) << res.body();
  EXPECT_EQ(res.body().find("hush-hush"), std::string::npos);
  auto a = body(res);
  std::string id{a.at("id").as_string()};
  EXPECT_EQ(a.at("provider").at("type"), "webhook");
  EXPECT_EQ(a.at("provider").at("url"), "http://127.0.0.1:9/send?x=1");
  EXPECT_EQ(a.at("provider").at("secret_set"), true);
  // All day: midnight to midnight.
  EXPECT_EQ(a.at("limits").at("window").at("start"), "00:00");
  EXPECT_EQ(a.at("limits").at("window").at("end"), "24:00");
  open();
  auto got = account_call(http::verb::get, "/v1/accounts/" + id);
  ASSERT_EQ(got.result(), http::status::ok);
  EXPECT_EQ(got.body().find("hush-hush"), std::string::npos);
  EXPECT_EQ(body(got).at("provider").at("url"), "http://127.0.0.1:9/send?x=1");
  EXPECT_EQ(body(got).at("limits").at("window").at("end"), "24:00");
  // The secret is stored (a restart gives the gateway its token again).
  auto stored = world.senders->find(parse_id<workspace_id>(ws_a).value(),
                                    parse_id<account_id>(id).value());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->provider.secret, "hush-hush");
}

TEST_F(Accounts, RejectsBadWebhookProvidersNamingTheField) {
  auto post = [&](std::string provider) {
    return account_call(http::verb::post, "/v1/accounts",
                        R"({"name":"x","channel":"email","provider":)" +
                          provider + "}");
  };
  EXPECT_EQ(field_of(post(R"({"type":"webhook"})")), "provider.url");
  EXPECT_EQ(field_of(post(R"({"type":"webhook","url":"https://gw.test/"})")),
            "provider.url");
  EXPECT_EQ(field_of(post(R"({"type":"webhook","url":7})")), "provider.url");
  EXPECT_EQ(field_of(post(R"({"type":"webhook","url":"http://gw.test",
                              "secret":5})")),
            "provider.secret");
  EXPECT_EQ(field_of(post(R"({"type":"webhook","url":"http://gw.test",
                              "host":"a"})")),
            "provider.host");
  EXPECT_EQ(field_of(post(R"({"type":"sim","url":"http://gw.test"})")),
            "provider.url");
  EXPECT_EQ(field_of(post(R"({"url":"http://gw.test"})")), "provider.type");
  auto https = post(R"({"type":"webhook","url":"https://gw.test/"})");
  EXPECT_NE(https.body().find("http://"), std::string::npos);
  auto list = account_call(http::verb::get, "/v1/accounts");
  EXPECT_TRUE(body(list).at("items").as_array().empty());
}

TEST_F(Sequences, AWebhookAccountSendsThroughItsGatewayAfterARestart) {
  std::mutex mu;
  std::vector<json::object> calls;
  load::gateway gw{[&](const load::gateway_call& c) {
    std::lock_guard lk{mu};
    calls.push_back(json::parse(c.body).as_object());
    return load::gateway_answer{};
  }};
  auto made = account_call(http::verb::post, "/v1/accounts",
                           R"({"name":"gw","channel":"email",
                               "provider":{"type":"webhook","url":")" +
                             gw.url() + R"("},
                               "limits":{"spacing_s":0,"jitter_s":0,
                                 "window":{"start":"00:00","end":"24:00"}}})");
  ASSERT_EQ(made.result(), http::status::created) << made.body();
  std::string account{body(made).at("id").as_string()};
  auto seq = account_call(http::verb::post, "/v1/sequences",
                          R"({"name":"One","steps":[
    {"channel":"email","delay_days":0,
     "template":{"subject":"Hi {{first_name}}","body":"Hello"}}],
    "senders":{"email":[")" +
                            account + R"("]},
    "schedule":{"mode":"relative","day_ms":1000}})");
  ASSERT_EQ(seq.result(), http::status::created) << seq.body();
  auto path = "/v1/sequences/" + std::string{body(seq).at("id").as_string()};
  account_call(http::verb::post, path + "/steps/1/approve");
  ASSERT_EQ(account_call(http::verb::post, path + "/launch").result(),
            http::status::ok);
  open(); // the account's gateway comes back from storage
  auto imported = account_call(
    http::verb::post, path + "/leads",
    R"([{"external_id":"a","email":"ann@a.test","first_name":"Ann"},
        {"external_id":"b","email":"bob@b.test","first_name":"Bob"}])");
  ASSERT_EQ(imported.result(), http::status::ok) << imported.body();
  // The gateway answers on the client's thread: waited for, in real time.
  auto sent = [&] {
    world.engine->settle();
    while (auto next = world.engine->advance()) {
      if (*next > time.now() + std::chrono::seconds{10}) break;
      EXPECT_TRUE(time.set(std::max(*next, time.now())));
    }
    auto stats = body(account_call(http::verb::get, path + "/stats"));
    return stats.at("steps").as_array()[0].at("sent").as_int64();
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (sent() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  EXPECT_EQ(sent(), 2);
  std::lock_guard lk{mu};
  ASSERT_EQ(calls.size(), 2u);
  std::set<std::string> subjects;
  for (const auto& c : calls) {
    EXPECT_EQ(c.at("account").as_string(), account);
    EXPECT_EQ(c.at("step"), 1);
    subjects.insert(std::string{c.at("subject").as_string()});
  }
  EXPECT_EQ(subjects, (std::set<std::string>{"Hi Ann", "Hi Bob"}));
  EXPECT_TRUE(world.sim.sent().empty()); // nothing went to the simulation
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

TEST_F(Accounts, PatchChangesTheNameAndLimitsAndNothingElse) {
  auto a = make_account();
  std::string id{a.at("id").as_string()};
  auto renamed =
    account_call(http::verb::patch, "/v1/accounts/" + id, R"({"name":"Bo"})");
  ASSERT_EQ(renamed.result(), http::status::ok) << renamed.body();
  EXPECT_EQ(body(renamed).at("name"), "Bo");
  EXPECT_EQ(field_of(account_call(http::verb::patch, "/v1/accounts/" + id,
                                  R"({"channel":"linkedin"})")),
            "channel");
  // Rejected as a whole: the name stays.
  EXPECT_EQ(
    field_of(account_call(http::verb::patch, "/v1/accounts/" + id,
                          R"({"name":"Cy","limits":{"daily_cap":-1}})")),
    "limits.daily_cap");
  auto limited = account_call(http::verb::patch, "/v1/accounts/" + id,
                              R"({"limits":{"daily_cap":5}})");
  ASSERT_EQ(limited.result(), http::status::ok) << limited.body();
  // Only the limit named changes.
  EXPECT_EQ(body(limited).at("limits").at("daily_cap"), 5);
  EXPECT_EQ(body(limited).at("limits").at("spacing_s"), 90);
  open();
  EXPECT_EQ(body(account_call(http::verb::get, "/v1/accounts/" + id))
              .at("limits")
              .at("daily_cap"),
            5);
  EXPECT_EQ(
    body(account_call(http::verb::get, "/v1/accounts/" + id)).at("name"), "Bo");
}

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
         {http::verb::get, path + "/stats"},
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

} // namespace
} // namespace herald::api::test
