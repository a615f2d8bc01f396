#include "load-tests/w1_http.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/json.hpp>
#include <netinet/in.h>

#include "load-tests/http.hpp"
#include "load-tests/process_stats.hpp"
#include "load-tests/w1_report.hpp"

namespace herald::load {

namespace {

namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// A failed step of the set-up.
struct setup_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

json::object expect(const http_answer& a, unsigned status,
                    const std::string& what) {
  if (a.status != status)
    throw setup_error{what + ": HTTP " + std::to_string(a.status) + " " +
                      a.body};
  if (a.body.empty()) return {};
  return json::parse(a.body).as_object();
}

// A port free now (herald binds it right after).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The herald a run started: its own data directory and port, stopped (and
// the directory removed) at the end.
class spawned_herald {
 public:
  spawned_herald(const std::string& binary, const std::string& durability) {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("herald-load-http-" + std::to_string(rd()));
    port_ = free_port();
    token_ = "load-" + std::to_string(rd()) + std::to_string(rd());
    std::vector<std::string> args{binary,
                                  "--data-dir",
                                  dir_.string(),
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(port_),
                                  "--durability",
                                  durability,
                                  "--log-level",
                                  "warn"};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    auto env = "HERALD_ADMIN_TOKEN=" + token_;
    pid_ = ::fork();
    if (pid_ < 0) throw setup_error{"fork failed"};
    if (pid_ == 0) {
      ::putenv(env.data());
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }

  ~spawned_herald() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  const std::string& token() const { return token_; }

  /// User plus system CPU seconds so far (/proc/<pid>/stat).
  double cpu_seconds() const {
    std::ifstream in{"/proc/" + std::to_string(pid_) + "/stat"};
    std::string all((std::istreambuf_iterator<char>(in)), {});
    auto close = all.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest{all.substr(close + 2)};
    std::string field;
    double ticks = 0;
    // After the name: state is field 3; utime and stime are 14 and 15.
    for (int i = 3; i <= 15 && rest >> field; ++i)
      if (i == 14 || i == 15) ticks += std::stod(field);
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

  /// Peak resident bytes (VmHWM).
  double peak_bytes() const {
    std::ifstream in{"/proc/" + std::to_string(pid_) + "/status"};
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024;
    return 0;
  }

  /// SIGTERM, then the exit status (0: stopped gracefully).
  int stop() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    return status_;
  }

 private:
  std::filesystem::path dir_;
  uint16_t port_ = 0;
  std::string token_;
  pid_t pid_ = -1;
  int status_ = 0;
};

// The lead number in "lead<i>@..." or ".../in/lead<i>".
std::optional<uint64_t> lead_of(std::string_view to) {
  auto at = to.rfind("lead");
  if (at == std::string_view::npos) return std::nullopt;
  uint64_t n = 0;
  size_t digits = 0;
  for (auto i = at + 4;
       i < to.size() && std::isdigit(static_cast<unsigned char>(to[i]));
       ++i, ++digits)
    n = n * 10 + static_cast<uint64_t>(to[i] - '0');
  if (digits == 0) return std::nullopt;
  return n;
}

struct workspace_keys {
  std::string id;
  std::string key;
  std::string sequence;
};

json::object limits_off() {
  return {{"daily_cap", 100'000},
          {"spacing_s", 0},
          {"jitter_s", 0},
          {"window", {{"start", "00:00"}, {"end", "24:00"}}},
          {"invites_per_day", 100'000},
          {"invites_per_week", 100'000},
          {"messages_per_day", 100'000}};
}

// Creates workspace `w` with its accounts (sending to `gateway_url`) and its
// launched W1 sequence.
workspace_keys set_up(http_client& api, const std::string& admin,
                      const w1_config& c, uint32_t w,
                      const std::string& gateway_url) {
  workspace_keys out;
  auto ws = expect(
    api.request("POST", "/v1/workspaces", admin,
                json::serialize(json::object{
                  {"name", "w1-" + std::to_string(w)}, {"timezone", "UTC"}})),
    201, "creating a workspace");
  out.id = ws.at("id").as_string();
  out.key = ws.at("api_key").as_string();
  json::array email, linkedin;
  auto account = [&](const std::string& name, const char* channel) {
    auto a = expect(
      api.request("POST", "/v1/accounts", out.key,
                  json::serialize(json::object{
                    {"name", name},
                    {"channel", channel},
                    {"provider", {{"type", "webhook"}, {"url", gateway_url}}},
                    {"limits", limits_off()}})),
      201, "creating an account");
    return json::value(a.at("id"));
  };
  for (uint32_t i = 0; i < c.email_accounts; ++i)
    email.push_back(account("email-" + std::to_string(i), "email"));
  for (uint32_t i = 0; i < c.linkedin_accounts; ++i)
    linkedin.push_back(account("linkedin-" + std::to_string(i), "linkedin"));
  json::array steps;
  for (int s = 0; s < w1_steps; ++s) {
    json::object step{{"channel", s == 0 ? "linkedin_invite" : "email"},
                      {"delay_days", w1_delay_days[s]},
                      {"condition", s == 0 ? "always" : "no_reply"}};
    if (s == 0)
      step["template"] = {{"body", "Hi"}};
    else
      step["template"] = {{"subject", "Step " + std::to_string(s + 1)},
                          {"body", "Body"}};
    steps.push_back(std::move(step));
  }
  auto seq = expect(
    api.request(
      "POST", "/v1/sequences", out.key,
      json::serialize(json::object{
        {"name", "W1"},
        {"steps", std::move(steps)},
        {"senders", {{"email", std::move(email)}, {"linkedin", linkedin}}},
        {"schedule", {{"mode", "relative"}, {"day_ms", c.day_ms}}}})),
    201, "creating the sequence");
  out.sequence = seq.at("id").as_string();
  auto path = "/v1/sequences/" + out.sequence;
  for (int s = 1; s <= w1_steps; ++s)
    expect(api.request("POST",
                       path + "/steps/" + std::to_string(s) + "/approve",
                       out.key),
           200, "approving a step");
  expect(api.request("POST", path + "/launch", out.key), 200,
         "launching the sequence");
  return out;
}

// The NDJSON import of the leads of workspace `w`.
std::string import_body(const w1_config& c, uint32_t w) {
  std::string body;
  auto per = (c.leads + c.workspaces - 1) / c.workspaces;
  for (uint64_t i = uint64_t{w} * per; i < std::min(c.leads, (w + 1) * per);
       ++i) {
    auto n = std::to_string(i);
    body +=
      R"({"external_id":"w1-)" + n + R"(","email":"lead)" + n +
      R"(@example.test","linkedin_url":"https://www.linkedin.com/in/lead)" + n +
      "\"}\n";
  }
  return body;
}

} // namespace

int run_w1_http(const w1_http_options& o) {
  const auto& c = o.w1;
  std::unique_ptr<spawned_herald> child;
  std::string base = o.url;
  std::string admin = o.admin_token;
  try {
    if (!o.spawn.empty()) {
      child = std::make_unique<spawned_herald>(o.spawn, o.durability);
      base = child->url();
      admin = child->token();
    }
  } catch (const setup_error& e) {
    std::fprintf(stderr, "herald-load: %s\n", e.what());
    return 2;
  }
  auto colon = base.rfind(':');
  if (base.rfind("http://", 0) != 0 || colon < 7) {
    std::fprintf(stderr, "herald-load: --http wants http://host:port\n");
    return 2;
  }
  auto host = base.substr(7, colon - 7);
  auto port = base.substr(colon + 1);
  http_client api{host, port};
  // Ready (a spawned herald recovers first).
  auto ready_by = clock_type::now() + std::chrono::seconds{30};
  while (api.request("GET", "/readyz", "").status != 200) {
    if (clock_type::now() > ready_by) {
      std::fprintf(stderr, "herald-load: %s did not become ready\n",
                   base.c_str());
      return 2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }

  auto expectation = expected(c);
  std::vector<workspace_keys> spaces(c.workspaces);
  // The gateway: records each first call of a key, and for a lead that
  // replies after this step posts the reply and waits for its
  // acknowledgement before answering (so the next step can only be decided
  // after it).
  w1_recorder recorder{c};
  std::mutex mu;
  std::unordered_set<std::string> keys;
  std::vector<uint8_t> sent_bits(c.leads, 0);
  std::vector<std::string> lead_ids(c.leads);
  std::atomic<uint64_t> sends{0}, repeats{0}, bad_calls{0}, replies{0},
    reply_failures{0};
  gateway gw{[&](const gateway_call& call) -> gateway_answer {
    json::error_code ec;
    auto v = json::parse(call.body, ec);
    if (ec || !v.is_object()) {
      ++bad_calls;
      return {400, R"({"error":"not JSON"})"};
    }
    const auto& b = v.as_object();
    auto* to = b.if_contains("to");
    auto* step = b.if_contains("step");
    auto* due = b.if_contains("due_unix_ms");
    auto* lead = b.if_contains("lead");
    std::optional<uint64_t> i;
    if (to != nullptr && to->is_string()) i = lead_of(to->as_string());
    if (!i || *i >= c.leads || step == nullptr || !step->is_int64() ||
        due == nullptr || !due->is_int64() || lead == nullptr ||
        !lead->is_string()) {
      ++bad_calls;
      return {400, R"({"error":"not a W1 send"})"};
    }
    auto now = wall_ms();
    auto k = static_cast<int>(step->as_int64());
    {
      std::lock_guard lk{mu};
      if (!keys.insert(call.idempotency_key).second) {
        ++repeats; // the same call again: answered, not sent twice
        return {};
      }
      recorder.sent(*i, k, due->as_int64(), now);
      if (k >= 1 && k <= w1_steps) sent_bits[*i] |= uint8_t(1u << (k - 1));
      if (lead_ids[*i].empty()) lead_ids[*i] = lead->as_string();
    }
    ++sends;
    auto plan = plan_lead(c, *i);
    if (plan.replies_after == k) {
      thread_local std::unique_ptr<http_client> events;
      if (!events) events = std::make_unique<http_client>(host, port);
      auto n = std::to_string(*i);
      auto a =
        events->request("POST", "/v1/events", spaces[plan.workspace].key,
                        R"({"event_id":"w1-reply-)" + n +
                          R"(","type":"reply","external_id":"w1-)" + n + "\"}");
      if (a.status == 202 || a.status == 200) {
        ++replies;
        std::lock_guard lk{mu};
        recorder.reply_acknowledged(*i, wall_ms());
      } else {
        ++reply_failures;
      }
    }
    return {};
  }};

  try {
    for (uint32_t w = 0; w < c.workspaces; ++w)
      spaces[w] = set_up(api, admin, c, w, gw.url("/send"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "herald-load: set-up: %s\n", e.what());
    return 2;
  }
  std::vector<std::string> bodies(c.workspaces);
  for (uint32_t w = 0; w < c.workspaces; ++w)
    bodies[w] = import_body(c, w);

  // From the first import on: herald's CPU and ours.
  auto herald_cpu0 = child ? child->cpu_seconds() : 0.0;
  auto own_cpu0 = cpu_seconds();
  auto start_ms = wall_ms();
  std::atomic<uint32_t> next{0};
  std::atomic<uint64_t> enrolled{0};
  std::atomic<int> import_failures{0};
  std::vector<std::thread> importers;
  for (int t = 0; t < std::max(1, o.import_threads); ++t)
    importers.emplace_back([&] {
      http_client mine{host, port};
      for (auto w = next++; w < c.workspaces; w = next++) {
        auto a = mine.request(
          "POST", "/v1/sequences/" + spaces[w].sequence + "/leads",
          spaces[w].key, std::move(bodies[w]), "application/x-ndjson");
        if (a.status != 200) {
          std::fprintf(stderr, "herald-load: import: HTTP %u %s\n", a.status,
                       a.body.c_str());
          ++import_failures;
          continue;
        }
        enrolled += json::parse(a.body).at("enrolled").to_number<uint64_t>();
      }
    });
  for (auto& t : importers)
    t.join();
  auto imported_ms = wall_ms();

  auto deadline = clock_type::now() + std::chrono::seconds{o.timeout_s};
  uint64_t last = 0;
  auto last_progress = clock_type::now();
  while (sends.load() < expectation.sends && clock_type::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    if (sends.load() != last) {
      last = sends.load();
      last_progress = clock_type::now();
    } else if (clock_type::now() - last_progress >
               std::chrono::seconds{o.stall_s}) {
      break;
    }
  }
  // A little longer, so that sends beyond the expected ones would show.
  std::this_thread::sleep_for(std::chrono::milliseconds{100 + 10 * c.day_ms});
  auto herald_cpu = child ? child->cpu_seconds() - herald_cpu0 : 0.0;
  auto own_cpu = cpu_seconds() - own_cpu0;
  auto herald_peak = child ? child->peak_bytes() : 0.0;

  // Every lead the gateway heard of: its history must say the same steps
  // were sent.
  uint64_t checked = 0, mismatches = 0;
  if (o.histories) {
    std::atomic<uint64_t> at{0}, ok{0}, bad{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t)
      readers.emplace_back([&] {
        http_client mine{host, port};
        for (auto i = at++; i < c.leads; i = at++) {
          if (lead_ids[i].empty()) continue;
          auto plan = plan_lead(c, i);
          auto a = mine.request("GET", "/v1/leads/" + lead_ids[i],
                                spaces[plan.workspace].key);
          uint8_t bits = 0;
          if (a.status == 200)
            for (const auto& h : json::parse(a.body).at("history").as_array()) {
              const auto& e = h.as_object();
              auto s = e.at("step").to_number<int>();
              if (e.at("event") == "sent" && s >= 1 && s <= w1_steps)
                bits |= uint8_t(1u << (s - 1));
            }
          (a.status == 200 && bits == sent_bits[i] ? ok : bad)++;
        }
      });
    for (auto& t : readers)
      t.join();
    checked = ok + bad;
    mismatches = bad;
  }
  int herald_exit = child ? child->stop() : 0;

  if (!o.sends_csv.empty()) {
    std::ofstream csv{o.sends_csv};
    recorder.write_csv(csv);
  }
  auto inv = recorder.check();
  auto span = recorder.send_span();
  double wall_s =
    span ? static_cast<double>(span->second - start_ms) / 1000.0 : 0.0;
  auto n = recorder.sends();
  auto late = herald::load::lateness_json(recorder);
  auto config = config_json(c);
  config["import_threads"] = o.import_threads;
  config["cores"] = std::thread::hardware_concurrency();
  bool ok = inv.ok() && mismatches == 0 && reply_failures == 0 &&
            bad_calls == 0 && import_failures == 0 && herald_exit == 0;
  json::object report{
    {"harness", "herald"},
    {"workload", "w1"},
    {"transport", "http"},
    {"mode", o.mode},
    {"durability", o.durability},
    {"herald", child ? "spawned" : base},
    {"config", std::move(config)},
    {"expected_sends", expectation.sends},
    {"repliers", expectation.repliers},
    {"sends", n},
    {"enrolled", enrolled.load()},
    {"import_s", static_cast<double>(imported_ms - start_ms) / 1000.0},
    {"wall_s", wall_s},
    {"steps_per_s", wall_s > 0 ? static_cast<double>(n) / wall_s : 0.0},
    {"lateness_ms", std::move(late)},
    {"rss_peak_mb", herald_peak / (1 << 20)},
    {"cpu_s", herald_cpu},
    {"cpu_us_per_send",
     child && n > 0 ? json::value(herald_cpu * 1e6 / static_cast<double>(n))
                    : json::value(nullptr)},
    {"harness_cpu_s", own_cpu},
    {"gateway",
     {{"calls", n + repeats.load()},
      {"repeats", repeats.load()},
      {"bad_calls", bad_calls.load()},
      {"connections", gw.connections()}}},
    {"replies",
     {{"acknowledged", replies.load()}, {"failed", reply_failures.load()}}},
    {"histories", {{"checked", checked}, {"mismatches", mismatches}}},
    {"herald_exit", herald_exit},
    {"invariants", herald::load::invariants_json(inv)},
  };
  std::cout << json::serialize(report) << std::endl;
  std::fprintf(
    stderr,
    "\nherald W1 over HTTP %s (%s): %llu of %llu sends in %.2f s = %.0f "
    "steps/s; herald %.2f µs CPU per send, the harness %.1f s CPU\n"
    "  lateness p50 %.1f ms, p99 %.1f ms; herald's peak RSS %.0f MB\n"
    "  invariants: after reply %llu, duplicates %llu, missing %llu, "
    "unexpected %llu; histories %llu checked, %llu disagree -> %s\n",
    o.mode.c_str(), o.durability.c_str(), static_cast<unsigned long long>(n),
    static_cast<unsigned long long>(expectation.sends), wall_s,
    wall_s > 0 ? static_cast<double>(n) / wall_s : 0.0,
    n > 0 ? herald_cpu * 1e6 / static_cast<double>(n) : 0.0, own_cpu,
    recorder.lateness().p50, recorder.lateness().p99, herald_peak / (1 << 20),
    static_cast<unsigned long long>(inv.sends_after_reply),
    static_cast<unsigned long long>(inv.duplicate_sends),
    static_cast<unsigned long long>(inv.missing_sends),
    static_cast<unsigned long long>(inv.unexpected_sends),
    static_cast<unsigned long long>(checked),
    static_cast<unsigned long long>(mismatches), ok ? "ok" : "BROKEN");
  return ok ? 0 : 1;
}

} // namespace herald::load
