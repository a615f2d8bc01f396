#pragma once

// W1 over the real API against a running herald: workspaces, webhook accounts
// whose gateway is this harness, the W1 sequences on the relative schedule,
// NDJSON imports, and replies posted as events by the gateway right after the
// step they follow, before it answers that step's call.

#include <string>

#include "load-tests/w1.hpp"

namespace herald::load {

struct w1_http_options {
  w1_config w1;
  /// "throughput" or "lateness" (the report's label; the day is in w1).
  std::string mode = "throughput";
  /// herald's base URL (http://host:port); empty: `spawn` is started.
  std::string url;
  /// The admin token of the herald at `url`.
  std::string admin_token;
  /// A herald binary started for the run, on a free port and a fresh data
  /// directory, and stopped after it (its CPU and peak memory reported).
  std::string spawn;
  /// The spawned herald's durability ("sync" or "async"); with `url` only a
  /// label.
  std::string durability = "sync";
  int timeout_s = 600;
  int stall_s = 30;
  /// Imports sent at once (one workspace each).
  int import_threads = 4;
  /// Read every lead's history afterwards and check it against the gateway's
  /// log.
  bool histories = true;
  std::string sends_csv;
};

/// Runs W1 over HTTP; the exit status (1: an invariant broke, a send is
/// missing, or a history disagrees with the gateway; 2: the run could not be
/// set up).
int run_w1_http(const w1_http_options& o);

} // namespace herald::load
