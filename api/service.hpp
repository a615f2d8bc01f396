#pragma once

// herald's HTTP API v1 without sockets: handle(request) -> response. The
// server (server.hpp) feeds it; tests call it directly.

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "api/http.hpp"
#include "api/tenants.hpp"
#include "engine/clock.hpp"

namespace herald::api {

struct service_options {
  /// Compared in constant time with the Bearer token of admin routes.
  std::string admin_token;
  /// A JSON body larger than this answers 413.
  size_t max_body_bytes = size_t{1} << 20;
};

/// Routes every path of API.md. What is built answers; what is not answers
/// 501 (after its auth), never a fake success. Thread-safe.
class service {
 public:
  /// `manual` is the engine's clock when it is manual (POST /v1/admin/clock
  /// moves it, then calls `clock_moved`), else nullptr (that route is 404).
  service(service_options options, tenants& registry, const clock& time,
          manual_clock* manual, std::function<void()> clock_moved);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  response handle(const request& req);

  /// /readyz answers 200 once set (storage open, recovery done), else 503.
  void set_ready(bool ready) noexcept { ready_.store(ready); }

 private:
  struct call;
  struct route;

  response create_workspace(const call& c);
  response list_workspaces(const call& c);
  response get_workspace(const call& c);
  response add_key(const call& c);
  response revoke_key(const call& c);
  response move_clock(const call& c);

  service_options options_;
  tenants& registry_;
  const clock& time_;
  manual_clock* manual_;
  std::function<void()> clock_moved_;
  std::atomic<bool> ready_{false};
  std::vector<route> routes_;
};

} // namespace herald::api
