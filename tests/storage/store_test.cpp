#include "storage/store.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "storage/history.hpp"
#include "storage/keys.hpp"
#include "temp_dir.hpp"

namespace herald::storage {
namespace {

storage_options options_at(const std::string& path) {
  storage_options o;
  o.path = path;
  return o;
}

std::unique_ptr<store> open_or_die(const std::string& path) {
  auto s = store::open(options_at(path));
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return s ? std::move(*s) : nullptr;
}

TEST(Store, WritesReadsAndSurvivesAReopen) {
  test::temp_dir dir;
  {
    auto s = open_or_die(dir.str());
    write_set w;
    w.put(cf::workspaces, key::workspace(workspace_id{1}), "one");
    w.put(cf::accounts, key::account(workspace_id{1}, account_id{2}), "acc");
    ASSERT_TRUE(s->write(w, true));
    EXPECT_EQ(s->get(cf::workspaces, key::workspace(workspace_id{1}))->value(),
              "one");
    EXPECT_FALSE(
      s->get(cf::workspaces, key::workspace(workspace_id{9}))->has_value());
  }
  auto s = open_or_die(dir.str());
  EXPECT_EQ(
    s->get(cf::accounts, key::account(workspace_id{1}, account_id{2}))->value(),
    "acc");
}

// Found by fuzz_bodies (UBSan): an empty value given as a view without data
// reached memcpy as a null pointer. Index entries are written that way.
TEST(Store, ReadsManyKeysInTheirOrderWhereverTheyLie) {
  test::temp_dir dir;
  auto s = open_or_die(dir.str());
  ASSERT_NE(s, nullptr);
  auto k = [](uint64_t n) { return key::lead(workspace_id{1}, lead_id{n}); };
  write_set flushed;
  flushed.put(cf::leads, k(3), "three");
  flushed.put(cf::leads, k(1), "one");
  ASSERT_TRUE(s->write(flushed, true));
  ASSERT_TRUE(s->flush());
  write_set fresh;
  fresh.put(cf::leads, k(2), "two");
  fresh.put(cf::leads, k(1), "one again"); // the memtable's is the newer
  ASSERT_TRUE(s->write(fresh, true));
  // Out of key order, one missing, one asked twice.
  std::vector<std::string> keys{k(3), k(9), k(1), k(2), k(3)};
  auto got = s->get_many(cf::leads, keys);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 5u);
  EXPECT_EQ((*got)[0], "three");
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ((*got)[2], "one again");
  EXPECT_EQ((*got)[3], "two");
  EXPECT_EQ((*got)[4], "three");
  auto none = s->get_many(cf::leads, {});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // Another family's keys are not there.
  auto other = s->get_many(cf::accounts, keys);
  ASSERT_TRUE(other);
  for (const auto& v : *other)
    EXPECT_FALSE(v.has_value());
}

TEST(Store, TakesEmptyViewsWithoutData) {
  test::temp_dir dir;
  auto s = open_or_die(dir.str());
  write_set w;
  std::string_view none;
  ASSERT_EQ(none.data(), nullptr);
  w.put(cf::leads, key::lead(workspace_id{1}, lead_id{2}), none);
  w.put(cf::leads, key::lead(workspace_id{1}, lead_id{3}), {});
  ASSERT_TRUE(s->write(w, true));
  EXPECT_EQ(s->get(cf::leads, key::lead(workspace_id{1}, lead_id{2}))->value(),
            "");
  EXPECT_EQ(s->get(cf::leads, key::lead(workspace_id{1}, lead_id{3}))->value(),
            "");
}

TEST(Store, ColumnFamiliesKeepTheirKeysApart) {
  test::temp_dir dir;
  auto s = open_or_die(dir.str());
  write_set w;
  auto k = key::sequence(workspace_id{1}, sequence_id{1});
  w.put(cf::sequences, k, "seq");
  ASSERT_TRUE(s->write(w, false));
  EXPECT_FALSE(s->get(cf::accounts, k)->has_value());
}

TEST(Store, ScansAWorkspaceAloneInKeyOrder) {
  test::temp_dir dir;
  auto s = open_or_die(dir.str());
  write_set w;
  for (uint64_t ws = 1; ws <= 3; ++ws)
    for (uint64_t e = 1; e <= 5; ++e)
      w.put(cf::enrollments,
            key::enrollment(workspace_id{ws}, enrollment_id{6 - e}),
            std::to_string(ws) + ":" + std::to_string(6 - e));
  ASSERT_TRUE(s->write(w, false));
  std::vector<std::string> seen;
  ASSERT_TRUE(s->scan_prefix(cf::enrollments,
                             key::workspace_prefix(workspace_id{2}),
                             [&](std::string_view k, std::string_view v) {
                               EXPECT_EQ(key::workspace_of(k), workspace_id{2});
                               seen.emplace_back(v);
                               return true;
                             }));
  EXPECT_EQ(seen,
            (std::vector<std::string>{"2:1", "2:2", "2:3", "2:4", "2:5"}));
}

TEST(Store, DeletingAWorkspaceLeavesTheOthers) {
  test::temp_dir dir;
  auto s = open_or_die(dir.str());
  write_set w;
  for (uint64_t ws = 1; ws <= 3; ++ws) {
    w.put(cf::workspaces, key::workspace(workspace_id{ws}), "w");
    w.put(cf::leads, key::lead(workspace_id{ws}, lead_id{1}), "l");
    w.put(cf::events, key::event(workspace_id{ws}, "evt_1"), "e");
  }
  ASSERT_TRUE(s->write(w, false));
  ASSERT_TRUE(s->delete_workspace(workspace_id{2}));
  for (uint64_t ws = 1; ws <= 3; ++ws) {
    bool kept = ws != 2;
    EXPECT_EQ(
      s->get(cf::workspaces, key::workspace(workspace_id{ws}))->has_value(),
      kept);
    EXPECT_EQ(
      s->get(cf::leads, key::lead(workspace_id{ws}, lead_id{1}))->has_value(),
      kept);
    EXPECT_EQ(
      s->get(cf::events, key::event(workspace_id{ws}, "evt_1"))->has_value(),
      kept);
  }
}

TEST(Store, RefusesAnotherSchemaVersion) {
  test::temp_dir dir;
  {
    auto s = open_or_die(dir.str());
    write_set w;
    w.put(cf::meta, "schema_version", "7");
    ASSERT_TRUE(s->write(w, true));
  }
  auto s = store::open(options_at(dir.str()));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_argument);
  EXPECT_NE(s.error().message.find("schema version 7"), std::string::npos);
}

TEST(Store, OpenFailureIsAnErrorNotACrash) {
  test::temp_dir dir;
  // A path under a regular file cannot hold a database.
  std::ofstream{(dir.path() / "a-file").string()} << "x";
  auto t = store::open(options_at((dir.path() / "a-file" / "db").string()));
  ASSERT_FALSE(t);
  EXPECT_FALSE(t.error().message.empty());
}

TEST(Store, EnrollmentKeysSortByWorkspaceThenId) {
  auto k = [](uint64_t ws, uint64_t id) {
    return key::enrollment(workspace_id{ws}, enrollment_id{id});
  };
  EXPECT_EQ(k(1, 2).size(), 16u);
  EXPECT_LT(k(1, 255), k(1, 256));
  EXPECT_LT(k(1, ~uint64_t{0}), k(2, 0));
  EXPECT_EQ(
    key::enrollment_fixed(workspace_id{3}, enrollment_id{0x0102}).view(),
    k(3, 0x0102));
  EXPECT_EQ(key::workspace_of(k(0x0A0B0C, 1))->value, 0x0A0B0Cu);
}

// A company's leads are one range of the email index: its domain's prefix
// covers every address there, and no other domain's, nor an address that
// only starts like one of them.
TEST(Store, EmailIndexKeysGatherADomainsLeads) {
  const workspace_id ws{1};
  auto domain = key::domain_leads_prefix(ws, "acme.test");
  auto jo = key::lead_email(ws, "Jo@ACME.test", lead_id{7});
  auto al = key::lead_email(ws, " al@acme.test", lead_id{8});
  EXPECT_TRUE(jo.starts_with(domain));
  EXPECT_TRUE(al.starts_with(domain));
  EXPECT_EQ(key::parse_lead_email(al), lead_id{8});
  EXPECT_FALSE(
    key::lead_email(ws, "jo@acme.test.io", lead_id{7}).starts_with(domain));
  EXPECT_FALSE(
    key::lead_email(ws, "jo@acme.test", lead_id{7})
      .starts_with(key::domain_leads_prefix(workspace_id{2}, "acme.test")));
  EXPECT_TRUE(jo.starts_with(key::lead_emails_prefix(ws, "jo@acme.test")));
  EXPECT_FALSE(jo.starts_with(key::lead_emails_prefix(ws, "j@acme.test")));
  EXPECT_FALSE(key::lead_email(ws, "jo2@acme.test", lead_id{7})
                 .starts_with(key::lead_emails_prefix(ws, "jo@acme.test")));
  EXPECT_FALSE(key::parse_lead_email(key::lead_enrollments(ws, lead_id{7})));
  EXPECT_EQ(key::email_domain("Jo.Doe@ACME.Test "), "acme.test");
  EXPECT_EQ(key::email_domain("a@b@c.example"), "c.example");
  EXPECT_EQ(key::email_domain("no-at-sign"), "");
  EXPECT_EQ(key::email_domain("x@"), "");
}

TEST(Store, EmailIndexKeysNameTheirLeadWhateverTheAddressesCase) {
  auto k = key::lead_email(workspace_id{1}, " Jo.Doe@ACME.test", lead_id{7});
  EXPECT_EQ(key::parse_lead_email(k), lead_id{7});
  EXPECT_TRUE(k.starts_with(
    key::lead_emails_prefix(workspace_id{1}, "jo.doe@acme.test")));
  EXPECT_FALSE(k.starts_with(
    key::lead_emails_prefix(workspace_id{2}, "jo.doe@acme.test")));
  // One address's prefix never covers another's that extends it.
  EXPECT_FALSE(
    key::lead_email(workspace_id{1}, "jo.doe@acme.test.io", lead_id{7})
      .starts_with(
        key::lead_emails_prefix(workspace_id{1}, "jo.doe@acme.test")));
  EXPECT_FALSE(
    key::parse_lead_email(key::lead_enrollments(workspace_id{1}, lead_id{7})));
  EXPECT_EQ(key::normalized_email("  A@B.C\t"), "a@b.c");
  EXPECT_EQ(key::normalized_email(std::string_view{"a\0@b.c", 6}), "");
  EXPECT_EQ(key::normalized_email(" "), "");
}

TEST(Store, KeysSortByWorkspaceThenTime) {
  auto history = [](uint64_t ws, int64_t at, uint64_t id) {
    return key::history(workspace_id{ws}, lead_id{1}, from_ms(at),
                        enrollment_id{id}, 0, history_event::sent);
  };
  auto a = history(1, 5000, 9);
  auto b = history(1, 60000, 1);
  auto c = history(2, 1, 1);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  auto ws = key::workspace_of(c);
  ASSERT_TRUE(ws);
  EXPECT_EQ(*ws, workspace_id{2});
  auto newer = key::inbox(workspace_id{1}, from_ms(2000), lead_id{1});
  auto older = key::inbox(workspace_id{1}, from_ms(1000), lead_id{1});
  EXPECT_LT(newer, older); // the inbox lists newest first
  auto day = date::local_days{date::days{-3}};
  auto u = key::parse_usage(key::usage(workspace_id{1}, account_id{2}, day));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->day, day);
  EXPECT_LT(key::usage(workspace_id{1}, account_id{2}, day),
            key::usage(workspace_id{1}, account_id{2}, day + date::days{10}));
}

// A lead's enrollments are one entry beside its record in cf::leads, each id
// merged in: they come back once each, in the order they came, with nothing
// of another lead's, and an entry that is not a list of ids is refused.
TEST(Store, ALeadsEnrollmentsAreMergedIntoOneEntry) {
  test::temp_dir dir;
  auto s = open_or_die(dir.str());
  const workspace_id ws{1};
  write_set w;
  w.put(cf::leads, key::lead(ws, lead_id{5}), "record");
  for (uint64_t e : {30, 10, 30, 20})
    w.merge(cf::leads, key::lead_enrollments(ws, lead_id{5}),
            key::lead_enrollments_entry(enrollment_id{e}));
  w.merge(cf::leads, key::lead_enrollments(ws, lead_id{6}),
          key::lead_enrollments_entry(enrollment_id{40}));
  ASSERT_TRUE(s->write(w, false));
  auto ids = [&](uint64_t lead) {
    std::vector<uint64_t> found;
    auto read = read_lead_enrollments(*s, ws, lead_id{lead});
    EXPECT_TRUE(read) << read.error().message;
    if (read)
      for (auto id : *read)
        found.push_back(id.value);
    return found;
  };
  EXPECT_EQ(ids(5), (std::vector<uint64_t>{30, 10, 20}));
  EXPECT_EQ(ids(6), (std::vector<uint64_t>{40}));
  EXPECT_TRUE(ids(7).empty());
  EXPECT_NE(key::lead_enrollments(ws, lead_id{5}), key::lead(ws, lead_id{5}));

  std::string entry = key::lead_enrollments_entry(enrollment_id{1});
  EXPECT_FALSE(key::merge_lead_enrollments(entry, "odd"));
  EXPECT_EQ(entry, key::lead_enrollments_entry(enrollment_id{1}));
  EXPECT_FALSE(key::parse_lead_enrollments("seven b"));
  w.clear();
  w.put(cf::leads, key::lead_enrollments(ws, lead_id{8}), "seven b");
  ASSERT_TRUE(s->write(w, false));
  auto bad = read_lead_enrollments(*s, ws, lead_id{8});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::bad_value);
}

// Merged one id at a time across flushes and compactions, a lead's entry
// holds every id once wherever its pieces lie (tables, the memtable, both),
// and a workspace's deletion removes it with the rest.
TEST(Store, AnExternalIdsEntryListsItsLeadThenItsEnrollments) {
  test::temp_dir dir;
  auto s = open_or_die(dir.str());
  ASSERT_NE(s, nullptr);
  auto k = key::lead_external(workspace_id{1}, "crm-7");
  write_set w;
  w.put(cf::leads, k, key::lead_external_value(lead_id{5}, enrollment_id{6}));
  ASSERT_TRUE(s->write(w, true));
  ASSERT_TRUE(s->flush());
  write_set more;
  more.merge(cf::leads, k, key::lead_enrollments_entry(enrollment_id{9}));
  more.merge(cf::leads, k, key::lead_enrollments_entry(enrollment_id{6}));
  ASSERT_TRUE(s->write(more, true));
  auto got = s->get(cf::leads, k);
  ASSERT_TRUE(got && *got);
  auto x = key::parse_lead_external(**got);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->lead, lead_id{5});
  EXPECT_EQ(x->enrollments,
            (std::vector<enrollment_id>{enrollment_id{6}, enrollment_id{9}}));
  EXPECT_FALSE(key::parse_lead_external("short"));
  EXPECT_FALSE(key::parse_lead_external(std::string(12, 'x')));
}

TEST(Store, ALeadsEnrollmentsAreFoundWhereverTheyLie) {
  test::temp_dir dir;
  auto s = open_or_die(dir.str());
  const workspace_id ws{1};
  auto add = [&](uint64_t lead, uint64_t e) {
    write_set w;
    w.merge(cf::leads, key::lead_enrollments(ws, lead_id{lead}),
            key::lead_enrollments_entry(enrollment_id{e}));
    ASSERT_TRUE(s->write(w, false));
  };
  auto of = [&](uint64_t lead) {
    std::vector<uint64_t> found;
    if (auto read = read_lead_enrollments(*s, ws, lead_id{lead}))
      for (auto id : *read)
        found.push_back(id.value);
    else
      ADD_FAILURE() << read.error().message;
    return found;
  };
  for (uint64_t lead = 1; lead <= 200; lead += 2)
    add(lead, lead * 10);
  ASSERT_TRUE(s->flush()); // in a table
  for (uint64_t lead = 2; lead <= 200; lead += 2)
    add(lead, lead * 10); // in the memtable
  add(7, 71);             // both
  add(7, 70);             // again: once is enough
  EXPECT_EQ(of(7), (std::vector<uint64_t>{70, 71}));
  EXPECT_EQ(of(8), (std::vector<uint64_t>{80}));
  EXPECT_EQ(of(199), (std::vector<uint64_t>{1990}));
  EXPECT_TRUE(of(201).empty());
  ASSERT_TRUE(s->flush());
  add(7, 72);
  ASSERT_TRUE(s->compact());
  EXPECT_EQ(of(7), (std::vector<uint64_t>{70, 71, 72}));
  ASSERT_TRUE(s->delete_workspace(ws));
  EXPECT_TRUE(of(7).empty());
}

TEST(Store, FiguresReportMemoryAndDisk) {
  test::temp_dir dir;
  auto s = open_or_die(dir.str());
  write_set w;
  for (uint64_t e = 1; e <= 10'000; ++e)
    w.put(cf::enrollments, key::enrollment(workspace_id{1}, enrollment_id{e}),
          std::string(60, 'x'));
  ASSERT_TRUE(s->write(w, false));
  EXPECT_GT(s->figures().memtable_bytes, 0u);
  ASSERT_TRUE(s->flush());
  ASSERT_TRUE(s->compact());
  EXPECT_GT(s->figures().sst_bytes, 0u);
}

} // namespace
} // namespace herald::storage
