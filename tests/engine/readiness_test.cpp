#include "engine/readiness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "time_helpers.hpp"

namespace herald {
namespace {

using namespace test;

constexpr account_id mail_a{1};
constexpr account_id linkedin_a{2};
constexpr account_id mail_b{3};
constexpr account_id mail_c{4};
constexpr account_id linkedin_b{5};

sender_account account(account_id id, channel kind, std::string name,
                       std::string zone = "Europe/Berlin") {
  sender_account a;
  a.id = id;
  a.name = std::move(name);
  a.kind = kind;
  a.timezone = std::move(zone);
  return a;
}

lead person(uint64_t id, std::string zone = "Europe/Berlin") {
  lead l;
  l.id = lead_id{id};
  l.external_id = "ext-" + std::to_string(id);
  l.email = "lead" + std::to_string(id) + "@example.com";
  l.linkedin_url = "https://www.linkedin.com/in/lead" + std::to_string(id);
  l.first_name = "Lead";
  l.last_name = std::to_string(id);
  l.company = "Company " + std::to_string(id);
  l.timezone = std::move(zone);
  return l;
}

step make_step(step_channel c, std::string subject, std::string body) {
  step s;
  s.channel = c;
  s.message = message_template{std::move(subject), std::move(body)};
  s.approved = true;
  return s;
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

class Readiness : public ::testing::Test {
 protected:
  void SetUp() override {
    ws.id = workspace_id{1};
    ws.timezone = "Europe/Berlin";
    accounts = {account(mail_a, channel::email, "Mail A"),
                account(linkedin_a, channel::linkedin, "LinkedIn A")};
    seq.steps = {
      make_step(step_channel::email, "Hello {{first_name}}",
                "Hi {{first_name}}, how is {{company}}?"),
      make_step(step_channel::linkedin_invite, "",
                "Let's connect, {{first_name}}"),
    };
    seq.steps[1].delay_days = 2;
    seq.senders = sender_pools{{mail_a}, {linkedin_a}};
    leads = {person(1), person(2), person(3)};
  }

  readiness_report check() const {
    return check_readiness(seq, ws, accounts, leads, now);
  }

  // Keeps only an email first step, with `n` leads that have an email.
  void email_only(size_t n) {
    seq.steps.resize(1);
    seq.senders.linkedin.clear();
    leads.clear();
    for (size_t i = 1; i <= n; ++i)
      leads.push_back(person(i));
  }

  workspace ws;
  std::vector<sender_account> accounts;
  sequence seq;
  std::vector<lead> leads;
  time_point now = utc(2026, 11, 30, 10); // Monday 11:00 in Berlin
};

std::vector<const finding*> with_code(const readiness_report& r,
                                      std::string_view code) {
  std::vector<const finding*> out;
  for (const auto& f : r.findings)
    if (f.code == code) out.push_back(&f);
  return out;
}

const finding* one(const readiness_report& r, std::string_view code) {
  auto found = with_code(r, code);
  EXPECT_EQ(found.size(), 1u) << code;
  return found.size() == 1 ? found.front() : nullptr;
}

uint64_t count(const readiness_report& r, std::string_view code) {
  auto f = one(r, code);
  return f != nullptr ? f->count : ~uint64_t{0};
}

bool mentions(const finding* f, std::string_view text) {
  return f != nullptr && f->message.find(text) != std::string::npos;
}

TEST(Severity, WireNames) {
  EXPECT_EQ(to_string(severity::blocking), "blocking");
  EXPECT_EQ(to_string(severity::warning), "warning");
}

TEST_F(Readiness, CleanSequenceIsReady) {
  auto r = check();
  EXPECT_TRUE(r.ready);
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST_F(Readiness, SequenceWithoutStepsIsBlocked) {
  seq.steps.clear();
  auto r = check();
  EXPECT_FALSE(r.ready);
  EXPECT_NE(one(r, "no_steps"), nullptr);
}

TEST_F(Readiness, UnapprovedStepBlocksAndIsNamedFromOne) {
  seq.steps[1].approved = false;
  auto r = check();
  EXPECT_FALSE(r.ready);
  auto f = one(r, "step_not_approved");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->level, severity::blocking);
  EXPECT_EQ(f->count, 1u);
  EXPECT_EQ(f->step_index, 1u);
  EXPECT_TRUE(mentions(f, "step 2")) << f->message;
}

TEST_F(Readiness, BlankBodyBlocks) {
  seq.steps[0].message.body = " \n\t ";
  auto r = check();
  EXPECT_FALSE(r.ready);
  auto f = one(r, "empty_body");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->step_index, 0u);
  EXPECT_TRUE(mentions(f, "step 1"));
}

TEST_F(Readiness, UnparsableTemplateBlocksPerPart) {
  seq.steps[0].message.subject = "Hi {{first_name";
  seq.steps[0].message.body = "{{#company}}at {{company}}";
  // A LinkedIn step has no subject: whatever is there is not checked.
  seq.steps[1].message.subject = "{{#broken";
  auto r = check();
  EXPECT_FALSE(r.ready);
  auto found = with_code(r, "invalid_template");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_TRUE(mentions(found[0], "step 1: the subject")) << found[0]->message;
  EXPECT_TRUE(mentions(found[0], "Unclosed tag"));
  EXPECT_TRUE(mentions(found[1], "step 1: the body")) << found[1]->message;
  EXPECT_EQ(found[1]->level, severity::blocking);
}

TEST_F(Readiness, ChannelWithoutAnActiveSenderBlocks) {
  accounts[0].status = account_status::paused;
  // Unknown ids and accounts of the other channel are not senders either.
  seq.senders.email.push_back(account_id{99});
  seq.senders.email.push_back(linkedin_a);
  auto r = check();
  EXPECT_FALSE(r.ready);
  auto f = one(r, "no_active_sender");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(mentions(f, "email")) << f->message;
  EXPECT_EQ(f->step_index, std::nullopt);
  EXPECT_EQ(count(r, "sender_paused"), 1u);
  // The LinkedIn pool is empty: blocked too.
  seq.senders.linkedin.clear();
  EXPECT_EQ(with_code(check(), "no_active_sender").size(), 2u);
}

TEST_F(Readiness, UnusedChannelNeedsNoSender) {
  seq.steps.resize(1);
  seq.senders.linkedin.clear();
  EXPECT_TRUE(check().ready);
}

TEST_F(Readiness, InviteNoteOverThreeHundredCodePointsBlocks) {
  seq.steps[1].message.body = repeat("\xC3\xA9", 300); // 300 é, 600 bytes
  EXPECT_TRUE(check().ready);
  seq.steps[1].message.body += "!";
  auto r = check();
  EXPECT_FALSE(r.ready);
  auto f = one(r, "invite_note_too_long");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->step_index, 1u);
  EXPECT_TRUE(mentions(f, "301 characters")) << f->message;
  // The same text in an email body is fine.
  seq.steps[1].channel = step_channel::email;
  seq.steps[1].message.subject = "Hi";
  EXPECT_TRUE(check().ready);
}

TEST_F(Readiness, NotesTooLongOnceRenderedAreCounted) {
  seq.steps[1].message.body = repeat("x", 280) + "{{company}}";
  leads[0].company = repeat("\xC3\xBC", 20); // 300 code points rendered
  leads[1].company = repeat("\xC3\xBC", 21); // 301
  leads[2].company = repeat("\xC3\xBC", 40); // 320
  auto r = check();
  EXPECT_TRUE(r.ready);
  auto f = one(r, "invite_note_too_long_for_leads");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->level, severity::warning);
  EXPECT_EQ(f->count, 2u);
  EXPECT_EQ(f->step_index, 1u);
}

TEST_F(Readiness, WindowsThatNeverOverlapBlockWithTheLeadsAffected) {
  seq.schedule.calendar.window = local_window{hm(9), hm(10)};
  accounts[0].timezone = "America/New_York";
  accounts[0].limits.window = local_window{hm(9), hm(10)};
  leads.push_back(person(4, "America/New_York"));
  leads.push_back(person(5, "Mars/Olympus_Mons")); // the workspace's: Berlin
  auto r = check();
  EXPECT_FALSE(r.ready);
  auto f = one(r, "windows_never_overlap");
  ASSERT_NE(f, nullptr);
  // The New York lead's 09:00-10:00 is the account's; the four in Berlin's
  // time never meet it. The LinkedIn account is in Berlin: no finding.
  EXPECT_EQ(f->count, 4u);
  EXPECT_TRUE(mentions(f, "email")) << f->message;
  EXPECT_TRUE(mentions(f, "Europe/Berlin")) << f->message;
  // A second email sender that overlaps clears it.
  accounts.push_back(account(mail_b, channel::email, "Mail B"));
  seq.senders.email.push_back(mail_b);
  EXPECT_TRUE(check().ready);
}

TEST_F(Readiness, WithoutLeadsWindowsAreCheckedInTheWorkspacesZone) {
  leads.clear();
  seq.schedule.calendar.window = local_window{hm(9), hm(10)};
  accounts[1].timezone = "Asia/Tokyo";
  accounts[1].limits.window = local_window{hm(9), hm(10)};
  auto r = check();
  auto f = one(r, "windows_never_overlap");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->count, 0u);
  EXPECT_TRUE(mentions(f, "LinkedIn")) << f->message;
  EXPECT_TRUE(mentions(f, "Europe/Berlin")) << f->message;
  // Relative schedules have no windows.
  seq.schedule.mode = schedule_mode::relative;
  EXPECT_TRUE(check().ready);
}

TEST_F(Readiness, SequenceWithoutSendingDaysNeverOverlaps) {
  seq.schedule.calendar.days = weekday_set{0};
  auto r = check();
  EXPECT_EQ(with_code(r, "windows_never_overlap").size(), 2u);
}

TEST_F(Readiness, MissingTemplateFieldsAreCountedPerStep) {
  seq.steps[0].message.body = "Hi {{first_name}} at {{company}}, {{title}}";
  leads[0].fields = {{"title", "CTO"}};
  leads[0].company.clear();           // missing company
  leads[1].fields = {{"title", " "}}; // blank: missing title
  leads[2].fields = {{"title", "CEO"}};
  auto r = check();
  EXPECT_TRUE(r.ready);
  auto f = one(r, "template_field_missing");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->level, severity::warning);
  EXPECT_EQ(f->count, 2u);
  EXPECT_EQ(f->step_index, 0u);
  EXPECT_TRUE(mentions(f, "step 1")) << f->message;
  EXPECT_TRUE(mentions(f, "company, title")) << f->message;
}

TEST_F(Readiness, LeadsWithoutAnAddressAreCountedOnce) {
  leads[0].email.clear();
  leads[0].first_name.clear(); // would miss a field, but skips the email step
  leads[1].email = "  ";
  leads[2].linkedin_url.clear();
  auto r = check();
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(count(r, "lead_missing_email"), 2u);
  EXPECT_EQ(count(r, "lead_missing_linkedin_url"), 1u);
  // Lead 1 misses first_name in the LinkedIn step, which it does get.
  auto missing = with_code(r, "template_field_missing");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0]->step_index, 1u);
  EXPECT_EQ(missing[0]->count, 1u);
}

TEST_F(Readiness, AddressesOfUnusedChannelsAreNotAskedFor) {
  seq.steps.erase(seq.steps.begin());
  for (auto& l : leads)
    l.email.clear();
  auto r = check();
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
}

TEST_F(Readiness, PausedAndRevokedSendersAreCounted) {
  accounts.push_back(account(mail_b, channel::email, "Mail B"));
  accounts.push_back(account(mail_c, channel::email, "Mail C"));
  accounts.push_back(account(linkedin_b, channel::linkedin, "LinkedIn B"));
  accounts[2].status = account_status::paused;
  accounts[3].status = account_status::warned;
  accounts[4].status = account_status::revoked;
  seq.senders.email = {mail_a, mail_b, mail_c, mail_b};
  seq.senders.linkedin = {linkedin_a, linkedin_b};
  auto r = check();
  EXPECT_TRUE(r.ready);
  auto paused = one(r, "sender_paused");
  ASSERT_NE(paused, nullptr);
  EXPECT_EQ(paused->count, 2u);
  EXPECT_TRUE(mentions(paused, "Mail B, Mail C")) << paused->message;
  auto revoked = one(r, "sender_revoked");
  ASSERT_NE(revoked, nullptr);
  EXPECT_EQ(revoked->count, 1u);
  EXPECT_TRUE(mentions(revoked, "LinkedIn B")) << revoked->message;
}

TEST_F(Readiness, WarmupDaysForAConcreteRamp) {
  email_only(200);
  accounts.push_back(account(mail_b, channel::email, "Mail B"));
  seq.senders.email = {mail_a, mail_b};
  for (auto& a : accounts) {
    a.limits.daily_cap = 50;
    a.limits.ramp = warmup{10, 5, 40};
    a.created_at = now; // a new account: day 0 of its ramp
  }
  // Two senders send 20, 30, 40, 50, 60 on days 1-5: 200 after five days.
  auto r = check();
  EXPECT_TRUE(r.ready);
  auto f = one(r, "warmup_capacity_low");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->count, 5u);
  EXPECT_EQ(f->message, "the first step will take 5 days for 200 leads");
  leads.resize(140); // 20 + 30 + 40 + 50
  EXPECT_EQ(count(check(), "warmup_capacity_low"), 4u);
  leads.resize(20);
  EXPECT_TRUE(with_code(check(), "warmup_capacity_low").empty());
}

TEST_F(Readiness, WarmupCountsFromTheAccountsCreation) {
  email_only(200);
  accounts.push_back(account(mail_b, channel::email, "Mail B"));
  seq.senders.email = {mail_a, mail_b};
  for (auto& a : accounts) {
    a.limits.daily_cap = 50;
    a.limits.ramp = warmup{10, 5, 40};
    a.created_at = now - days_ms(4); // on day 4: 30, then 35, then 40
  }
  // 60 + 70 + 80 = 210 >= 200.
  EXPECT_EQ(count(check(), "warmup_capacity_low"), 3u);
}

TEST_F(Readiness, NewLeadsPerDayCapsTheFirstStep) {
  email_only(100);
  seq.new_leads_per_day = 30;
  auto r = check();
  auto f = one(r, "warmup_capacity_low");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->count, 4u);
  seq.new_leads_per_day = 0;
  r = check();
  f = one(r, "warmup_capacity_low");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->count, capacity_horizon_days + 1);
  EXPECT_TRUE(mentions(f, "more than 3650 days")) << f->message;
}

TEST_F(Readiness, InviteFirstStepRespectsTheWeeklyCap) {
  seq.steps.erase(seq.steps.begin());
  seq.senders.email.clear();
  accounts[1].limits.invites_per_day = 20;
  accounts[1].limits.invites_per_week = 100;
  leads.clear();
  for (uint64_t i = 1; i <= 130; ++i)
    leads.push_back(person(i));
  // 20 a day for five days, then the week is full until day 1 drops out: 20 on
  // day 8 and day 9.
  auto r = check();
  auto f = one(r, "warmup_capacity_low");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->count, 9u);
  EXPECT_EQ(f->message, "the first step will take 9 days for 130 leads");
}

TEST_F(Readiness, MessageFirstStepUsesTheMessageCap) {
  seq.steps = {make_step(step_channel::linkedin_message, "", "Hello!")};
  seq.senders.email.clear();
  accounts[1].limits.messages_per_day = 50;
  accounts[1].limits.invites_per_day = 1; // not what a message step uses
  leads.clear();
  for (uint64_t i = 1; i <= 120; ++i)
    leads.push_back(person(i));
  EXPECT_EQ(count(check(), "warmup_capacity_low"), 3u);
}

TEST_F(Readiness, BlockingFindingsComeFirstThenByStep) {
  seq.steps[1].approved = false;
  seq.steps[0].message.body = "";
  seq.steps[1].message.body = "{{nickname}}";
  leads[0].email.clear();
  accounts[1].status = account_status::revoked;
  auto r = check();
  EXPECT_FALSE(r.ready);
  std::vector<std::string> codes;
  for (const auto& f : r.findings)
    codes.push_back(f.code);
  EXPECT_EQ(codes, (std::vector<std::string>{
                     "empty_body", "step_not_approved", "no_active_sender",
                     "template_field_missing", "lead_missing_email",
                     "sender_revoked"}));
  auto first_warning =
    std::find_if(r.findings.begin(), r.findings.end(),
                 [](const auto& f) { return f.level == severity::warning; });
  EXPECT_TRUE(std::all_of(first_warning, r.findings.end(), [](const auto& f) {
    return f.level == severity::warning;
  }));
}

} // namespace
} // namespace herald
