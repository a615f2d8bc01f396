#include "api/ids.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace herald::api {
namespace {

class Ids : public ::testing::Test {
 protected:
  Ids() {
    dir = std::filesystem::temp_directory_path() /
          ("herald-ids-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    open();
  }
  ~Ids() override {
    db.reset();
    std::filesystem::remove_all(dir);
  }

  void open() {
    db.reset();
    storage::storage_options o;
    o.path = dir.string();
    o.synchronous = true;
    db = storage::store::open(o).value();
  }

  uint64_t lease() {
    auto got = db->get(storage::cf::meta, "id_lease").value();
    return got ? std::stoull(*got) : 0;
  }

  static uint64_t ms_of(uint64_t id) { return id >> id_source::count_bits; }

  std::filesystem::path dir;
  std::unique_ptr<storage::store> db;
  // The clock the sources read: milliseconds since the Unix epoch.
  int64_t now = id_source::epoch_ms + 1'000'000;
};

TEST_F(Ids, GrowWithTimeAndWithinAMillisecond) {
  id_source ids{*db, [this] { return now; }};
  auto a = ids.next();
  auto b = ids.next();
  EXPECT_EQ(ms_of(a), 1'000'000u);
  EXPECT_EQ(b, a + 1);
  now += 5;
  auto c = ids.next();
  EXPECT_EQ(ms_of(c), 1'000'005u);
  EXPECT_EQ(c >> 63, 0u) << "the top bit is the runtime's";
  // The clock going back within a run changes nothing: still larger.
  now -= 1000;
  EXPECT_GT(ids.next(), c);
}

TEST_F(Ids, ALeaseIsWrittenBeforeAnIdPassesIt) {
  id_source ids{*db, [this] { return now; }};
  auto first = ids.next();
  EXPECT_EQ(lease(), ms_of(first) + id_source::lease_ms);
  now += id_source::lease_ms + 7;
  auto later = ids.next();
  EXPECT_LT(ms_of(later), lease());
  EXPECT_EQ(lease(), ms_of(later) + id_source::lease_ms);
}

TEST_F(Ids, ANewRunStartsPastTheLeaseEvenWhenTheClockWentBack) {
  uint64_t last = 0;
  {
    id_source ids{*db, [this] { return now; }};
    for (int i = 0; i < 1000; ++i)
      last = ids.next();
  }
  open(); // a restart, with the clock an hour earlier than before
  now -= 3'600'000;
  id_source again{*db, [this] { return now; }};
  auto next = again.next();
  EXPECT_GT(next, last);
  EXPECT_GE(ms_of(next), ms_of(last) + id_source::lease_ms);
}

TEST_F(Ids, ThreadsNeverGetTheSameId) {
  id_source ids{*db};
  std::vector<std::vector<uint64_t>> got(4);
  std::vector<std::thread> threads;
  for (auto& mine : got)
    threads.emplace_back([&ids, &mine] {
      for (int i = 0; i < 20'000; ++i)
        mine.push_back(ids.next());
    });
  for (auto& t : threads)
    t.join();
  std::set<uint64_t> all;
  for (const auto& mine : got) {
    for (size_t i = 1; i < mine.size(); ++i)
      EXPECT_GT(mine[i], mine[i - 1]);
    all.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(all.size(), 80'000u);
}

TEST_F(Ids, AStoredLeaseThatIsNoNumberFailsLoudly) {
  storage::write_set w;
  w.put(storage::cf::meta, "id_lease", "soon");
  ASSERT_TRUE(db->write(w, true).has_value());
  id_source ids{*db, [this] { return now; }};
  EXPECT_THROW(ids.next(), std::runtime_error);
}

} // namespace
} // namespace herald::api
