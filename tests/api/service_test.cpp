// The service's routing, auth, workspaces, keys and the manual clock.

#include "service_fixture.hpp"

namespace herald::api::test {
namespace {

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
  // The key opens the workspace's routes (no such sequence: 404, not 401).
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, key)
      .result(),
    http::status::not_found);
  open();
  EXPECT_EQ(send(http::verb::get, "/v1/workspaces/" + id).result(),
            http::status::ok);
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, key)
      .result(),
    http::status::not_found);
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
    http::status::not_found);
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
    http::status::not_found);
  open();
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, first)
      .result(),
    http::status::unauthorized);
  EXPECT_EQ(
    send(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", {}, key2)
      .result(),
    http::status::not_found);
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

TEST_F(Service, UnknownPathsAre404AndWrongMethods405) {
  auto missing = send(http::verb::get, "/v1/nothing");
  EXPECT_EQ(missing.result(), http::status::not_found);
  auto wrong = send(http::verb::put, "/v1/workspaces");
  EXPECT_EQ(wrong.result(), http::status::method_not_allowed);
  EXPECT_EQ(wrong[http::field::allow], "POST, GET");
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

} // namespace
} // namespace herald::api::test
