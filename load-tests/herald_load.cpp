// herald-load: workloads of ../shared/WORKLOADS.md run against herald.
//
//   herald-load w1 [--leads N] [--workspaces N] [--mode throughput|lateness]
//                  [--durability sync|async] [--threads N] [--timeout-s N]
//                  [--stall-s N]
//   herald-load memory [--leads N] [--workspaces N] [--durability ...]
//   herald-load w1 --http URL [--admin-token T]   (or --spawn-herald BIN)
//
// Both take --email-accounts N and --linkedin-accounts N (per workspace,
// 1-499). memory also times a /metrics scrape over what it enrolled.
//
// W1 in-process: the runtime with a real RocksDB (temp dir), the system clock,
// and a simulated provider that records every send. Ends with one JSON line
// carrying the peer harness's fields (and ours), a short table on stderr, and
// exit status 1 when an invariant broke or sends are missing.
//
// memory: enrolls N leads (default 1,000,000) whose first step is three days
// away and reports the resident bytes per idle enrollment once they have left
// memory (passivated: a snapshot in RocksDB and a timer in a wheel).

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

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "actors/runtime.hpp"
#include "load-tests/process_stats.hpp"
#include "load-tests/w1.hpp"
#include "load-tests/w1_http.hpp"
#include "load-tests/w1_report.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"

namespace {

using namespace herald;
using namespace herald::actors;
using herald::load::w1_config;
using herald::load::w1_recorder;

struct options {
  std::string workload = "w1";
  w1_config w1;
  std::string mode = "throughput";
  storage::durability durability = storage::durability::sync;
  size_t threads = 0;
  /// CAF's work-stealing scheduler instead of herald's (for comparison).
  bool caf_work_stealing = false;
  int timeout_s = 600;
  /// Give up when no send happened for this long.
  int stall_s = 30;
  /// The group commit waits this long for more sets before a round (-1:
  /// storage's default).
  int linger_us = -1;
  /// Idle enrollments passivate when their next step is this far (-1: the
  /// runtime's default).
  int64_t passivate_after_ms = -1;
  /// Where to write every send as CSV (none: nowhere).
  std::string sends_csv;
  /// The most a group-commit round writes, in KiB (0: storage's default).
  size_t round_kib = 0;
  /// How many enrollments may wait for their first job before enroll() waits
  /// (-1: the runtime's default; 0: no bound).
  int64_t max_pending_enrolls = -1;
  /// Actors kept for reuse (-1: the runtime's default).
  int64_t max_parked = -1;
  /// W1 over HTTP: herald's URL, or a herald binary to start.
  std::string http;
  std::string spawn;
  std::string admin_token;
  int import_threads = 4;
  bool histories = true;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(
    stderr,
    "herald-load: %s\nusage: herald-load w1 [--leads N] [--workspaces N] "
    "[--mode throughput|lateness] [--durability sync|async] "
    "[--threads N] [--scheduler herald|caf] [--timeout-s N] [--stall-s N] "
    "[--linger-us N] [--round-kib "
    "N] [--passivate-after-ms N] [--max-pending-enrolls N] [--max-parked N] "
    "[--sends-csv "
    "FILE]\n"
    "       herald-load w1 --http URL [--admin-token T] | --spawn-herald BIN "
    "(W1 over the API; also --import-threads N, --histories on|off)\n"
    "       herald-load memory [--leads N] [--workspaces N] "
    "[--durability sync|async] [--threads N]\n"
    "       both: [--email-accounts N] [--linkedin-accounts N] (per "
    "workspace, 1-499)\n",
    why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  if (argc < 2 ||
      (std::strcmp(argv[1], "w1") != 0 && std::strcmp(argv[1], "memory") != 0))
    usage("the first argument is the workload: w1 or memory");
  options o;
  o.workload = argv[1];
  if (o.workload == "memory") o.w1.leads = 1'000'000;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + flag).c_str());
    std::string value = argv[++i];
    try {
      if (flag == "--leads")
        o.w1.leads = std::stoull(value);
      else if (flag == "--workspaces")
        o.w1.workspaces = static_cast<uint32_t>(std::stoul(value));
      else if (flag == "--email-accounts" && std::stoul(value) >= 1 &&
               std::stoul(value) < 500)
        o.w1.email_accounts = static_cast<uint32_t>(std::stoul(value));
      else if (flag == "--linkedin-accounts" && std::stoul(value) >= 1 &&
               std::stoul(value) < 500)
        o.w1.linkedin_accounts = static_cast<uint32_t>(std::stoul(value));
      else if (flag == "--threads")
        o.threads = std::stoul(value);
      else if (flag == "--scheduler" && (value == "herald" || value == "caf"))
        o.caf_work_stealing = value == "caf";
      else if (flag == "--timeout-s")
        o.timeout_s = std::stoi(value);
      else if (flag == "--stall-s")
        o.stall_s = std::stoi(value);
      else if (flag == "--linger-us")
        o.linger_us = std::stoi(value);
      else if (flag == "--passivate-after-ms")
        o.passivate_after_ms = std::stoll(value);
      else if (flag == "--sends-csv")
        o.sends_csv = value;
      else if (flag == "--round-kib")
        o.round_kib = std::stoul(value);
      else if (flag == "--max-pending-enrolls")
        o.max_pending_enrolls = std::stoll(value);
      else if (flag == "--max-parked")
        o.max_parked = std::stoll(value);
      else if (flag == "--http")
        o.http = value;
      else if (flag == "--spawn-herald")
        o.spawn = value;
      else if (flag == "--admin-token")
        o.admin_token = value;
      else if (flag == "--import-threads")
        o.import_threads = std::stoi(value);
      else if (flag == "--histories" && (value == "on" || value == "off"))
        o.histories = value == "on";
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
      runtime_->deliver(r.enrollment, lead_event::reply);
      std::lock_guard lk{mu_};
      out_.reply_acknowledged(lead, now);
    }
    done(send_report{send_outcome::sent, "simulated"});
  }
  bool direct() const override { return true; }

  uint64_t sends() const { return sends_.load(std::memory_order_relaxed); }

 private:
  const w1_config& config_;
  const herald::clock& time_;
  w1_recorder& out_;
  runtime* runtime_ = nullptr;
  std::mutex mu_;
  std::atomic<uint64_t> sends_{0};
};

// The W1 world inside a runtime: per workspace, accounts with every limit off
// and the W1 sequence on the relative schedule (its first step `first_delay`
// days after enrollment). Leads are stored as an import would store them, so
// that a passivated enrollment can be activated again.
class w1_world {
 public:
  w1_world(const w1_config& c, runtime& rt, storage::group_commit& gc,
           const herald::clock& time, int first_delay)
    : config_(c), rt_(rt), gc_(gc) {
    const auto* utc = date::locate_zone("UTC");
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
        rt.add_account(a, utc);
      };
      for (uint32_t i = 0; i < c.email_accounts; ++i)
        make(uint64_t{w} * 1000 + i + 1, channel::email);
      for (uint32_t i = 0; i < c.linkedin_accounts; ++i)
        make(uint64_t{w} * 1000 + 500 + i + 1, channel::linkedin);
      auto env = std::make_shared<sequence_env>();
      auto& seq = env->seq;
      seq.id = sequence_id{w + 1};
      seq.workspace = workspace_id{w + 1};
      seq.status = sequence_status::active;
      seq.schedule.mode = schedule_mode::relative;
      seq.schedule.day = duration{c.day_ms};
      seq.steps = herald::load::w1_sequence_steps();
      seq.steps[0].delay_days = first_delay;
      env->calendar = seq.schedule.calendar;
      for (const auto& s : seq.steps) {
        auto compiled = compiled_message::compile(s.message);
        env->messages.push_back(std::move(*compiled));
      }
      rt.add_sequence(std::move(env), utc);
    }
  }

  lead contact(uint64_t i) const {
    auto plan = herald::load::plan_lead(config_, i);
    lead l;
    l.id = lead_id{i + 1};
    l.workspace = workspace_id{plan.workspace + 1};
    l.email = "lead" + std::to_string(i) + "@example.test";
    l.linkedin_url = "https://www.linkedin.com/in/lead" + std::to_string(i);
    return l;
  }

  /// Stores every lead (the import), in write sets of a thousand.
  void store_leads() {
    storage::write_set w;
    for (uint64_t i = 0; i < config_.leads; ++i) {
      auto l = contact(i);
      w.put(storage::cf::leads, storage::key::lead(l.workspace, l.id),
            storage::encode(l));
      if (w.count() == 1000 || i + 1 == config_.leads) {
        gc_.submit(std::move(w), nullptr);
        w = storage::write_set{};
      }
    }
    gc_.flush_once();
  }

  /// Enrolls lead `i` into its workspace's sequence.
  void enroll(uint64_t i) {
    auto plan = herald::load::plan_lead(config_, i);
    auto l = std::make_shared<lead>(contact(i));
    enrollment e;
    e.id = enrollment_id{i + 1};
    e.workspace = l->workspace;
    e.sequence = sequence_id{plan.workspace + 1};
    e.lead = l->id;
    e.email_sender =
      account_id{uint64_t{plan.workspace} * 1000 + plan.email_account + 1};
    e.linkedin_sender = account_id{uint64_t{plan.workspace} * 1000 + 500 +
                                   plan.linkedin_account + 1};
    rt_.enroll(e, std::move(l), false);
  }

 private:
  const w1_config& config_;
  runtime& rt_;
  storage::group_commit& gc_;
};

boost::json::object commit_json(const storage::group_commit::totals& t) {
  return {{"rounds", t.rounds},
          {"sets", t.sets},
          {"mutations", t.mutations},
          {"bytes", t.bytes},
          {"largest_round", t.largest_round},
          {"sets_per_round",
           t.rounds > 0 ? static_cast<double>(t.sets) / t.rounds : 0.0}};
}

boost::json::object runtime_json(const runtime::totals& t) {
  return {{"enrolled", t.enrolled},
          {"resident", t.resident},
          {"activations", t.activations},
          {"passivations", t.passivations},
          {"failed_activations", t.failed_activations},
          {"stale_dropped", t.stale_dropped},
          {"deferred_activations", t.deferred_activations},
          {"reused", t.reused},
          {"parked", t.parked}};
}

int run_w1(const options& opt, storage::group_commit& gc, runtime& rt,
           const herald::clock& time) {
  const auto& c = opt.w1;
  auto expectation = herald::load::expected(c);
  w1_recorder recorder{c};
  w1_provider delivery{c, time, recorder};
  delivery.attach(&rt);
  rt.add_channel(channel::email, &delivery);
  rt.add_channel(channel::linkedin, &delivery);
  w1_world world{c, rt, gc, time, 0};
  world.store_leads();

  auto peak_before = herald::load::rss().peak_bytes;
  auto cpu0 = herald::load::cpu_seconds();
  rt.start_ticker(std::chrono::milliseconds{1});
  auto start = time.now();
  for (uint64_t i = 0; i < c.leads; ++i)
    world.enroll(i);
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
  // The last outcomes are durable a little after the last sends; halted
  // enrollments leave memory then.
  gc.flush_once();
  for (int i = 0; i < 250 && rt.stats().resident > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  auto totals = rt.stats();
  rt.stop();
  gc.stop();

  if (!opt.sends_csv.empty()) {
    std::ofstream csv{opt.sends_csv};
    recorder.write_csv(csv);
  }
  auto inv = recorder.check();
  auto span = recorder.send_span();
  double wall_s =
    span ? static_cast<double>(span->second - to_ms(start)) / 1000.0 : 0.0;
  auto sends = recorder.sends();
  auto late = herald::load::lateness_json(recorder);
  auto config = herald::load::config_json(c);
  config["threads"] = opt.threads;
  config["scheduler"] = opt.caf_work_stealing ? "caf" : "herald";
  config["max_pending_enrolls"] = opt.max_pending_enrolls;
  config["max_parked"] = opt.max_parked;
  config["cores"] = std::thread::hardware_concurrency();
  boost::json::object report{
    {"harness", "herald"},
    {"workload", "w1"},
    {"mode", opt.mode},
    {"durability",
     opt.durability == storage::durability::sync ? "sync" : "async"},
    {"config", std::move(config)},
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
    {"runtime", runtime_json(totals)},
    {"group_commit", commit_json(gc.stats())},
    {"invariants", herald::load::invariants_json(inv)},
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
  if (totals.failed_activations > 0) {
    std::fprintf(stderr, "  %llu activations failed\n",
                 static_cast<unsigned long long>(totals.failed_activations));
    return 1;
  }
  if (opt.passivate_after_ms >= 0 && totals.activations == 0) {
    std::fprintf(stderr, "  asked to passivate, but nothing was activated\n");
    return 1;
  }
  return inv.ok() ? 0 : 1;
}

// Enrolls every lead with its first step three days away, waits until the
// enrollments have left memory, and reports the resident bytes each one costs
// (the process's RSS growth over the leads, RocksDB's bounded caches
// included).
int run_memory(const options& opt, storage::store& db,
               storage::group_commit& gc, runtime& rt,
               const herald::clock& time, prometheus::Registry& metrics) {
  auto c = opt.w1;
  c.day_ms = days_ms(1).count();
  sim_provider delivery;
  rt.add_channel(channel::email, &delivery);
  rt.add_channel(channel::linkedin, &delivery);
  w1_world world{c, rt, gc, time, 3};
  world.store_leads();
  auto before = herald::load::rss().now_bytes;
  auto cpu0 = herald::load::cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < c.leads; ++i) {
    world.enroll(i);
    // Enroll no faster than enrollments settle, as an import would.
    if (i % 1024 == 0)
      while (rt.stats().resident > 20'000)
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  while (rt.stats().resident > 0 && std::chrono::steady_clock::now() - t0 <
                                      std::chrono::seconds{opt.timeout_s})
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  // The actors they left, kept for reuse, quit while nothing is due, down to
  // the runtime's keep (about 10 µs of CPU each, on the CAF thread after they
  // leave the pool): the idle state is measured once they have.
  while (rt.stats().parked > runtime_options{}.keep_parked &&
         std::chrono::steady_clock::now() - t0 <
           std::chrono::seconds{opt.timeout_s})
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  std::this_thread::sleep_for(std::chrono::seconds{2});
  auto enroll_s =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
  auto cpu = herald::load::cpu_seconds() - cpu0;
  auto after = herald::load::rss().now_bytes;
  auto totals = rt.stats();
  // What a million waiting enrollments cost while nothing is due: the ticker
  // and the timer shards' advances.
  auto idle0 = herald::load::cpu_seconds();
  std::this_thread::sleep_for(std::chrono::seconds{2});
  auto idle_cpu_pct = (herald::load::cpu_seconds() - idle0) / 2.0 * 100.0;
  auto per = (after - before) / static_cast<double>(c.leads);
  // What /metrics costs over all of it: the registry and the engine's state,
  // serialized (the median of 11).
  std::vector<double> scrapes;
  size_t scrape_bytes = 0;
  for (int i = 0; i < 11; ++i) {
    auto s0 = std::chrono::steady_clock::now();
    auto families = metrics.Collect();
    auto state = rt.collect();
    families.insert(families.end(), state.begin(), state.end());
    scrape_bytes = prometheus::TextSerializer{}.Serialize(families).size();
    scrapes.push_back(std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - s0)
                        .count());
  }
  std::sort(scrapes.begin(), scrapes.end());
  rt.stop();
  // A restart: a second runtime on the same store recovers the million (the
  // first one's memory is still held, so the figure is what recovery adds).
  gc.flush_once();
  runtime_options again_options;
  again_options.threads = opt.threads;
  again_options.caf_work_stealing = opt.caf_work_stealing;
  runtime again{again_options, time, db, gc};
  w1_world again_world{c, again, gc, time, 3};
  auto rss_before_recovery = herald::load::rss().now_bytes;
  auto r0 = std::chrono::steady_clock::now();
  auto recovered = again.recover();
  auto recover_s =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - r0)
      .count();
  auto recovery_bytes = (herald::load::rss().now_bytes - rss_before_recovery) /
                        static_cast<double>(c.leads);
  again.stop();
  boost::json::object recovery{
    {"ok", static_cast<bool>(recovered)},
    {"seconds", recover_s},
    {"enrollments", recovered ? recovered->enrollments : 0},
    {"armed", recovered ? recovered->armed : 0},
    {"resolved", recovered ? recovered->resolved : 0},
    {"bytes_per_enrollment", recovery_bytes}};
  boost::json::object report{
    {"harness", "herald"},
    {"workload", "memory"},
    {"durability",
     opt.durability == storage::durability::sync ? "sync" : "async"},
    {"leads", c.leads},
    {"enroll_s", enroll_s},
    {"enrolls_per_s", static_cast<double>(c.leads) / enroll_s},
    {"cpu_us_per_enroll", cpu * 1e6 / static_cast<double>(c.leads)},
    {"rss_before_mb", before / (1 << 20)},
    {"rss_after_mb", after / (1 << 20)},
    {"bytes_per_idle_enrollment", per},
    {"idle_cpu_pct", idle_cpu_pct},
    {"accounts", c.workspaces * (c.email_accounts + c.linkedin_accounts)},
    {"scrape_ms", scrapes[scrapes.size() / 2]},
    {"scrape_bytes", scrape_bytes},
    {"runtime", runtime_json(totals)},
    {"group_commit", commit_json(gc.stats())},
    {"recovery", recovery},
  };
  gc.stop();
  std::cout << boost::json::serialize(report) << std::endl;
  std::fprintf(stderr,
               "\nherald memory: %llu enrollments idle, %zu resident; RSS "
               "%.0f -> %.0f MB: %.0f bytes per idle enrollment; idle CPU "
               "%.2f%%; recovered in %.2f s, %.0f bytes each\n",
               static_cast<unsigned long long>(c.leads), totals.resident,
               before / (1 << 20), after / (1 << 20), per, idle_cpu_pct,
               recover_s, recovery_bytes);
  return totals.resident == 0 && totals.enrolled == c.leads && recovered &&
             recovered->enrollments == c.leads
           ? 0
           : 1;
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  if (!opt.http.empty() || !opt.spawn.empty()) {
    if (opt.workload != "w1") usage("--http and --spawn-herald run w1");
    herald::load::w1_http_options h;
    h.w1 = opt.w1;
    h.mode = opt.mode;
    h.url = opt.http;
    h.spawn = opt.spawn;
    h.admin_token = opt.admin_token;
    if (h.admin_token.empty())
      if (const char* t = std::getenv("HERALD_ADMIN_TOKEN")) h.admin_token = t;
    h.durability =
      opt.durability == storage::durability::sync ? "sync" : "async";
    h.timeout_s = opt.timeout_s;
    h.stall_s = opt.stall_s;
    h.import_threads = opt.import_threads;
    h.histories = opt.histories;
    h.sends_csv = opt.sends_csv;
    return herald::load::run_w1_http(h);
  }
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             ("herald-load-" + std::to_string(rd()));
  storage::storage_options so;
  so.path = dir.string();
  so.mode = opt.durability;
  if (opt.linger_us >= 0) so.linger = std::chrono::microseconds{opt.linger_us};
  if (opt.round_kib > 0) so.max_batch_bytes = opt.round_kib << 10;
  auto opened = storage::store::open(so);
  if (!opened) {
    std::fprintf(stderr, "herald-load: %s\n", opened.error().message.c_str());
    return 2;
  }
  auto db = std::move(*opened);
  int status = 0;
  {
    // As in the herald executable: what the libraries count for /metrics.
    prometheus::Registry metrics;
    storage::group_commit gc{*db, &metrics};
    system_clock time;
    runtime_options ro;
    ro.threads = opt.threads;
    ro.caf_work_stealing = opt.caf_work_stealing;
    if (opt.passivate_after_ms >= 0)
      ro.passivate_after = duration{opt.passivate_after_ms};
    if (opt.max_pending_enrolls >= 0)
      ro.max_pending_enrolls = static_cast<size_t>(opt.max_pending_enrolls);
    if (opt.max_parked >= 0)
      ro.max_parked = static_cast<size_t>(opt.max_parked);
    runtime rt{ro, time, *db, gc, &metrics};
    status = opt.workload == "w1" ? run_w1(opt, gc, rt, time)
                                  : run_memory(opt, *db, gc, rt, time, metrics);
  }
  db.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return status;
}
