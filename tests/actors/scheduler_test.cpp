#include "actors/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

namespace herald::actors {
namespace {

using hop_atom = caf::atom_constant<caf::atom("hop")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using total_atom = caf::atom_constant<caf::atom("total")>;

constexpr auto patience = std::chrono::seconds{30};

// An actor system on herald's scheduler.
class lean_system {
 public:
  explicit lean_system(int64_t workers, int64_t throughput = 0) {
    cfg_.set("scheduler.max-threads", caf::config_value::integer{workers});
    if (throughput > 0)
      cfg_.set("scheduler.max-throughput",
               caf::config_value::integer{throughput});
    use_lean_scheduler(cfg_);
    sys = std::make_unique<caf::actor_system>(cfg_);
    // Not CAF's own.
    using stealing = caf::scheduler::coordinator<caf::policy::work_stealing>;
    EXPECT_EQ(dynamic_cast<stealing*>(&sys->scheduler()), nullptr);
    EXPECT_EQ(sys->scheduler().num_workers(), static_cast<size_t>(workers));
  }

 private:
  caf::actor_system_config cfg_; // outlives the system

 public:
  std::unique_ptr<caf::actor_system> sys;
};

// Keeps every number it is sent, in arrival order, and answers with them.
caf::behavior recorder(caf::event_based_actor*,
                       std::shared_ptr<std::vector<int>> seen) {
  return {
    [seen](hop_atom, int n) { seen->push_back(n); },
    [seen](total_atom) { return static_cast<int>(seen->size()); },
  };
}

class LeanScheduler : public ::testing::TestWithParam<int64_t> {};

INSTANTIATE_TEST_SUITE_P(Workers, LeanScheduler, ::testing::Values(1, 2));

// Jobs an actor wakes from its own job (the workers' queues) and jobs other
// threads wake (the shared queue) all run.
TEST_P(LeanScheduler, RunsJobsWokenByActorsAndByOtherThreads) {
  lean_system s{GetParam()};
  auto& sys = *s.sys;
  constexpr int ring_size = 8, hops = 20'000;
  auto ring = std::make_shared<std::vector<caf::actor>>();
  for (int i = 0; i < ring_size; ++i)
    ring->push_back(sys.spawn([ring, i](caf::event_based_actor* self) {
      return caf::behavior{
        [self, ring, i](hop_atom, int left, const caf::actor& back) {
          if (left == 0)
            self->send(back, done_atom::value);
          else
            self->send((*ring)[(i + 1) % ring_size], hop_atom::value, left - 1,
                       back);
        }};
    }));
  auto seen = std::make_shared<std::vector<int>>();
  auto counter = sys.spawn(recorder, seen);
  caf::scoped_actor self{sys};
  self->send(ring->front(), hop_atom::value, hops, caf::actor{self});
  constexpr int threads = 4, per_thread = 5'000;
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t)
    senders.emplace_back([&counter, t] {
      for (int k = 0; k < per_thread; ++k)
        caf::anon_send(counter, hop_atom::value, t * per_thread + k);
    });
  for (auto& t : senders)
    t.join();
  bool ring_done = false;
  self->receive([&](done_atom) { ring_done = true; },
                caf::after(patience) >> [] {});
  EXPECT_TRUE(ring_done);
  int total = -1;
  // Asked after every sender's messages were enqueued: answered after them.
  self->request(counter, patience, total_atom::value)
    .receive([&](int n) { total = n; }, [](const caf::error&) {});
  EXPECT_EQ(total, threads * per_thread);
  std::sort(seen->begin(), seen->end());
  for (int k = 0; k < total; ++k)
    ASSERT_EQ((*seen)[k], k);
  for (auto& a : *ring)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// With one message per job, an actor with more is queued again, and its
// messages still come in the order they were sent.
TEST_P(LeanScheduler, RequeuesAnActorThatUsedItsThroughput) {
  lean_system s{GetParam(), 1};
  auto& sys = *s.sys;
  auto seen = std::make_shared<std::vector<int>>();
  auto counter = sys.spawn(recorder, seen);
  constexpr int sent = 2'000;
  for (int k = 0; k < sent; ++k)
    caf::anon_send(counter, hop_atom::value, k);
  caf::scoped_actor self{sys};
  int total = -1;
  self->request(counter, patience, total_atom::value)
    .receive([&](int n) { total = n; }, [](const caf::error&) {});
  ASSERT_EQ(total, sent);
  for (int k = 0; k < sent; ++k)
    ASSERT_EQ((*seen)[k], k);
}

// Two actors that keep waking each other do not starve an actor woken from
// another thread.
TEST_P(LeanScheduler, RunsOtherThreadsJobsBetweenActorsBusyWithEachOther) {
  lean_system s{GetParam()};
  auto& sys = *s.sys;
  auto partner = std::make_shared<caf::actor>();
  auto hops = std::make_shared<std::atomic<int>>(0);
  auto first = sys.spawn([partner, hops](caf::event_based_actor* self) {
    auto stopped = std::make_shared<bool>(false);
    return caf::behavior{[self, partner, hops, stopped](hop_atom, int n) {
                           hops->store(n, std::memory_order_relaxed);
                           if (!*stopped)
                             self->send(*partner, hop_atom::value, n + 1);
                         },
                         [stopped](done_atom) { *stopped = true; }};
  });
  *partner = sys.spawn([first](caf::event_based_actor* self) {
    return caf::behavior{[self, first](hop_atom, int n) {
      self->send(first, hop_atom::value, n);
    }};
  });
  caf::anon_send(first, hop_atom::value, 0);
  // Asked once they are busy with each other.
  while (hops->load(std::memory_order_relaxed) < 1000)
    std::this_thread::yield();
  // An idle third actor, woken from this thread, stops them.
  auto stopper = sys.spawn([first](caf::event_based_actor* self) {
    return caf::behavior{[self, first](done_atom) {
      self->send(first, done_atom::value);
      return 1;
    }};
  });
  caf::scoped_actor self{sys};
  int answer = 0;
  self->request(stopper, patience, done_atom::value)
    .receive([&](int n) { answer = n; }, [](const caf::error&) {});
  EXPECT_EQ(answer, 1);
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(*partner, caf::exit_reason::user_shutdown);
}

// The clock thread delivers delayed messages and times requests out.
TEST_P(LeanScheduler, DeliversDelayedMessagesAndTimesRequestsOut) {
  lean_system s{GetParam()};
  auto& sys = *s.sys;
  auto delayer = sys.spawn([](caf::event_based_actor* self) {
    return caf::behavior{[self](hop_atom, caf::actor back) {
      self->delayed_send(back, std::chrono::milliseconds{1}, done_atom::value);
    }};
  });
  caf::scoped_actor self{sys};
  self->send(delayer, hop_atom::value, caf::actor{self});
  bool delayed = false;
  self->receive([&](done_atom) { delayed = true; },
                caf::after(patience) >> [] {});
  EXPECT_TRUE(delayed);
  // Never answers: the request's timeout answers for it.
  auto silent = sys.spawn([](caf::event_based_actor* self) {
    return caf::behavior{[self](total_atom) {
      auto promise = self->make_response_promise<int>();
      (void)promise;
    }};
  });
  caf::error why;
  self->request(silent, std::chrono::milliseconds{5}, total_atom::value)
    .receive([](int) {}, [&](const caf::error& e) { why = e; });
  EXPECT_EQ(why, caf::sec::request_timeout);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

// A system stops, with its workers idle or just busy, without hanging.
TEST_P(LeanScheduler, StopsIdleOrJustBusy) {
  for (int round = 0; round < 20; ++round) {
    lean_system s{GetParam()};
    auto seen = std::make_shared<std::vector<int>>();
    if (round % 2 == 1) {
      auto counter = s.sys->spawn(recorder, seen);
      for (int k = 0; k < 100; ++k)
        caf::anon_send(counter, hop_atom::value, k);
    }
  }
}

} // namespace
} // namespace herald::actors
