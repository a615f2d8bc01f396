#pragma once

// The HTTP/1.1 server in front of service::handle: Beast, asynchronous,
// keep-alive, a timeout on every read, bounded headers and bodies.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/service.hpp"
#include "engine/result.hpp"

namespace herald::api {

struct server_options {
  std::string host = "127.0.0.1";
  /// 0: a port the OS picks (tests); port() says which.
  uint16_t port = 8080;
  /// 0: one per core, at least 2.
  size_t threads = 0;
  /// A request's header and body must each arrive within this.
  std::chrono::milliseconds read_timeout{30'000};
  size_t max_header_bytes = size_t{16} << 10;
  /// A request waiting for the engine (an event) answers 503 after this;
  /// the answer that comes later is dropped.
  std::chrono::milliseconds answer_within{answer_within_default};
  /// A larger body answers 413 and closes the connection.
  size_t max_body_bytes = size_t{1} << 20;
  /// The same for an NDJSON lead import, whose body is streamed to the
  /// service (service::open_import) instead of held.
  size_t max_import_bytes = size_t{256} << 20;
};

/// Serves `handler` on its own threads. Thread-safe.
class server {
 public:
  server(server_options options, service& handler);
  /// Stops, as stop() does.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, listens and starts the threads; an error says what failed (an
  /// address in use, one that does not resolve).
  result<uint16_t, std::string> start();

  /// The port bound (after start()).
  uint16_t port() const noexcept;

  /// Stops accepting, closes idle connections, lets every request under way
  /// be answered (its connection then closes), and returns once all are.
  void stop();

  class impl;

 private:
  std::unique_ptr<impl> impl_;
};

} // namespace herald::api
