#pragma once

#include <array>

// herald's HTTP API v1 without sockets: handle(request) -> response. The
// server (server.hpp) feeds it; tests call it directly.

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "api/http.hpp"
#include "api/ids.hpp"
#include "api/records.hpp"
#include "api/tenants.hpp"
#include "engine/clock.hpp"
#include "engine/readiness.hpp"

namespace prometheus {
class Counter;
class Histogram;
class Registry;
template<typename T>
class Family;
} // namespace prometheus

namespace herald::storage {
class group_commit;
} // namespace herald::storage

namespace herald::actors {
class account_providers;
class runtime;
class webhook_client;
enum class lead_event : uint8_t;
} // namespace herald::actors

namespace herald::api {

/// How long a request may wait for the engine (an event, until every
/// enrollment of its leads applied it) before it answers 503.
inline constexpr std::chrono::seconds answer_within_default{30};
/// That answer's message.
inline constexpr std::string_view not_acknowledged_message =
  "the event did not reach every enrollment of its leads in time; it may "
  "still take effect: send it again (it is idempotent)";

struct service_options {
  /// Compared in constant time with the Bearer token of admin routes.
  std::string admin_token;
  /// A JSON body larger than this answers 413.
  size_t max_body_bytes = size_t{1} << 20;
  /// An NDJSON lead import's body, which the server streams.
  size_t max_import_bytes = size_t{256} << 20;
};

/// What the service works on. `manual` is the engine's clock when it is
/// manual (POST /v1/admin/clock moves it, then calls `clock_moved`), else
/// nullptr (that route is 404).
struct service_links {
  storage::store& db;
  tenants& registry;
  accounts& senders;
  sequences& campaigns;
  actors::runtime& engine;
  const clock& time;
  manual_clock* manual = nullptr;
  std::function<void()> clock_moved;
  /// Deterministic runs: runs the engine's pending work while a handler
  /// waits for it (an event's acknowledgement); empty with threads.
  std::function<void()> drive;
  /// Where the service registers its metrics (HTTP requests, events, build
  /// info) and what /metrics serializes with the engine's state; none: only
  /// the engine's state.
  prometheus::Registry* metrics = nullptr;
  /// The engine's group commit: an event's record is written in its rounds,
  /// sharing their fsync with concurrent events and the enrollments' writes
  /// (none: written alone, with sync).
  storage::group_commit* persister = nullptr;
  /// Each account's provider, given when an account is created; and the HTTP
  /// client of webhook gateways (none: webhook accounts answer 501).
  actors::account_providers* providers = nullptr;
  actors::webhook_client* hooks = nullptr;
};

/// An NDJSON lead import fed as its body arrives (service::open_import()):
/// complete lines are checked, stored and enrolled batch by batch as they
/// come, so memory holds a batch and the line being read, never the body.
class lead_stream {
 public:
  virtual ~lead_stream() = default;
  /// The body's next bytes, cut anywhere.
  virtual void feed(std::string_view bytes) = 0;
  /// The body ended: the import's answer.
  virtual response finish() = 0;
};

/// Routes every path of API.md. What is built answers; what is not answers
/// 501 (after its auth), never a fake success. Thread-safe.
class service {
 public:
  service(service_options options, service_links links);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Answers `req` on the calling thread, waiting for the engine where the
  /// route does (tests, and callers without a server).
  response handle(const request& req);

  /// Where an answer goes: called once, from any thread.
  using reply = std::function<void(response)>;
  /// handle() for the server: a route that waits for the engine (POST
  /// /v1/events) answers from the engine's completion, without holding the
  /// calling thread meanwhile; every other route answers before this
  /// returns. A route that never answers drops `done` instead.
  void handle(const request& req, reply done);

  /// For a request whose header is read and whose body is not yet. An NDJSON
  /// lead import (POST /v1/sequences/{id}/leads, application/x-ndjson) that
  /// passes its checks opens a stream to feed the body to; one that does not
  /// has its answer now (401, 404, 409: its body is not needed). Any other
  /// request: monostate (read the body, then handle() it).
  using opened_import =
    std::variant<std::monostate, response, std::unique_ptr<lead_stream>>;
  opened_import open_import(const request& head);

  /// /readyz answers 200 once set (storage open, recovery done), else 503.
  void set_ready(bool ready) noexcept { ready_.store(ready); }

  /// What a handler answers: the request, its path's parameters, its query
  /// and the caller's workspace (api/handlers.hpp).
  struct call;

 private:
  struct route;
  struct resolved;
  class importer;

  /// The route `req` names, with its call authorized; or the answer that
  /// refuses it (404, 405, 401).
  std::variant<response, resolved> resolve(const request& req) const;
  /// An import into the sequence `c` names, ready for its leads; or the
  /// answer that refuses it (404, 409).
  std::variant<response, std::unique_ptr<importer>> begin_import(const call& c);
  /// begin_import() for open_import().
  opened_import stream_import(const call& c);

  response create_workspace(const call& c);
  response list_workspaces(const call& c);
  response get_workspace(const call& c);
  response add_key(const call& c);
  response revoke_key(const call& c);
  response move_clock(const call& c);
  response create_account(const call& c);
  response list_accounts(const call& c);
  response get_account(const call& c);
  response patch_account(const call& c);
  response control_account(const call& c, int event);
  response create_sequence(const call& c);
  response list_sequences(const call& c);
  response get_sequence(const call& c);
  response patch_sequence(const call& c);
  response approve_step(const call& c);
  response sequence_readiness(const call& c);
  response sequence_stats(const call& c);
  response launch_sequence(const call& c);
  response set_sequence_status(const call& c, bool active);
  response import_leads(const call& c);
  response get_lead(const call& c);
  response preview_step(const call& c);
  response sequence_leads(const call& c);
  response add_unsubscribe(const call& c);
  response list_unsubscribes(const call& c);
  // Delivers `e` to every enrollment of `lead`; `then` runs (on an engine
  // thread, or inline) with how many there were, once each applied it.
  void deliver(workspace_id ws, lead_id lead, actors::lead_event e,
               std::optional<time_point> back,
               std::function<void(size_t)> then);
  // deliver(), waiting: nullopt when that took too long.
  std::optional<size_t> deliver_and_wait(workspace_id ws, lead_id lead,
                                         actors::lead_event e,
                                         std::optional<time_point> back);
  // Writes `record` durably without waiting (through the group commit when
  // there is one, else on this thread), then calls `then` with whether it
  // was; at once when it is empty.
  void write_then(storage::write_set record, std::function<void(bool)> then);
  /// For each of `emails`, the do-not-contact entry (the address or its
  /// domain) that names it, or empty: one batched read for all of them.
  storage::expected<std::vector<std::string>>
  blocked(workspace_id ws, const std::vector<std::string_view>& emails) const;
  void post_event(const call& c, reply done);
  response get_metrics(const call& c);
  // Counts a request of `found` (none: no route matched) answered `status`
  // after `seconds`.
  void count_request(const route* found, unsigned status, double seconds);
  response get_inbox(const call& c);
  readiness_report readiness_of(const sequence& seq) const;

  service_options options_;
  storage::store& db_;
  tenants& registry_;
  accounts& senders_;
  sequences& campaigns_;
  actors::runtime& engine_;
  const clock& time_;
  manual_clock* manual_;
  std::function<void()> clock_moved_;
  std::function<void()> drive_;
  std::atomic<bool> ready_{false};
  // Leads' and enrollments' ids.
  id_source ids_;
  std::mutex import_mu_;
  // The last batch an import handed to the group commit, and which import
  // (under import_mu_): another import waits for it before it reads, since
  // the group commit writes in order and storage then shows them all.
  std::shared_future<bool> import_tail_;
  const void* import_tail_owner_ = nullptr;
  std::vector<route> routes_;
  prometheus::Registry* metrics_;
  storage::group_commit* persister_;
  actors::account_providers* providers_;
  actors::webhook_client* hooks_;
  prometheus::Family<prometheus::Counter>* http_requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* http_seconds_ = nullptr;
  prometheus::Family<prometheus::Counter>* events_ = nullptr;
  // events_'s series by type and duplicate, found once each (a family's Add
  // hashes the labels under its lock).
  std::array<std::atomic<prometheus::Counter*>, 16> event_series_{};
  // Per route (none: unmatched), its duration histogram and its counter per
  // status: looked up here, not in the families, on every request.
  struct route_metrics {
    prometheus::Histogram* seconds = nullptr;
    std::vector<std::pair<unsigned, prometheus::Counter*>> by_status;
  };
  std::mutex metrics_mu_;
  std::unordered_map<const route*, route_metrics> route_metrics_;
};

/// Gives `engine` every stored account, in its zone (the workspace's when it
/// has none), and every launched sequence: at start, before the runtime
/// recovers.
void register_stored(const tenants& registry, const accounts& senders,
                     const sequences& campaigns, actors::runtime& engine,
                     actors::account_providers* providers = nullptr,
                     actors::webhook_client* hooks = nullptr);

} // namespace herald::api
