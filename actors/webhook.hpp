#pragma once

// The webhook gateway provider: each send is POSTed as JSON to an HTTP
// gateway (the agency's own service in front of its mail and LinkedIn tools,
// or herald-load's), with the call's idempotency key in `Idempotency-Key`.
// Beast stays inside webhook.cpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "actors/provider.hpp"
#include "actors/webhook_options.hpp"

namespace herald::actors {

/// The longest gateway URL.
inline constexpr size_t max_webhook_url_bytes = 2048;

/// Where an `http://` URL points.
struct http_url {
  std::string host;
  /// "80" when the URL names none.
  std::string port;
  /// The path and query; "/" when the URL names none.
  std::string target;
};

/// Parses `http://host[:port][/path]`. Nullopt, with the reason in `why`,
/// for anything else: herald speaks plain HTTP to its gateways (a gateway
/// elsewhere sits behind a TLS-terminating proxy on its host).
std::optional<http_url> parse_http_url(std::string_view url, std::string& why);

/// The HTTP side of the webhook providers: one I/O thread and, per gateway, a
/// bounded set of keep-alive connections with the calls queued for them.
///
/// A gateway's answer decides the outcome: 2xx sent; 408, 429 and 503,
/// repeated, then deferred (the gateway said it did not take the message); a
/// failed connection, repeated, then deferred; a timeout or another 5xx,
/// repeated, then unknown (it may have sent: never sent again under a new
/// key); any other 4xx failed.
class webhook_client {
 public:
  explicit webhook_client(webhook_options o = {});
  ~webhook_client();
  webhook_client(const webhook_client&) = delete;
  webhook_client& operator=(const webhook_client&) = delete;

  /// A provider posting to `url`, with `secret` (when not empty) as its
  /// bearer token. Direct: `send` hands the call to the I/O thread. It must
  /// not outlive this client.
  std::shared_ptr<provider> gateway(const http_url& url, std::string secret);

  struct totals {
    uint64_t calls = 0;
    uint64_t repeats = 0;
    uint64_t connections = 0;
  };
  totals stats() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

/// The provider `p` names: the webhook gateway through `hooks`, or null for
/// the simulated one (the fallback of account_providers). Null too when the
/// URL does not parse (checked before it was stored).
std::shared_ptr<provider> provider_of(const provider_settings& p,
                                      webhook_client& hooks);

} // namespace herald::actors
