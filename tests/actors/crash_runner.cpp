// The child process of the runtime's crash test.
//
//   actors-crash-runner DIR LOG fresh|recover LEADS DAY_MS
//
// Runs LEADS enrollments of a W1-shaped sequence (an invite, then three
// emails; days of DAY_MS) on the system clock, with the store in DIR (async
// durability) and a provider that appends "enrollment step attempt" to LOG
// before it answers each call. `fresh` stores the leads and
// enrolls them; `recover` recovers from the store. Either way it runs until
// every enrollment has ended, then exits 0 (1 past the time limit, 2 on a bad
// start).

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <date/tz.h>

#include "actors/runtime.hpp"
#include "storage/codec.hpp"
#include "storage/group_commit.hpp"
#include "storage/keys.hpp"
#include "storage/recovery.hpp"
#include "testing.hpp"

using namespace herald;
using namespace herald::actors;

namespace {

// Logs each call before answering it: a line in LOG is a call made.
class logging_provider final : public provider {
 public:
  explicit logging_provider(const char* path)
    : fd_(::open(path, O_WRONLY | O_APPEND | O_CREAT, 0644)) {}
  ~logging_provider() override {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  void send(send_request r, std::function<void(send_report)> done) override {
    auto line = std::to_string(r.enrollment.value) + ' ' +
                std::to_string(r.step) + ' ' + std::to_string(r.attempt) + '\n';
    // One write(2) with O_APPEND: whole lines, and in the page cache before
    // the call returns, so a kill -9 right after keeps it.
    if (::write(fd_, line.data(), line.size()) !=
        static_cast<ssize_t>(line.size()))
      std::abort();
    done(send_report{send_outcome::sent, "logged"});
  }
  bool direct() const override { return true; }

 private:
  int fd_;
};

sender_account account(uint64_t id, channel kind, time_point now) {
  sender_account a;
  a.id = account_id{id};
  a.workspace = workspace_id{1};
  a.kind = kind;
  a.limits.daily_cap = 1'000'000;
  a.limits.invites_per_day = a.limits.invites_per_week =
    a.limits.messages_per_day = 1'000'000;
  a.limits.spacing = duration{0};
  a.limits.jitter = duration{0};
  a.limits.window = local_window{std::chrono::hours{0}, std::chrono::hours{0}};
  a.created_at = now - days_ms(365);
  return a;
}

lead make_lead(uint64_t i) {
  lead l;
  l.id = lead_id{i};
  l.workspace = workspace_id{1};
  l.first_name = "Lead" + std::to_string(i);
  l.email = "lead" + std::to_string(i) + "@example.test";
  l.linkedin_url = "https://www.linkedin.com/in/lead" + std::to_string(i);
  return l;
}

// Whether every enrollment in the store has ended.
bool all_ended(const storage::store& db, uint64_t leads) {
  uint64_t ended = 0;
  auto scanned = storage::scan_enrollments(db, [&](const enrollment& e) {
    if (e.state != enrollment_state::active &&
        e.phase == enrollment_phase::done)
      ++ended;
  });
  return scanned && ended == leads;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s DIR LOG fresh|recover LEADS DAY_MS\n",
                 argv[0]);
    return 2;
  }
  const std::string mode = argv[3];
  const uint64_t leads = std::stoull(argv[4]);
  const duration day{std::stoll(argv[5])};
  logging_provider delivery{argv[2]};
  storage::storage_options so;
  so.path = argv[1];
  so.mode = storage::durability::async;
  auto opened = storage::store::open(so);
  if (!opened || !delivery.ok()) {
    std::fprintf(stderr, "crash runner: cannot open the store or the log\n");
    return 2;
  }
  auto db = std::move(*opened);
  int status = 1;
  {
    storage::group_commit gc{*db};
    system_clock time;
    runtime_options ro;
    ro.passivate_after = day / 2; // most leave memory between steps
    runtime rt{ro, time, *db, gc};
    rt.add_channel(channel::email, &delivery);
    rt.add_channel(channel::linkedin, &delivery);
    const auto* utc = date::locate_zone("UTC");
    rt.add_account(account(1, channel::email, time.now()), utc);
    rt.add_account(account(2, channel::linkedin, time.now()), utc);
    auto seq = test::w1_shaped_sequence(0);
    seq->seq.schedule.day = day;
    rt.add_sequence(seq, utc);
    if (mode == "fresh") {
      rt.start_ticker(std::chrono::milliseconds{1});
      storage::write_set w;
      for (uint64_t i = 1; i <= leads; ++i)
        w.put(storage::cf::leads,
              storage::key::lead(workspace_id{1}, lead_id{i}),
              storage::encode(make_lead(i)));
      gc.submit(std::move(w), nullptr);
      gc.flush_once();
      for (uint64_t i = 1; i <= leads; ++i) {
        enrollment e;
        e.id = enrollment_id{i};
        e.workspace = workspace_id{1};
        e.sequence = sequence_id{1};
        e.lead = lead_id{i};
        e.email_sender = account_id{1};
        e.linkedin_sender = account_id{2};
        rt.enroll(e, std::make_shared<lead>(make_lead(i)), false);
      }
    } else {
      auto recovered = rt.recover();
      if (!recovered) {
        std::fprintf(stderr, "crash runner: %s\n",
                     recovered.error().message.c_str());
        return 2;
      }
      std::fprintf(stderr,
                   "recovered %llu enrollments, %llu armed, %llu resolved\n",
                   static_cast<unsigned long long>(recovered->enrollments),
                   static_cast<unsigned long long>(recovered->armed),
                   static_cast<unsigned long long>(recovered->resolved));
      rt.start_ticker(std::chrono::milliseconds{1});
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      gc.flush_once();
      if (all_ended(*db, leads)) {
        status = 0;
        break;
      }
    }
    rt.stop();
    gc.stop();
  }
  return status;
}
