#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace herald::config {
namespace {

// A fake environment and a temporary directory for config files.
class Config : public ::testing::Test {
 protected:
  Config() {
    dir_ = std::filesystem::temp_directory_path() /
           ("herald-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  ~Config() override { std::filesystem::remove_all(dir_); }

  std::string write_file(const std::string& text) {
    auto path = (dir_ / "herald.toml").string();
    std::ofstream{path} << text;
    return path;
  }

  result<settings, load_error> run(std::vector<std::string> args) {
    return load(args, [this](const char* name) -> const char* {
      auto i = env.find(name);
      return i == env.end() ? nullptr : i->second.c_str();
    });
  }

  // The error of a load that must fail.
  std::string error_of(std::vector<std::string> args) {
    auto r = run(std::move(args));
    EXPECT_FALSE(r.has_value());
    return r ? std::string{} : r.error().message;
  }

  std::map<std::string, std::string> env;

 private:
  std::filesystem::path dir_;
};

TEST_F(Config, DefaultsAreLoopbackAndSyncUnderDotData) {
  auto s = run({});
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->data_dir, "./data");
  EXPECT_EQ(s->http.host, "127.0.0.1");
  EXPECT_EQ(s->http.port, 8080);
  EXPECT_EQ(s->http.max_body_bytes, size_t{1} << 20);
  EXPECT_EQ(s->clock, clock_kind::system);
  EXPECT_EQ(s->storage.mode, storage::durability::sync);
  EXPECT_EQ(s->storage.path, "./data/db");
  EXPECT_EQ(s->admin_token_file, "./data/admin.token");
  EXPECT_TRUE(s->admin_token.empty());
}

TEST_F(Config, FlagsBeatTheEnvironmentWhichBeatsTheFile) {
  auto file = write_file("[http]\nthreads = 3\n[runtime]\nthreads = 1\n");
  env["HERALD_CONFIG"] = file;
  auto from_file = run({});
  ASSERT_TRUE(from_file.has_value()) << from_file.error().message;
  EXPECT_EQ(from_file->http.threads, 3u);
  EXPECT_EQ(from_file->runtime.threads, 1u);
  env["HERALD_HTTP_THREADS"] = "5";
  auto from_env = run({});
  ASSERT_TRUE(from_env.has_value()) << from_env.error().message;
  EXPECT_EQ(from_env->http.threads, 5u);
  EXPECT_EQ(from_env->runtime.threads, 1u);
  auto from_flag = run({"--http-threads", "7", "--data-dir", "/srv/h"});
  ASSERT_TRUE(from_flag.has_value()) << from_flag.error().message;
  EXPECT_EQ(from_flag->http.threads, 7u);
  EXPECT_EQ(from_flag->storage.path, "/srv/h/db");
  EXPECT_EQ(from_flag->admin_token_file, "/srv/h/admin.token");
}

TEST_F(Config, TheCommittedFileIsTheDefaultsAndLoadsAsThem) {
  std::ifstream in{HERALD_DEFAULT_TOML};
  std::string committed{std::istreambuf_iterator<char>{in}, {}};
  EXPECT_EQ(committed, default_toml());
  auto s = run({"--config", HERALD_DEFAULT_TOML});
  ASSERT_TRUE(s.has_value()) << s.error().message;
  auto d = run({});
  EXPECT_EQ(s->data_dir, d->data_dir);
  EXPECT_EQ(s->http.host, d->http.host);
  EXPECT_EQ(s->http.port, d->http.port);
  EXPECT_EQ(s->http.threads, d->http.threads);
  EXPECT_EQ(s->http.read_timeout, d->http.read_timeout);
  EXPECT_EQ(s->http.max_body_bytes, d->http.max_body_bytes);
  EXPECT_EQ(s->http.max_import_bytes, d->http.max_import_bytes);
  EXPECT_EQ(s->storage.mode, d->storage.mode);
  EXPECT_EQ(s->storage.write_buffer_bytes, d->storage.write_buffer_bytes);
  EXPECT_EQ(s->storage.block_cache_bytes, d->storage.block_cache_bytes);
  EXPECT_EQ(s->runtime.threads, d->runtime.threads);
  EXPECT_EQ(s->runtime.io_threads, d->runtime.io_threads);
  EXPECT_EQ(s->webhook.connections, d->webhook.connections);
  EXPECT_EQ(s->webhook.timeout, d->webhook.timeout);
  EXPECT_EQ(s->webhook.retries, d->webhook.retries);
}

TEST_F(Config, WebhookSettingsComeFromEachSource) {
  auto file = write_file("[webhook]\nconnections = 4\ntimeout_s = 3\n");
  auto from_file = run({"--config", file});
  ASSERT_TRUE(from_file.has_value()) << from_file.error().message;
  EXPECT_EQ(from_file->webhook.connections, 4u);
  EXPECT_EQ(from_file->webhook.timeout, std::chrono::seconds{3});
  env["HERALD_WEBHOOK_RETRIES"] = "0";
  auto from_env = run({"--config", file, "--webhook-connections", "9"});
  ASSERT_TRUE(from_env.has_value()) << from_env.error().message;
  EXPECT_EQ(from_env->webhook.retries, 0);
  EXPECT_EQ(from_env->webhook.connections, 9u);
  auto bad = error_of({"--webhook-timeout-s", "0"});
  EXPECT_NE(bad.find("webhook.timeout_s"), std::string::npos) << bad;
}

TEST_F(Config, ErrorsNameTheSettingAndWhereItsValueCameFrom) {
  auto flag = error_of({"--http-threads", "65"});
  EXPECT_NE(flag.find("http.threads"), std::string::npos) << flag;
  EXPECT_NE(flag.find("flag --http-threads"), std::string::npos) << flag;
  env["HERALD_DURABILITY"] = "often";
  auto from_env = error_of({});
  EXPECT_NE(from_env.find("storage.durability"), std::string::npos);
  EXPECT_NE(from_env.find("HERALD_DURABILITY"), std::string::npos);
  EXPECT_NE(from_env.find("'often'"), std::string::npos);
  env.clear();
  auto unknown = error_of({"--config", write_file("[http]\nlisten_on = 1\n")});
  EXPECT_NE(unknown.find("unknown key 'http.listen_on'"), std::string::npos)
    << unknown;
  auto broken = error_of({"--config", write_file("clock = \n")});
  EXPECT_NE(broken.find("line 1"), std::string::npos) << broken;
  auto typed = error_of({"--config", write_file("clock = 1.5\n")});
  EXPECT_NE(typed.find("must be a string or an integer"), std::string::npos);
  auto no_file = error_of({"--config", "/nonexistent/herald.toml"});
  EXPECT_NE(no_file.find("/nonexistent/herald.toml"), std::string::npos);
  auto flag_unknown = error_of({"--listen-on", "x"});
  EXPECT_NE(flag_unknown.find("flags"), std::string::npos) << flag_unknown;
}

TEST_F(Config, ListenTakesHostAndPortOnly) {
  auto v6 = run({"--listen", "[::1]:9000"});
  ASSERT_TRUE(v6.has_value()) << v6.error().message;
  EXPECT_EQ(v6->http.host, "::1");
  EXPECT_EQ(v6->http.port, 9000);
  auto any = run({"--listen", "0.0.0.0:80"});
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->http.host, "0.0.0.0");
  for (std::string bad : {":80", "localhost", "localhost:0", "localhost:70000",
                          "localhost:8o", "[]:80"})
    EXPECT_NE(error_of({"--listen", bad}).find("HOST:PORT"), std::string::npos)
      << bad;
}

TEST_F(Config, TheAdminTokenComesFromTheEnvironmentAndIsChecked) {
  env["HERALD_ADMIN_TOKEN"] = "short";
  EXPECT_NE(error_of({}).find("16 to 256"), std::string::npos);
  env["HERALD_ADMIN_TOKEN"] = "a token with spaces in it";
  EXPECT_NE(error_of({}).find("printable"), std::string::npos);
  env["HERALD_ADMIN_TOKEN"] = "0123456789abcdef0123";
  auto s = run({});
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->admin_token, "0123456789abcdef0123");
}

TEST_F(Config, HelpListsEveryFlagWithItsVariable) {
  auto r = run({"--help"});
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().help);
  for (std::string f : {"--data-dir", "--listen", "--clock", "--durability",
                        "HERALD_THREADS", "--config"})
    EXPECT_NE(r.error().message.find(f), std::string::npos) << f;
}

} // namespace
} // namespace herald::config
