// herald-load: workloads of ../shared/WORKLOADS.md run against herald.
//
//   herald-load w1 [--leads N] [--workspaces N] [--mode throughput|lateness]
//                  [--durability sync|async] [--threads N] [--timeout-s N]
//                  [--stall-s N]
//
// W1 in-process: the runtime with a real RocksDB (temp dir), the system clock,
// and a simulated provider that records every send. Ends with one JSON line
// carrying the peer harness's fields (and ours), a short table on stderr, and
// exit status 1 when an invariant broke or sends are missing.

#include <boost/json.hpp>
#include <date/tz.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "actors/runtime.hpp"
#include "load-tests/process_stats.hpp"
#include "load-tests/w1.hpp"

namespace {

using namespace herald;
using namespace herald::actors;
using herald::load::w1_config;
using herald::load::w1_recorder;

struct options {
  w1_config w1;
  std::string mode = "throughput";
  storage::durability durability = storage::durability::sync;
  size_t threads = 0;
  int timeout_s = 600;
  /// Give up when no send happened for this long.
  int stall_s = 30;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(
    stderr,
    "herald-load: %s\nusage: herald-load w1 [--leads N] [--workspaces N] "
    "[--mode throughput|lateness] [--durability sync|async] "
    "[--threads N] [--timeout-s N] [--stall-s N]\n",
    why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "w1") != 0)
    usage("the workload to run is the first argument; this build runs w1");
  options o;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + flag).c_str());
    std::string value = argv[++i];
    try {
      if (flag == "--leads")
        o.w1.leads = std::stoull(value);
      else if (flag == "--workspaces")
        o.w1.workspaces = static_cast<uint32_t>(std::stoul(value));
      else if (flag == "--threads")
        o.threads = std::stoul(value);
      else if (flag == "--timeout-s")
        o.timeout_s = std::stoi(value);
      else if (flag == "--stall-s")
        o.stall_s = std::stoi(value);
      else if (flag == "--mode" &&
               (value == "throughput" || value == "lateness"))
        o.mode = value;
      else if (flag == "--durability" && (value == "sync" || value == "async"))
        o.durability = value == "sync" ? storage::durability::sync
                                       : storage::durability::async;
      else
        usage(("unknown flag or value: " + flag + " " + value).c_str());
    } catch (const std::exception&) {
      usage(("not a number: " + value).c_str());
    }
  }
  if (o.w1.leads == 0 || o.w1.workspaces == 0)
    usage("--leads and --workspaces must be positive");
  o.w1.day_ms = o.mode == "throughput" ? 1 : 1000;
  return o;
}

// The simulated provider of the run: records each send for the report and, for
// a lead that replies after this step, posts its reply right after the send.
class w1_provider final : public provider {
 public:
  w1_provider(const w1_config& c, const herald::clock& time, w1_recorder& out)
    : config_(c), time_(time), out_(out) {}

  void attach(runtime* rt) { runtime_ = rt; }

  void send(send_request r, std::function<void(send_report)> done) override {
    auto lead = r.enrollment.value - 1;
    int step = r.step + 1;
    auto now = to_ms(time_.now());
    {
      std::lock_guard lk{mu_};
      out_.sent(lead, step, to_ms(r.due), now);
    }
    sends_.fetch_add(1, std::memory_order_relaxed);
    auto replies_after = herald::load::plan_lead(config_, lead).replies_after;
    if (replies_after && *replies_after == step) {
      if (auto a = runtime_->find(r.enrollment))
        caf::anon_send(*a, reply_atom::value);
      std::lock_guard lk{mu_};
      out_.reply_acknowledged(lead, now);
    }
    done(send_report{send_outcome::sent, "simulated"});
  }

  uint64_t sends() const { return sends_.load(std::memory_order_relaxed); }

 private:
  const w1_config& config_;
  const herald::clock& time_;
  w1_recorder& out_;
  runtime* runtime_ = nullptr;
  std::mutex mu_;
  std::atomic<uint64_t> sends_{0};
};

boost::json::object stats_json(const herald::load::lateness_stats& s) {
  return {{"n", s.n},     {"min", s.min},   {"p50", s.p50}, {"p90", s.p90},
          {"p99", s.p99}, {"p999", s.p999}, {"max", s.max}, {"mean", s.mean}};
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  const auto& c = opt.w1;
  auto expectation = herald::load::expected(c);

  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             ("herald-load-" + std::to_string(rd()));
  storage::storage_options so;
  so.path = dir.string();
  so.mode = opt.durability;
  auto opened = storage::store::open(so);
  if (!opened) {
    std::fprintf(stderr, "herald-load: %s\n", opened.error().message.c_str());
    return 2;
  }
  auto db = std::move(*opened);
  int status = 0;
  {
    storage::group_commit gc{*db};
    system_clock time;
    w1_recorder recorder{c};
    w1_provider delivery{c, time, recorder};
    runtime_options ro;
    ro.threads = opt.threads;
    runtime rt{ro, time, gc};
    delivery.attach(&rt);
    auto email_channel = rt.add_channel(&delivery);
    auto linkedin_channel = rt.add_channel(&delivery);
    const auto* utc = date::locate_zone("UTC");

    // Workspaces: accounts with limits off, and the W1 sequence on the relative
    // schedule.
    std::vector<std::vector<account_actor>> emails(c.workspaces);
    std::vector<std::vector<account_actor>> linkedins(c.workspaces);
    std::vector<std::shared_ptr<const sequence_env>> sequences;
    for (uint32_t w = 0; w < c.workspaces; ++w) {
      auto make = [&](uint64_t id, channel kind) {
        sender_account a;
        a.id = account_id{id};
        a.workspace = workspace_id{w + 1};
        a.kind = kind;
        a.limits.daily_cap = 1'000'000'000;
        a.limits.invites_per_day = a.limits.invites_per_week =
          a.limits.messages_per_day = 1'000'000'000;
        a.limits.spacing = a.limits.jitter = duration{0};
        a.limits.window =
          local_window{std::chrono::hours{0}, std::chrono::hours{0}};
        a.created_at = time.now() - days_ms(365);
        return rt.add_account(a, utc);
      };
      for (uint32_t i = 0; i < c.email_accounts; ++i)
        emails[w].push_back(make(uint64_t{w} * 1000 + i + 1, channel::email));
      for (uint32_t i = 0; i < c.linkedin_accounts; ++i)
        linkedins[w].push_back(
          make(uint64_t{w} * 1000 + 500 + i + 1, channel::linkedin));
      auto env = std::make_shared<sequence_env>();
      auto& seq = env->seq;
      seq.id = sequence_id{w + 1};
      seq.workspace = workspace_id{w + 1};
      seq.status = sequence_status::active;
      seq.schedule.mode = schedule_mode::relative;
      seq.schedule.day = duration{c.day_ms};
      seq.steps = herald::load::w1_sequence_steps();
      env->calendar = seq.schedule.calendar;
      for (const auto& s : seq.steps) {
        auto compiled = compiled_message::compile(s.message);
        env->messages.push_back(std::move(*compiled));
      }
      sequences.push_back(std::move(env));
    }

    auto peak_before = herald::load::rss().peak_bytes;
    auto cpu0 = herald::load::cpu_seconds();
    rt.start_ticker(std::chrono::milliseconds{1});
    auto start = time.now();
    for (uint64_t i = 0; i < c.leads; ++i) {
      auto plan = herald::load::plan_lead(c, i);
      auto contact = std::make_shared<lead>();
      contact->id = lead_id{i + 1};
      contact->workspace = workspace_id{plan.workspace + 1};
      contact->email = "lead" + std::to_string(i) + "@example.test";
      contact->linkedin_url =
        "https://www.linkedin.com/in/lead" + std::to_string(i);
      enrollment e;
      e.id = enrollment_id{i + 1};
      e.workspace = workspace_id{plan.workspace + 1};
      e.sequence = sequence_id{plan.workspace + 1};
      e.lead = contact->id;
      e.email_sender =
        account_id{uint64_t{plan.workspace} * 1000 + plan.email_account + 1};
      e.linkedin_sender = account_id{uint64_t{plan.workspace} * 1000 + 500 +
                                     plan.linkedin_account + 1};
      enrollment_env links;
      links.email_account = emails[plan.workspace][plan.email_account];
      links.linkedin_account = linkedins[plan.workspace][plan.linkedin_account];
      links.email_channel = email_channel;
      links.linkedin_channel = linkedin_channel;
      rt.enroll(e, sequences[plan.workspace], std::move(contact), utc, links,
                false);
    }
    // Wait for the expected sends (sleeping is the harness's business, not
    // herald's).
    auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds{opt.timeout_s};
    uint64_t last = 0;
    auto last_progress = std::chrono::steady_clock::now();
    while (delivery.sends() < expectation.sends &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      if (delivery.sends() != last) {
        last = delivery.sends();
        last_progress = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_progress >
                 std::chrono::seconds{opt.stall_s}) {
        break; // stalled
      }
    }
    // A little longer, so that sends beyond the expected ones would show.
    std::this_thread::sleep_for(std::chrono::milliseconds{50 + 10 * c.day_ms});
    auto cpu = herald::load::cpu_seconds() - cpu0;
    auto peak = herald::load::rss().peak_bytes;
    rt.stop();
    gc.stop();

    auto inv = recorder.check();
    auto span = recorder.send_span();
    double wall_s =
      span ? static_cast<double>(span->second - to_ms(start)) / 1000.0 : 0.0;
    auto sends = recorder.sends();
    boost::json::object by_step;
    for (int s = 1; s <= herald::load::w1_steps; ++s)
      by_step[std::to_string(s)] = stats_json(recorder.lateness(s));
    auto late = stats_json(recorder.lateness());
    late["by_step"] = std::move(by_step);
    boost::json::object report{
      {"harness", "herald"},
      {"workload", "w1"},
      {"mode", opt.mode},
      {"durability",
       opt.durability == storage::durability::sync ? "sync" : "async"},
      {"config",
       {{"leads", c.leads},
        {"workspaces", c.workspaces},
        {"email_accounts", c.email_accounts},
        {"linkedin_accounts", c.linkedin_accounts},
        {"reply_pct", c.reply_pct},
        {"day_ms", c.day_ms},
        {"threads", opt.threads},
        {"cores", std::thread::hardware_concurrency()}}},
      {"expected_sends", expectation.sends},
      {"repliers", expectation.repliers},
      {"sends", sends},
      {"wall_s", wall_s},
      {"steps_per_s", wall_s > 0 ? static_cast<double>(sends) / wall_s : 0.0},
      {"lateness_ms", std::move(late)},
      {"rss_peak_mb", peak / (1 << 20)},
      {"bytes_per_lead", (peak - peak_before) / static_cast<double>(c.leads)},
      {"cpu_s", cpu},
      {"cpu_us_per_send",
       sends > 0 ? cpu * 1e6 / static_cast<double>(sends) : 0.0},
      {"invariants",
       {{"sends_after_reply", inv.sends_after_reply},
        {"duplicate_sends", inv.duplicate_sends},
        {"missing_sends", inv.missing_sends},
        {"unexpected_sends", inv.unexpected_sends},
        {"ok", inv.ok()}}},
    };
    std::cout << boost::json::serialize(report) << std::endl;
    std::fprintf(
      stderr,
      "\nherald W1 %s (%s): %llu of %llu sends in %.2f s = %.0f steps/s, "
      "%.2f µs CPU per send\n"
      "  lateness p50 %.1f ms, p99 %.1f ms; peak RSS %.0f MB, %.0f bytes "
      "per lead\n"
      "  invariants: after reply %llu, duplicates %llu, missing %llu, "
      "unexpected %llu -> %s\n",
      opt.mode.c_str(),
      opt.durability == storage::durability::sync ? "sync" : "async",
      static_cast<unsigned long long>(sends),
      static_cast<unsigned long long>(expectation.sends), wall_s,
      wall_s > 0 ? static_cast<double>(sends) / wall_s : 0.0,
      sends > 0 ? cpu * 1e6 / static_cast<double>(sends) : 0.0,
      recorder.lateness().p50, recorder.lateness().p99, peak / (1 << 20),
      (peak - peak_before) / static_cast<double>(c.leads),
      static_cast<unsigned long long>(inv.sends_after_reply),
      static_cast<unsigned long long>(inv.duplicate_sends),
      static_cast<unsigned long long>(inv.missing_sends),
      static_cast<unsigned long long>(inv.unexpected_sends),
      inv.ok() ? "ok" : "BROKEN");
    status = inv.ok() ? 0 : 1;
  }
  db.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return status;
}
