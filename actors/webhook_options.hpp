#pragma once

// The webhook provider's settings (webhook.hpp), apart so that the config
// loader can fill them without the provider's headers.

#include <chrono>
#include <cstddef>

namespace herald::actors {

struct webhook_options {
  /// Keep-alive connections per gateway (host and port).
  size_t connections = 32;
  /// How long one call may take: connecting, writing and the answer.
  std::chrono::milliseconds timeout{10'000};
  /// How many times a call is repeated, with the same key, after an answer
  /// that leaves it undone or in doubt (no connection, 408, 429, 5xx, a
  /// timeout). A gateway that honours the key sends once.
  int retries = 2;
  /// The first repeat waits this long; each next one four times longer.
  std::chrono::milliseconds backoff{100};
  /// The largest answer read from a gateway.
  size_t max_answer_bytes = 64 * 1024;
};

} // namespace herald::actors
