// Leads: imports, events, the inbox, a lead's view, the do-not-contact list.

#include <fstream>
#include <map>
#include <optional>
#include <regex>

#include "service_fixture.hpp"

namespace herald::api::test {
namespace {

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

TEST_F(Leads, AnAccountsNewLimitsApplyAtOnce) {
  auto emails = [&] {
    size_t n = 0;
    for (const auto& r : world.sim.sent())
      n += r.request.kind == step_channel::email;
    return n;
  };
  auto capped = account_call(http::verb::patch, "/v1/accounts/" + email,
                             R"({"limits":{"daily_cap":1}})");
  ASSERT_EQ(capped.result(), http::status::ok) << capped.body();
  import(R"([
    {"external_id":"a1","email":"ann@acme.com","first_name":"Ann"},
    {"external_id":"b2","email":"bob@bobs.io","first_name":"Bob"}])");
  // One email today: the second waits for tomorrow.
  run_until(time.now() + std::chrono::hours{1});
  EXPECT_EQ(emails(), 1u);
  auto raised = account_call(http::verb::patch, "/v1/accounts/" + email,
                             R"({"limits":{"daily_cap":10}})");
  ASSERT_EQ(raised.result(), http::status::ok) << raised.body();
  run_until(time.now() + std::chrono::hours{1});
  EXPECT_EQ(emails(), 2u);
  EXPECT_EQ(body(account_call(http::verb::get, "/v1/accounts/" + email))
              .at("usage")
              .at("emails"),
            2);
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

TEST_F(Leads, TheStatsCountLeadsAtEachStepAndInEachState) {
  auto stats = [&] {
    auto res = account_call(http::verb::get, path + "/stats");
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    return body(res);
  };
  auto s = stats();
  ASSERT_EQ(s.at("steps").as_array().size(), 2u);
  EXPECT_EQ(s.at("steps").at(0).at("step"), 1);
  EXPECT_EQ(s.at("steps").at(0).at("waiting"), 0);
  EXPECT_EQ(s.at("states").at("active"), 0);
  import(R"([
    {"external_id":"ann","email":"ann@acme.com","linkedin_url":"https://www.linkedin.com/in/ann","first_name":"Ann"},
    {"external_id":"bob","email":"bob@acme.com","linkedin_url":"https://www.linkedin.com/in/bob","first_name":"Bob"},
    {"external_id":"cy","email":"cy@other.io","linkedin_url":"https://www.linkedin.com/in/cy","first_name":"Cy"}])");
  s = stats();
  EXPECT_EQ(s.at("steps").at(0).at("waiting"), 3);
  EXPECT_EQ(s.at("states").at("active"), 3);
  account_call(http::verb::post, "/v1/events",
               R"({"event_id":"m1","type":"reply","external_id":"ann"})");
  run_until(time.now() + std::chrono::hours{1});
  // Ann replied and Bob is her colleague: only Cy went through both steps.
  auto want = json::parse(R"({"steps":[
    {"step":1,"waiting":0,"sent":1,"skipped":0},
    {"step":2,"waiting":0,"sent":1,"skipped":0}],
    "states":{"active":0,"replied":1,"completed":1,"bounced":0,
      "unsubscribed":0,"failed":0,"uncertain":0,"colleague_replied":1}})");
  EXPECT_EQ(json::value(stats()), want);
  // Rebuilt from storage by a restart; another workspace sees none of it.
  open();
  EXPECT_EQ(json::value(stats()), want);
  EXPECT_EQ(account_call(http::verb::get, path + "/stats", {}, key_b).result(),
            http::status::not_found);
}

// The value of the series `name` with exactly `labels` in Prometheus's text
// format; nullopt when there is none.
std::optional<double> metric(std::string_view text, std::string_view name,
                             std::map<std::string, std::string> labels = {}) {
  size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    auto line = text.substr(at, end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (line.empty() || line[0] == '#' || !line.starts_with(name)) continue;
    auto rest = line.substr(name.size());
    std::map<std::string, std::string> found;
    if (rest.starts_with('{')) {
      // key="value" pairs up to the closing brace (a value may hold one).
      rest.remove_prefix(1);
      while (!rest.empty() && rest[0] != '}') {
        auto eq = rest.find('=');
        auto value_end = rest.find('"', eq + 2);
        found[std::string{rest.substr(0, eq)}] =
          std::string{rest.substr(eq + 2, value_end - eq - 2)};
        rest.remove_prefix(value_end + 1);
        if (rest.starts_with(',')) rest.remove_prefix(1);
      }
      if (!rest.empty()) rest.remove_prefix(1);
    }
    if (!rest.starts_with(' ') || found != labels) continue;
    return std::stod(std::string{rest.substr(1)});
  }
  return std::nullopt;
}

TEST_F(Leads, MetricsCountWhatHappenedAndShowTheEnginesState) {
  import(R"([
    {"external_id":"ann","email":"ann@acme.com","linkedin_url":"https://www.linkedin.com/in/ann","first_name":"Ann"},
    {"external_id":"bob","email":"bob@acme.com","linkedin_url":"https://www.linkedin.com/in/bob","first_name":"Bob"},
    {"external_id":"cy","email":"cy@other.io","linkedin_url":"https://www.linkedin.com/in/cy","first_name":"Cy"}])");
  account_call(http::verb::post, "/v1/events",
               R"({"event_id":"m1","type":"reply","external_id":"ann"})");
  account_call(http::verb::post, "/v1/events",
               R"({"event_id":"m1","type":"reply","external_id":"ann"})");
  account_call(http::verb::post, "/v1/accounts/" + email + "/pause");
  run_until(time.now() + std::chrono::hours{1});
  auto res = send(http::verb::get, "/metrics", {}, {});
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(res[http::field::content_type].starts_with("text/plain"));
  const auto& text = res.body();
  auto at = [&](std::string_view name,
                std::map<std::string, std::string> labels = {}) {
    auto v = metric(text, name, std::move(labels));
    EXPECT_TRUE(v) << name << " is missing from\n" << text;
    return v.value_or(-1);
  };
  // Cy's invite went; the email account is paused, so Cy's email waits.
  EXPECT_EQ(at("herald_sends_total",
               {{"channel", "linkedin_invite"}, {"outcome", "sent"}}),
            1);
  EXPECT_EQ(
    at("herald_sends_total", {{"channel", "email"}, {"outcome", "sent"}}), 0);
  EXPECT_EQ(at("herald_lateness_seconds_count"), 1);
  EXPECT_EQ(at("herald_enrollments", {{"state", "replied"}}), 1);
  EXPECT_EQ(at("herald_enrollments", {{"state", "colleague_replied"}}), 1);
  EXPECT_EQ(at("herald_enrollments", {{"state", "active"}}), 1);
  EXPECT_EQ(at("herald_due_backlog"), 1);
  EXPECT_EQ(
    at("herald_events_total", {{"type", "reply"}, {"duplicate", "false"}}), 1);
  EXPECT_EQ(
    at("herald_events_total", {{"type", "reply"}, {"duplicate", "true"}}), 1);
  EXPECT_EQ(
    at("herald_account_status", {{"account", email}, {"status", "paused"}}), 1);
  EXPECT_EQ(
    at("herald_account_status", {{"account", linkedin}, {"status", "active"}}),
    1);
  EXPECT_EQ(at("herald_account_budget_used",
               {{"account", linkedin}, {"budget", "invites"}}),
            1);
  EXPECT_EQ(at("herald_http_requests_total",
               {{"route", "/v1/sequences/{}/leads"}, {"code", "200"}}),
            1);
  EXPECT_EQ(at("herald_http_requests_total",
               {{"route", "/v1/events"}, {"code", "202"}}),
            2);
  EXPECT_GE(
    at("herald_http_request_duration_seconds_count", {{"route", "/v1/events"}}),
    2);
  EXPECT_GT(at("herald_group_commit_round_sets_count"), 0);
  EXPECT_EQ(at("herald_build_info", {{"version", HERALD_VERSION}}), 1);
  EXPECT_GE(at("herald_recovery_duration_seconds"), 0);
  EXPECT_EQ(
    at("herald_enrollments_resident") + at("herald_enrollments_passive"), 3);
  // Every metric the Grafana dashboard reads is one herald exposes.
  std::ifstream in{HERALD_DASHBOARD};
  ASSERT_TRUE(in) << HERALD_DASHBOARD;
  std::string dashboard{std::istreambuf_iterator<char>{in}, {}};
  std::regex name{"herald_[a-z_]+"};
  size_t read = 0;
  for (std::sregex_iterator it{dashboard.begin(), dashboard.end(), name}, end;
       it != end; ++it) {
    auto m = it->str();
    for (std::string suffix : {"_bucket", "_count", "_sum"})
      if (m.ends_with(suffix)) m.resize(m.size() - suffix.size());
    EXPECT_NE(text.find("# TYPE " + m + " "), std::string::npos) << m;
    ++read;
  }
  EXPECT_GT(read, 15u);
  // No series per lead, enrollment or raw path.
  EXPECT_EQ(text.find("lead=\""), std::string::npos);
  EXPECT_EQ(text.find("enrollment=\""), std::string::npos);
  EXPECT_EQ(text.find(path), std::string::npos);
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
    field_of(post(R"({"event_id":"e","type":"reply","email":"zed@acme.com"})")),
    "email");
  EXPECT_EQ(
    field_of(
      post(R"({"event_id":"e","type":"reply","email":"ann@acme.com"})", key_b)),
    "email");
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

// A lead's external id's entry lists its enrollments in every sequence: an
// event naming the lead by external id reaches each, after a restart too.
TEST_F(Leads, AnEventNamingAnExternalIdReachesTheLeadInEverySequence) {
  const std::string lead = R"([{"external_id":"ann","email":"ann@acme.com"},
                               {"external_id":"bob","email":"bob@acme.com"}])";
  import(lead);
  const auto first = path;
  auto other = make_sequence();
  path = "/v1/sequences/" + std::string{other.at("id").as_string()};
  account_call(http::verb::post, path + "/steps/1/approve");
  account_call(http::verb::post, path + "/steps/2/approve");
  ASSERT_EQ(account_call(http::verb::post, path + "/launch").result(),
            http::status::ok);
  EXPECT_EQ(body(import(lead)).at("enrolled"), 2);
  open(); // read back from storage
  auto replied =
    account_call(http::verb::post, "/v1/events",
                 R"({"event_id":"r1","type":"reply","external_id":"ann"})");
  ASSERT_EQ(replied.result(), http::status::accepted) << replied.body();
  EXPECT_EQ(body(replied).at("enrollments"), 2);
  for (const auto& p : {first, path}) {
    auto stats = body(account_call(http::verb::get, p + "/stats"));
    EXPECT_EQ(stats.at("states").at("replied"), 1) << p;
  }
  // Imported a third time into the first: still a duplicate there.
  path = first;
  EXPECT_EQ(body(import(lead)).at("duplicates"), 2);
}

TEST_F(Leads, AnEventNamingAnEmailReachesEveryLeadWithThatAddress) {
  import(R"([
    {"external_id":"ann","email":"ann@acme.com","first_name":"Ann"},
    {"external_id":"ann-crm-2","email":"Ann@ACME.com","first_name":"Ann"},
    {"external_id":"cy","email":"cy@other.io","first_name":"Cy"}])");
  auto bounced = account_call(
    http::verb::post, "/v1/events",
    R"({"event_id":"b1","type":"bounce","email":" ANN@acme.com"})");
  ASSERT_EQ(bounced.result(), http::status::accepted) << bounced.body();
  EXPECT_EQ(body(bounced).at("enrollments"), 2);
  auto stats = body(account_call(http::verb::get, path + "/stats"));
  EXPECT_EQ(stats.at("states").at("bounced"), 2);
  EXPECT_EQ(stats.at("states").at("active"), 1);
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
    if (!got || !*got) return std::string{};
    auto x = storage::key::parse_lead_external(**got);
    return x ? to_string(x->lead) : std::string{};
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
  // After a restart the list still applies (read back from storage).
  open();
  auto again = import(R"([{"external_id":"dee2","email":"dee2@beta.io"}])");
  EXPECT_EQ(body(again).at("enrolled"), 0);
  EXPECT_EQ(body(again).at("rejected").at(0).at("error").at("code"),
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

// A workspace reads only its own list, whether it has one or not.
TEST_F(Leads, AnotherWorkspacesListBlocksNobodyHere) {
  auto post = [&](std::string b, std::string_view key = {}) {
    auto res =
      account_call(http::verb::post, "/v1/unsubscribes", std::move(b), key);
    EXPECT_EQ(res.result(), http::status::created) << res.body();
  };
  post(R"({"email":"ann@acme.com"})", key_b);
  post(R"({"domain":"beta.io"})", key_b);
  auto res = import(R"([{"external_id":"ann","email":"ann@acme.com"},
                        {"external_id":"cy","email":"cy@beta.io"}])");
  EXPECT_EQ(body(res).at("enrolled"), 2) << res.body();
  post(R"({"email":"zed@other.io"})");
  res = import(R"([{"external_id":"zed","email":"zed@other.io"},
                   {"external_id":"dee","email":"dee@beta.io"}])");
  EXPECT_EQ(body(res).at("enrolled"), 1) << res.body();
  EXPECT_EQ(body(res).at("rejected").at(0).at("error").at("code"),
            "do_not_contact");
}

// An import's leads are looked up in batches; what each line came to is
// listed in line order whatever refused it.
TEST_F(Leads, AnImportListsWhatRefusedEachLeadInLineOrder) {
  auto added = account_call(http::verb::post, "/v1/unsubscribes",
                            R"({"email":"ann@acme.com"})");
  ASSERT_EQ(added.result(), http::status::created) << added.body();
  added = account_call(http::verb::post, "/v1/unsubscribes",
                       R"({"domain":"beta.io"})");
  ASSERT_EQ(added.result(), http::status::created) << added.body();
  import(R"([{"external_id":"old","email":"old@acme.com"}])");
  auto res = import(R"([
    {"external_id":"ann","email":"ANN@acme.com"},
    {"external_id":"x","nickname":"unknown field"},
    {"external_id":"cy","email":"cy@Beta.io"},
    {"external_id":"old","email":"old@acme.com"},
    {"external_id":"li","linkedin_url":"https://www.linkedin.com/in/li"},
    {"external_id":"ann","email":"ann@acme.com"},
    {"external_id":"new","email":"new@acme.com"},
    {"external_id":"new","email":"new@acme.com"},
    {"email":"no-id@acme.com"}])");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  auto out = body(res);
  EXPECT_EQ(out.at("enrolled"), 2);   // li, new
  EXPECT_EQ(out.at("duplicates"), 2); // old (in the sequence), new again
  const auto& rejected = out.at("rejected").as_array();
  std::vector<std::pair<int64_t, std::string>> seen;
  for (const auto& r : rejected)
    seen.emplace_back(r.at("index").as_int64(),
                      std::string{r.at("error").at("code").as_string()});
  std::vector<std::pair<int64_t, std::string>> want{{0, "do_not_contact"},
                                                    {1, "invalid_field"},
                                                    {2, "do_not_contact"},
                                                    {5, "do_not_contact"},
                                                    {8, "invalid_field"}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(rejected.at(2).at("error").at("message"),
            "the lead is on the do-not-contact list (beta.io)");
}

} // namespace
} // namespace herald::api::test
