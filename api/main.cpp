// herald: the server. Loads the settings, opens storage, recovers the
// runtime, serves the HTTP API until SIGTERM or SIGINT, then stops
// gracefully: no new connections, requests under way answered, the group
// commit flushed, exit 0.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <pthread.h>

#include <prometheus/registry.h>

#include "actors/runtime.hpp"
#include "actors/webhook.hpp"
#include "api/admin_token.hpp"
#include "api/log.hpp"
#include "api/server.hpp"
#include "api/service.hpp"
#include "api/tenants.hpp"
#include "config/config.hpp"
#include "storage/group_commit.hpp"
#include "storage/store.hpp"

using namespace herald;

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "herald: %s\n", why.c_str());
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  // SIGTERM and SIGINT wait for sigwait() below: blocked in every thread,
  // which inherit this mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::vector<std::string> args(argv + 1, argv + argc);
  auto loaded =
    config::load(args, [](const char* name) { return std::getenv(name); });
  if (!loaded) {
    if (loaded.error().help) {
      std::printf("%s", loaded.error().message.c_str());
      return 0;
    }
    std::fprintf(stderr, "herald: %s\n", loaded.error().message.c_str());
    return 2;
  }
  const auto& cfg = *loaded;
  api::log::init(cfg.log.json, cfg.log.level);

  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) return fail("cannot create " + cfg.data_dir + ": " + ec.message());
  auto token = api::admin_token(cfg.admin_token, cfg.admin_token_file);
  if (!token) return fail(token.error().message);

  auto opened = storage::store::open(cfg.storage);
  if (!opened) return fail("storage: " + opened.error().message);
  auto db = std::move(*opened);
  auto registry = api::tenants::load(*db);
  if (!registry) return fail("storage: " + registry.error().message);
  auto senders = api::accounts::load(*db);
  if (!senders) return fail("storage: " + senders.error().message);
  auto campaigns = api::sequences::load(*db);
  if (!campaigns) return fail("storage: " + campaigns.error().message);

  system_clock wall;
  std::optional<manual_clock> manual;
  if (cfg.clock == config::clock_kind::manual) manual.emplace(wall.now());
  const herald::clock& time =
    manual ? static_cast<const herald::clock&>(*manual) : wall;

  int status = 0;
  {
    // Every library registers what it counts here; /metrics serializes it.
    prometheus::Registry metrics;
    storage::group_commit persister{*db, &metrics};
    // Each account sends through its webhook gateway, or the simulated
    // provider (which only counts, here). Both outlive the runtime.
    actors::webhook_client hooks{cfg.webhook};
    actors::sim_provider::options sim_options;
    sim_options.keep = false;
    actors::sim_provider sim{sim_options};
    actors::account_providers delivery{sim};
    actors::runtime rt{cfg.runtime, time, *db, persister, &metrics};
    rt.add_channel(channel::email, &delivery);
    rt.add_channel(channel::linkedin, &delivery);
    api::register_stored(**registry, **senders, **campaigns, rt, &delivery,
                         &hooks);
    api::service svc{api::service_options{*token, cfg.http.max_body_bytes,
                                          cfg.http.max_import_bytes},
                     api::service_links{*db, **registry, **senders, **campaigns,
                                        rt, time, manual ? &*manual : nullptr,
                                        [&rt] { rt.tick(); }, nullptr, &metrics,
                                        &persister, &delivery, &hooks}};
    api::server_options so;
    so.host = cfg.http.host;
    so.port = cfg.http.port;
    so.threads = cfg.http.threads;
    so.read_timeout = cfg.http.read_timeout;
    so.max_header_bytes = cfg.http.max_header_bytes;
    so.max_body_bytes = cfg.http.max_body_bytes;
    so.max_import_bytes = cfg.http.max_import_bytes;
    api::server http{so, svc};
    auto port = http.start();
    if (!port) return fail(port.error());
    // Served from here on: /readyz says 503 until recovery is done.
    auto recovered = rt.recover();
    if (!recovered) {
      http.stop();
      return fail("recovery: " + recovered.error().message + " (key " +
                  recovered.error().key + ")");
    }
    if (!manual) rt.start_ticker(std::chrono::milliseconds{1});
    svc.set_ready(true);
    api::log::info(
      "recovered",
      {{"enrollments", std::to_string(recovered->enrollments)},
       {"armed", std::to_string(recovered->armed)},
       {"resolved", std::to_string(recovered->resolved)},
       {"seconds", std::to_string(
                     std::chrono::duration<double>(recovered->took).count())}});
    api::log::info(
      "serving",
      {{"url", "http://" + cfg.http.host + ":" + std::to_string(*port)},
       {"clock", manual ? "manual" : "system"},
       {"durability",
        cfg.storage.mode == storage::durability::sync ? "sync" : "async"},
       {"admin_token",
        cfg.admin_token.empty() ? cfg.admin_token_file : "HERALD_ADMIN_TOKEN"},
       {"version", HERALD_VERSION}});

    int signal = 0;
    sigwait(&stop_signals, &signal);
    api::log::info("stopping",
                   {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    http.stop();
    rt.stop();
  } // the group commit writes what is queued as it goes
  db.reset();
  api::log::info("stopped", {});
  return status;
}
