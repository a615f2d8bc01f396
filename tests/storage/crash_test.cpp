// kill -9 at random moments: every write set the writer acknowledged must be
// there after a restart, and no set may be half applied.

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>

#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

extern char** environ;

namespace herald::storage {
namespace {

struct child {
  pid_t pid = -1;
  int out = -1; // read end of its stdout
};

child spawn_writer(const std::string& db, uint64_t first) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string path = HERALD_CRASH_WRITER;
  std::string start = std::to_string(first);
  char* argv[] = {path.data(), const_cast<char*>(db.c_str()), start.data(),
                  nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return {};
  }
  return {pid, fds[0]};
}

// Reads whole lines from `fd` into `acked` until `deadline` (or EOF when
// deadline is nullopt).
void read_acks(int fd, std::set<uint64_t>& acked, std::string& partial,
               std::optional<std::chrono::steady_clock::time_point> deadline) {
  char buf[4096];
  for (;;) {
    int timeout = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      timeout = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout) <= 0) return;
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return; // EOF: the child is gone and the pipe drained
    partial.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos;
         start = nl + 1)
      acked.insert(std::stoull(partial.substr(start, nl - start)));
    partial.erase(0, start);
  }
}

// Numbers whose keys are present, per column family.
std::map<uint64_t, int> present_sets(store& s) {
  std::map<uint64_t, int> count;
  for (auto c : {cf::enrollments, cf::usage, cf::history}) {
    auto ok = s.scan(c, {}, {}, [&](std::string_view, std::string_view v) {
      ++count[std::stoull(std::string{v})];
      return true;
    });
    EXPECT_TRUE(ok);
  }
  return count;
}

TEST(CrashTest, KillNineLosesNothingAcknowledgedAndHalfAppliesNothing) {
  test::temp_dir dir;
  auto db = dir.str();
  std::mt19937_64 rng{20261123};
  std::uniform_int_distribution<int> pause_ms{30, 400};
  std::set<uint64_t> acked;
  uint64_t next = 1;
  constexpr int kills = 25;
  for (int round = 0; round < kills; ++round) {
    auto c = spawn_writer(db, next);
    ASSERT_GT(c.pid, 0) << "cannot start " << HERALD_CRASH_WRITER;
    std::string partial;
    read_acks(c.out, acked, partial,
              std::chrono::steady_clock::now() +
                std::chrono::milliseconds{pause_ms(rng)});
    ASSERT_EQ(::kill(c.pid, SIGKILL), 0);
    read_acks(c.out, acked, partial,
              std::nullopt); // what it acknowledged first
    ::close(c.out);
    int wstatus = 0;
    ::waitpid(c.pid, &wstatus, 0);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
      << "the writer died on its own in round " << round;
    storage_options o;
    o.path = db;
    auto s = store::open(o);
    ASSERT_TRUE(s) << s.error().message;
    auto present = present_sets(**s);
    for (auto n : acked)
      ASSERT_EQ(present[n], 3)
        << "acknowledged set " << n << " lost in round " << round;
    for (auto [n, columns] : present)
      ASSERT_EQ(columns, 3)
        << "set " << n << " half applied in round " << round;
    next = present.empty() ? 1 : present.rbegin()->first + 1;
  }
  // The writer made real progress between the kills.
  EXPECT_GT(acked.size(), static_cast<size_t>(kills) * 10);
}

} // namespace
} // namespace herald::storage
