#pragma once

// What every fuzz target runs against: the real service on a real RocksDB in
// a temporary directory and a deterministic runtime, with one workspace, two
// simulated accounts and a launched sequence, built once per process. A
// target feeds it requests made of its input; herald must answer each
// without crashing and with no 5xx but 501 and 503 (bad input is a 4xx).

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json.hpp>
#include <unistd.h>

#include "actors/provider.hpp"
#include "actors/runtime.hpp"
#include "api/service.hpp"
#include "storage/group_commit.hpp"
#include "storage/store.hpp"

namespace herald::fuzz {

namespace http = api::http;

class world {
 public:
  // Built once and never destroyed: at exit only its directory goes (the
  // runtime's teardown would race CAF's own static destructors).
  static world& get() {
    static world* w = new world;
    return *w;
  }

  api::response call(http::verb method, std::string target,
                     std::string body = {},
                     std::string_view type = "application/json",
                     std::string_view token = {}) {
    api::request req{method, target, 11};
    req.set(http::field::authorization,
            "Bearer " + std::string{token.empty() ? key : token});
    if (!body.empty() || method == http::verb::post)
      req.set(http::field::content_type, type);
    req.body() = std::move(body);
    req.prepare_payload();
    auto res = svc->handle(req);
    engine->settle();
    return res;
  }

  // A 5xx other than 501 (not built) and 503 (not acknowledged in time) is a
  // bug: bad input must get a 4xx.
  static void check(const api::response& res) {
    auto code = res.result_int();
    if (code >= 500 && code != 501 && code != 503) std::abort();
  }

  api::service* svc = nullptr;
  std::unique_ptr<actors::runtime> engine;
  std::string key, sequence, email, linkedin;
  static constexpr std::string_view admin = "fuzz-admin-token-0123456789";

 private:
  world() {
    dir_ = std::filesystem::temp_directory_path() /
           ("herald-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    static std::filesystem::path made;
    made = dir_;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(made, ec);
    });
    storage::storage_options o;
    o.path = dir_.string();
    o.synchronous = true;
    db_ = storage::store::open(o).value();
    registry_ = api::tenants::load(*db_).value();
    senders_ = api::accounts::load(*db_).value();
    campaigns_ = api::sequences::load(*db_).value();
    persister_ = std::make_unique<storage::group_commit>(*db_);
    actors::runtime_options ro;
    ro.deterministic = true;
    engine = std::make_unique<actors::runtime>(ro, time_, *db_, *persister_);
    engine->add_channel(channel::email, &sim_);
    engine->add_channel(channel::linkedin, &sim_);
    if (!engine->recover()) std::abort();
    service_ = std::make_unique<api::service>(
      api::service_options{std::string{admin}, 1 << 20},
      api::service_links{*db_, *registry_, *senders_, *campaigns_, *engine,
                         time_, &time_, nullptr, [this] { engine->settle(); },
                         nullptr, persister_.get()});
    service_->set_ready(true);
    svc = service_.get();
    auto field = [](const api::response& r, const char* name) {
      return std::string{boost::json::parse(r.body()).at(name).as_string()};
    };
    key = field(call(http::verb::post, "/v1/workspaces",
                     R"({"name":"Fuzz","timezone":"UTC"})", "application/json",
                     admin),
                "api_key");
    email =
      field(call(http::verb::post, "/v1/accounts",
                 R"({"name":"E","channel":"email","provider":{"type":"sim"}})"),
            "id");
    linkedin = field(
      call(http::verb::post, "/v1/accounts",
           R"({"name":"L","channel":"linkedin","provider":{"type":"sim"}})"),
      "id");
    sequence = field(call(http::verb::post, "/v1/sequences",
                          R"({"name":"S","senders":{"email":[")" + email +
                            R"("],"linkedin":[")" + linkedin + R"("]},"steps":[
             {"channel":"linkedin_invite","delay_days":0,"template":{"body":"Hi {{first_name}}"}},
             {"channel":"email","delay_days":2,"condition":"no_reply",
              "template":{"subject":"Hello {{first_name}}","body":"{{company}}"}}],
             "schedule":{"mode":"relative","day_ms":1000}})"),
                     "id");
    call(http::verb::post, "/v1/sequences/" + sequence + "/steps/1/approve");
    call(http::verb::post, "/v1/sequences/" + sequence + "/steps/2/approve");
    auto launched =
      call(http::verb::post, "/v1/sequences/" + sequence + "/launch");
    if (launched.result_int() != 200) std::abort();
  }

  manual_clock time_{from_ms(1'800'000'000'000)};
  std::filesystem::path dir_;
  actors::sim_provider sim_;
  std::unique_ptr<storage::store> db_;
  std::unique_ptr<api::tenants> registry_;
  std::unique_ptr<api::accounts> senders_;
  std::unique_ptr<api::sequences> campaigns_;
  std::unique_ptr<storage::group_commit> persister_;
  std::unique_ptr<api::service> service_;
};

} // namespace herald::fuzz
