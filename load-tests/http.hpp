#pragma once

// The HTTP pieces of herald-load's runs over the network: a webhook gateway
// that herald's webhook provider posts sends to, and a keep-alive client of
// herald's API. Beast stays inside http.cpp.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace herald::load {

struct gateway_call {
  std::string target;
  std::string idempotency_key;
  std::string authorization;
  std::string body;
};

struct gateway_answer {
  unsigned status = 200;
  std::string body = "{}";
  /// Answer with `Connection: close` and close the connection.
  bool close = false;
};

/// A webhook gateway on 127.0.0.1 (a port the OS picks): a thread per
/// connection, keep-alive, each call answered by the handler (called from
/// several threads at once).
class gateway {
 public:
  using handler = std::function<gateway_answer(const gateway_call&)>;

  explicit gateway(handler h);
  ~gateway();
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  uint16_t port() const;
  /// http://127.0.0.1:<port><path>
  std::string url(std::string_view path = "/send") const;
  /// Connections accepted so far.
  uint64_t connections() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

struct http_answer {
  /// 0: no answer (the connection failed twice).
  unsigned status = 0;
  std::string body;
};

/// One keep-alive connection to herald, reconnecting when herald closed it.
/// Not thread-safe: one per thread.
class http_client {
 public:
  http_client(std::string host, std::string port);
  ~http_client();
  http_client(http_client&&) noexcept;

  http_answer request(std::string_view method, std::string_view target,
                      std::string_view token, std::string body = {},
                      std::string_view content_type = "application/json");

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

} // namespace herald::load
