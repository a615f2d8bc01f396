#pragma once

// herald's settings: a TOML file, HERALD_* environment variables and
// command-line flags, in rising precedence, validated at start. They fill the
// libraries' option structs; no library reads a file or the environment.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/runtime_options.hpp"
#include "actors/webhook_options.hpp"
#include "engine/result.hpp"
#include "storage/options.hpp"

namespace herald::config {

/// Where the engine's time comes from: the system clock, or a manual one that
/// only `POST /v1/admin/clock` moves (simulations).
enum class clock_kind : uint8_t { system, manual };

/// The HTTP server's settings.
struct http_options {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  /// Threads running the server's sessions and handlers.
  size_t threads = 0; // 0: one per core, at least 2
  /// Every read (a request's header, then its body) must finish within this.
  std::chrono::seconds read_timeout{30};
  /// Limits (413 beyond): a JSON body, a streamed NDJSON import, a header.
  size_t max_body_bytes = size_t{1} << 20;
  size_t max_import_bytes = size_t{256} << 20;
  size_t max_header_bytes = size_t{16} << 10;
};

/// How herald logs: a line per notable event (start, recovery, an account
/// paused or revoked, a sequence launched or paused), never one per send at
/// info.
struct log_options {
  /// Lines of JSON objects instead of text.
  bool json = false;
  /// debug, info, warn or error.
  std::string level = "info";
};

struct settings {
  std::string data_dir = "./data";
  clock_kind clock = clock_kind::system;
  /// The admin token itself (HERALD_ADMIN_TOKEN); empty: read from, or
  /// generated into, admin_token_file.
  std::string admin_token;
  /// Empty: <data_dir>/admin.token.
  std::string admin_token_file;
  http_options http;
  /// path is <data_dir>/db.
  storage::storage_options storage;
  actors::runtime_options runtime;
  actors::webhook_options webhook;
  log_options log;
};

/// Why loading failed; `help` when the flags asked for the usage text, which
/// `message` then holds (not an error).
struct load_error {
  std::string message;
  bool help = false;
};

/// Reads the flags in `args` (without the program's name), the environment
/// through `env`, and the TOML file named by --config or HERALD_CONFIG (none:
/// defaults only). Every value is checked; an error names the setting and
/// where its value came from. Unknown flags and keys are errors.
result<settings, load_error>
load(const std::vector<std::string>& args,
     const std::function<const char*(const char*)>& env);

/// The documented defaults as a TOML file (what config/herald.toml holds).
std::string default_toml();

} // namespace herald::config
