// The herald executable as a user runs it: started, asked over HTTP, stopped
// with SIGTERM, started again on the same data.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;

// A port free now (the OS picks it; herald binds it right after).
uint16_t free_port() {
  net::io_context ioc;
  tcp::acceptor a{ioc, {net::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

class Herald : public ::testing::Test {
 protected:
  Herald() {
    dir_ = std::filesystem::temp_directory_path() /
           ("herald-process-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    port_ = free_port();
  }
  ~Herald() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  // Where herald's standard output goes.
  std::string log_path() const {
    return (dir_.parent_path() /
            ("herald-process-" + std::to_string(::getpid()) + ".log"))
      .string();
  }

  // Starts herald (with `extra` flags) and waits (at most 30 s) until
  // /readyz answers 200.
  void start(std::vector<std::string> extra = {}) {
    auto log = log_path();
    std::vector<std::string> args{HERALD_BINARY,
                                  "--data-dir",
                                  dir_.string(),
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(port_),
                                  "--clock",
                                  "manual"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::freopen(log.c_str(), "w", stdout);
      ::execv(HERALD_BINARY, argv.data());
      ::_exit(127);
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (std::chrono::steady_clock::now() < until) {
      if (auto r = ask(http::verb::get, "/readyz", {});
          r && r->result() == http::status::ok)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    FAIL() << "herald did not become ready";
  }

  // Sends SIGTERM; the exit status.
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  std::optional<http::response<http::string_body>> ask(http::verb method,
                                                       std::string target,
                                                       std::string token,
                                                       std::string body = {}) {
    try {
      net::io_context ioc;
      tcp::socket s{ioc};
      s.connect({net::ip::make_address("127.0.0.1"), port_});
      http::request<http::string_body> req{method, target, 11};
      req.set(http::field::host, "127.0.0.1");
      if (!token.empty())
        req.set(http::field::authorization, "Bearer " + token);
      if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = std::move(body);
      }
      req.prepare_payload();
      http::write(s, req);
      beast::flat_buffer buf;
      http::response<http::string_body> res;
      http::read(s, buf, res);
      return res;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  std::string admin_token() {
    std::ifstream in{dir_ / "admin.token"};
    std::string t;
    std::getline(in, t);
    return t;
  }

  std::filesystem::path dir_;

 private:
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(Herald, StopsOnSigtermAndKeepsItsWorkspacesAndKeysAcrossARestart) {
  start();
  auto token = admin_token();
  ASSERT_EQ(token.size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "admin.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto made = ask(http::verb::post, "/v1/workspaces", token,
                  R"({"name":"Acme","timezone":"America/New_York"})");
  ASSERT_TRUE(made);
  ASSERT_EQ(made->result(), http::status::created) << made->body();
  auto w = json::parse(made->body()).as_object();
  std::string id{w.at("id").as_string()};
  std::string key{w.at("api_key").as_string()};
  EXPECT_EQ(stop(), 0);

  start();
  EXPECT_EQ(admin_token(), token);
  auto got = ask(http::verb::get, "/v1/workspaces/" + id, token);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->result(), http::status::ok);
  EXPECT_EQ(json::parse(got->body()).at("timezone"), "America/New_York");
  auto inbox =
    ask(http::verb::get, "/v1/sequences/seq_0000000000000001/stats", key);
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->result(), http::status::not_found);
  EXPECT_EQ(stop(), 0);
}

// Everything a user made survives a restart: the sequence, its enrollments
// with their due times, the inbox; and the recovered enrollments go on.
TEST_F(Herald, KeepsSequencesEnrollmentsAndTheInboxAcrossARestart) {
  start();
  auto token = admin_token();
  auto w = json::parse(ask(http::verb::post, "/v1/workspaces", token,
                           R"({"name":"Acme","timezone":"UTC"})")
                         ->body())
             .as_object();
  std::string key{w.at("api_key").as_string()};
  auto call = [&](http::verb m, std::string target, std::string b = {}) {
    auto res = ask(m, std::move(target), key, std::move(b));
    EXPECT_TRUE(res);
    return res ? *res : http::response<http::string_body>{};
  };
  auto acc = json::parse(call(http::verb::post, "/v1/accounts", R"({
    "name":"A","channel":"email","provider":{"type":"sim"},
    "limits":{"window":{"start":"00:00","end":"23:59"},"spacing_s":0,"jitter_s":0}})")
                           .body());
  std::string account{acc.at("id").as_string()};
  auto seq = json::parse(call(http::verb::post, "/v1/sequences", R"({
    "name":"S","senders":{"email":[")" + account + R"("]},
    "schedule":{"mode":"relative","day_ms":3600000},
    "steps":[{"channel":"email","delay_days":1,"template":{"subject":"Hi","body":"One"}},
             {"channel":"email","delay_days":1,"condition":"no_reply","template":{"subject":"Re","body":"Two"}}]})")
                           .body());
  std::string path = "/v1/sequences/" + std::string{seq.at("id").as_string()};
  call(http::verb::post, path + "/steps/1/approve");
  call(http::verb::post, path + "/steps/2/approve");
  ASSERT_EQ(call(http::verb::post, path + "/launch").result(),
            http::status::ok);
  auto imported = call(http::verb::post, path + "/leads", R"([
    {"external_id":"ann","email":"ann@acme.com"},
    {"external_id":"bob","email":"bob@beta.io"}])");
  ASSERT_EQ(json::parse(imported.body()).at("enrolled"), 2) << imported.body();
  auto reply =
    call(http::verb::post, "/v1/events",
         R"({"event_id":"m1","type":"reply","external_id":"ann","text":"no"})");
  ASSERT_EQ(reply.result(), http::status::accepted) << reply.body();
  // Right after the import, the reply still finds Ann's enrollment.
  EXPECT_EQ(json::parse(reply.body()).at("enrollments"), 1) << reply.body();
  // The list reads snapshots, which the group commit writes a round or so
  // behind the import and the acknowledged reply.
  json::value before;
  auto settled = [&] {
    size_t replied = 0;
    for (const auto& x : before.at("items").as_array())
      replied += x.at("state") == "replied";
    return before.at("items").as_array().size() == 2 && replied == 1;
  };
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  do {
    before = json::parse(call(http::verb::get, path + "/leads").body());
  } while (!settled() && std::chrono::steady_clock::now() < until);
  ASSERT_TRUE(settled()) << json::serialize(before);
  EXPECT_EQ(stop(), 0);

  start();
  EXPECT_EQ(json::parse(call(http::verb::get, path).body()).at("status"),
            "active");
  auto after = json::parse(call(http::verb::get, path + "/leads").body());
  EXPECT_EQ(after, before);
  auto inbox = json::parse(call(http::verb::get, "/v1/inbox").body());
  ASSERT_EQ(inbox.at("items").as_array().size(), 1u);
  EXPECT_EQ(inbox.at("items").at(0).at("text"), "no");
  // The recovered enrollment goes on: two "days" (hours) later Bob has had
  // his first email, and Ann nothing.
  ASSERT_EQ(
    ask(http::verb::post, "/v1/admin/clock", token, R"({"advance_s":7200})")
      ->result(),
    http::status::ok);
  std::string bob;
  for (const auto& x : after.at("items").as_array())
    if (x.at("state") == "active") bob = std::string{x.at("lead").as_string()};
  ASSERT_FALSE(bob.empty());
  bool sent = false;
  until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (!sent && std::chrono::steady_clock::now() < until) {
    auto view = json::parse(call(http::verb::get, "/v1/leads/" + bob).body());
    for (const auto& h : view.at("history").as_array())
      sent |= h.at("event") == "sent";
    if (!sent) std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  EXPECT_TRUE(sent);
  for (const auto& x : after.at("items").as_array())
    if (x.at("state") == "replied") {
      auto ann =
        json::parse(call(http::verb::get,
                         "/v1/leads/" + std::string{x.at("lead").as_string()})
                      .body());
      for (const auto& h : ann.at("history").as_array())
        EXPECT_NE(h.at("event"), "sent");
    }
  EXPECT_EQ(stop(), 0);
}

// One line per notable event, a JSON object each when asked; secrets never.
TEST_F(Herald, LogsALinePerNotableEventAsJsonWhenAsked) {
  start({"--log-format", "json"});
  auto token = admin_token();
  auto made = ask(http::verb::post, "/v1/workspaces", token,
                  R"({"name":"Acme","timezone":"UTC"})");
  ASSERT_TRUE(made);
  std::string key{json::parse(made->body()).at("api_key").as_string()};
  EXPECT_EQ(stop(), 0);
  std::ifstream in{log_path()};
  std::vector<std::string> events;
  for (std::string line; std::getline(in, line);) {
    EXPECT_EQ(line.find(key), std::string::npos);
    EXPECT_EQ(line.find(token), std::string::npos);
    auto o = json::parse(line).as_object();
    EXPECT_TRUE(o.contains("time")) << line;
    EXPECT_EQ(o.at("level"), "info") << line;
    events.emplace_back(o.at("event").as_string());
  }
  EXPECT_EQ(events, (std::vector<std::string>{"recovered", "serving",
                                              "workspace_created", "stopping",
                                              "stopped"}));
}

} // namespace
