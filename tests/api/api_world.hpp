#pragma once

// What the API tests run the service on: a real RocksDB in a temporary
// directory, the workspaces and accounts read from it, and a deterministic
// runtime (CAF's testing scheduler, the group commit synchronous).

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "actors/provider.hpp"
#include "actors/runtime.hpp"
#include "actors/webhook.hpp"
#include "api/service.hpp"
#include "storage/group_commit.hpp"
#include "storage/store.hpp"

namespace herald::api::test {

inline constexpr std::string_view admin = "admin-token-0123456789";

class api_world {
 public:
  api_world(std::string name, manual_clock& time, size_t max_body = 4096)
    : time_(time), max_body_(max_body) {
    dir_ = std::filesystem::temp_directory_path() /
           ("herald-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    open();
  }
  ~api_world() {
    close();
    std::filesystem::remove_all(dir_);
  }

  /// (Re)opens everything on the same directory, as a restart would:
  /// accounts registered again before the runtime recovers.
  void open(manual_clock* manual = nullptr,
            std::function<void()> moved = nullptr) {
    close();
    storage::storage_options o;
    o.path = dir_.string();
    o.synchronous = true;
    db = storage::store::open(o).value();
    registry = tenants::load(*db).value();
    senders = accounts::load(*db).value();
    campaigns = sequences::load(*db).value();
    // A new registry per start, as a new process would have.
    metrics = std::make_unique<prometheus::Registry>();
    persister = std::make_unique<storage::group_commit>(*db, metrics.get());
    actors::runtime_options ro;
    ro.deterministic = true;
    engine = std::make_unique<actors::runtime>(ro, time_, *db, *persister,
                                               metrics.get());
    engine->add_channel(channel::email, &delivery);
    engine->add_channel(channel::linkedin, &delivery);
    register_stored(*registry, *senders, *campaigns, *engine, &delivery,
                    &hooks);
    ASSERT_TRUE(engine->recover().has_value());
    svc = std::make_unique<service>(
      service_options{std::string{admin}, max_body_},
      service_links{*db, *registry, *senders, *campaigns, *engine, time_,
                    manual, std::move(moved), [this] { engine->settle(); },
                    metrics.get(), persister.get(), &delivery, &hooks});
    svc->set_ready(true);
  }

  void close() {
    svc.reset();
    if (engine) engine->stop();
    engine.reset();
    persister.reset();
    metrics.reset();
    campaigns.reset();
    senders.reset();
    registry.reset();
    db.reset();
  }

  actors::sim_provider sim;
  // Accounts send through their webhook gateway, or `sim`.
  actors::webhook_client hooks;
  actors::account_providers delivery{sim};
  std::unique_ptr<storage::store> db;
  std::unique_ptr<tenants> registry;
  std::unique_ptr<accounts> senders;
  std::unique_ptr<sequences> campaigns;
  std::unique_ptr<prometheus::Registry> metrics;
  std::unique_ptr<storage::group_commit> persister;
  std::unique_ptr<actors::runtime> engine;
  std::unique_ptr<service> svc;

 private:
  manual_clock& time_;
  size_t max_body_;
  std::filesystem::path dir_;
};

} // namespace herald::api::test
