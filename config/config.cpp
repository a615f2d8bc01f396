#include "config/config.hpp"

#include <charconv>
#include <map>
#include <optional>
#include <string_view>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

namespace herald::config {

namespace {

using apply_fn =
  std::function<std::optional<std::string>(settings&, std::string_view)>;

// One setting: its key in the TOML file, its environment variable, its flag,
// and how a text value is checked and applied (an error message, else none).
struct setting {
  std::string_view key;
  std::string_view env;
  std::string_view flag;
  std::string_view help;
  apply_fn apply;
};

std::optional<uint64_t> to_uint(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return v;
}

// A setter for an integer in [lo, hi].
template<class Set>
apply_fn integer(uint64_t lo, uint64_t hi, Set set) {
  return [lo, hi, set](settings& s,
                       std::string_view text) -> std::optional<std::string> {
    auto v = to_uint(text);
    if (!v || *v < lo || *v > hi)
      return "must be an integer from " + std::to_string(lo) + " to " +
             std::to_string(hi) + ", not '" + std::string{text} + "'";
    set(s, *v);
    return std::nullopt;
  };
}

std::optional<std::string> set_listen(settings& s, std::string_view text) {
  auto colon = text.rfind(':');
  auto bad = "must be HOST:PORT (a port from 1 to 65535), not '" +
             std::string{text} + "'";
  if (colon == std::string_view::npos || colon == 0) return bad;
  auto host = text.substr(0, colon);
  // [::1]:8080 names an IPv6 address.
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port = to_uint(text.substr(colon + 1));
  if (host.empty() || host.size() > 253 || !port || *port == 0 || *port > 65535)
    return bad;
  s.http.host = std::string{host};
  s.http.port = static_cast<uint16_t>(*port);
  return std::nullopt;
}

std::optional<std::string> set_path(std::string& out, std::string_view text) {
  if (text.empty()) return std::string{"must not be empty"};
  if (text.size() > 4096) return std::string{"must be at most 4096 bytes"};
  if (text.find('\0') != std::string_view::npos)
    return std::string{"must not hold a NUL byte"};
  out = std::string{text};
  return std::nullopt;
}

const std::vector<setting>& all_settings() {
  static const std::vector<setting> list = {
    {"data_dir", "HERALD_DATA_DIR", "--data-dir",
     "directory of the database and the admin token",
     [](settings& s, std::string_view t) { return set_path(s.data_dir, t); }},
    {"clock", "HERALD_CLOCK", "--clock",
     "system, or manual (moved only by POST /v1/admin/clock)",
     [](settings& s, std::string_view t) -> std::optional<std::string> {
       if (t == "system")
         s.clock = clock_kind::system;
       else if (t == "manual")
         s.clock = clock_kind::manual;
       else
         return "must be 'system' or 'manual', not '" + std::string{t} + "'";
       return std::nullopt;
     }},
    {"log.format", "HERALD_LOG_FORMAT", "--log-format",
     "text, or json (a JSON object per line)",
     [](settings& s, std::string_view t) -> std::optional<std::string> {
       if (t != "text" && t != "json")
         return "must be 'text' or 'json', not '" + std::string{t} + "'";
       s.log.json = t == "json";
       return std::nullopt;
     }},
    {"log.level", "HERALD_LOG_LEVEL", "--log-level",
     "debug, info, warn or error",
     [](settings& s, std::string_view t) -> std::optional<std::string> {
       if (t != "debug" && t != "info" && t != "warn" && t != "error")
         return "must be 'debug', 'info', 'warn' or 'error', not '" +
                std::string{t} + "'";
       s.log.level = std::string{t};
       return std::nullopt;
     }},
    {"admin_token_file", "HERALD_ADMIN_TOKEN_FILE", "--admin-token-file",
     "file holding the admin token (default: DATA_DIR/admin.token)",
     [](settings& s, std::string_view t) {
       return set_path(s.admin_token_file, t);
     }},
    {"http.listen", "HERALD_LISTEN", "--listen",
     "HOST:PORT to serve on (loopback by default)", set_listen},
    {"http.threads", "HERALD_HTTP_THREADS", "--http-threads",
     "threads serving HTTP (0: one per core, at least 2)",
     integer(0, 64, [](settings& s, uint64_t v) { s.http.threads = v; })},
    {"http.read_timeout_s", "HERALD_READ_TIMEOUT_S", "--read-timeout-s",
     "seconds a request's header or body may take to arrive",
     integer(1, 3600,
             [](settings& s, uint64_t v) {
               s.http.read_timeout = std::chrono::seconds{v};
             })},
    {"http.max_body_bytes", "HERALD_MAX_BODY_BYTES", "--max-body-bytes",
     "largest JSON body (413 beyond)",
     integer(1024, uint64_t{64} << 20,
             [](settings& s, uint64_t v) { s.http.max_body_bytes = v; })},
    {"http.max_import_bytes", "HERALD_MAX_IMPORT_BYTES", "--max-import-bytes",
     "largest NDJSON lead import (413 beyond)",
     integer(uint64_t{1} << 20, uint64_t{16} << 30,
             [](settings& s, uint64_t v) { s.http.max_import_bytes = v; })},
    {"storage.durability", "HERALD_DURABILITY", "--durability",
     "sync (fsync per group commit) or async (survives a process crash only)",
     [](settings& s, std::string_view t) -> std::optional<std::string> {
       if (t == "sync")
         s.storage.mode = storage::durability::sync;
       else if (t == "async")
         s.storage.mode = storage::durability::async;
       else
         return "must be 'sync' or 'async', not '" + std::string{t} + "'";
       return std::nullopt;
     }},
    {"storage.write_buffer_mb", "HERALD_WRITE_BUFFER_MB", "--write-buffer-mb",
     "all memtables together, in MiB",
     integer(8, 65536,
             [](settings& s, uint64_t v) {
               s.storage.write_buffer_bytes = static_cast<size_t>(v) << 20;
             })},
    {"storage.block_cache_mb", "HERALD_BLOCK_CACHE_MB", "--block-cache-mb",
     "the block cache, in MiB",
     integer(8, 65536,
             [](settings& s, uint64_t v) {
               s.storage.block_cache_bytes = static_cast<size_t>(v) << 20;
             })},
    {"runtime.threads", "HERALD_THREADS", "--threads",
     "actor threads (0: one per core but one)",
     integer(0, 256, [](settings& s, uint64_t v) { s.runtime.threads = v; })},
    {"runtime.io_threads", "HERALD_IO_THREADS", "--io-threads",
     "threads reading storage to activate enrollments",
     integer(1, 64, [](settings& s, uint64_t v) { s.runtime.io_threads = v; })},
    {"webhook.connections", "HERALD_WEBHOOK_CONNECTIONS",
     "--webhook-connections",
     "keep-alive connections per webhook gateway (host and port)",
     integer(1, 1024,
             [](settings& s, uint64_t v) { s.webhook.connections = v; })},
    {"webhook.timeout_s", "HERALD_WEBHOOK_TIMEOUT_S", "--webhook-timeout-s",
     "seconds a gateway call may take (then repeated, then unknown)",
     integer(1, 300,
             [](settings& s, uint64_t v) {
               s.webhook.timeout = std::chrono::seconds{v};
             })},
    {"webhook.retries", "HERALD_WEBHOOK_RETRIES", "--webhook-retries",
     "times a call left undone or in doubt is repeated with the same key",
     integer(0, 10,
             [](settings& s, uint64_t v) {
               s.webhook.retries = static_cast<int>(v);
             })},
  };
  return list;
}

const setting* find_key(std::string_view key) {
  for (const auto& s : all_settings())
    if (s.key == key) return &s;
  return nullptr;
}

// Applies `text` to the setting, or says why not and where it came from.
std::optional<load_error> apply(settings& out, const setting& s,
                                std::string_view text,
                                const std::string& where) {
  if (auto why = s.apply(out, text))
    return load_error{std::string{s.key} + " (" + where + "): " + *why};
  return std::nullopt;
}

std::optional<load_error> apply_file(settings& out, const std::string& path) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string why{e.description()};
    const auto& at = e.source().begin;
    return load_error{"config file " + path + ", line " +
                      std::to_string(at.line) + ": " + why};
  }
  std::optional<load_error> failed;
  // Walks the tables; a key is the dotted path to a value.
  std::function<void(const toml::table&, const std::string&)> walk =
    [&](const toml::table& t, const std::string& prefix) {
      for (const auto& [k, node] : t) {
        if (failed) return;
        auto key = prefix.empty() ? std::string{k.str()}
                                  : prefix + "." + std::string{k.str()};
        if (const auto* sub = node.as_table()) {
          walk(*sub, key);
          continue;
        }
        const auto* s = find_key(key);
        if (s == nullptr) {
          failed =
            load_error{"config file " + path + ": unknown key '" + key + "'"};
          return;
        }
        std::string text;
        if (auto v = node.value<std::string>(); v && node.is_string())
          text = *v;
        else if (auto i = node.value<int64_t>(); i && node.is_integer()) {
          if (*i < 0) {
            failed = load_error{std::string{s->key} + " (config file " + path +
                                "): must not be negative"};
            return;
          }
          text = std::to_string(*i);
        } else {
          failed = load_error{std::string{s->key} + " (config file " + path +
                              "): must be a string or an integer"};
          return;
        }
        failed = apply(out, *s, text, "config file " + path);
      }
    };
  walk(doc, "");
  return failed;
}

} // namespace

result<settings, load_error>
load(const std::vector<std::string>& args,
     const std::function<const char*(const char*)>& env) {
  settings out;
  // Flags first, to find --config; applied last.
  CLI::App app{"herald: a dispatch engine for multichannel outreach sequences",
               "herald"};
  std::string config_file;
  app.add_option("--config", config_file,
                 "TOML file of settings (also HERALD_CONFIG)");
  std::vector<std::string> flag_values(all_settings().size());
  std::vector<CLI::Option*> flags;
  for (size_t i = 0; i < all_settings().size(); ++i) {
    const auto& s = all_settings()[i];
    flags.push_back(
      app.add_option(std::string{s.flag}, flag_values[i],
                     std::string{s.help} + " (" + std::string{s.env} + ")"));
  }
  std::vector<const char*> argv{"herald"};
  for (const auto& a : args)
    argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    return load_error{app.help(), true};
  } catch (const CLI::ParseError& e) {
    return load_error{std::string{"flags: "} + e.what()};
  }
  if (config_file.empty())
    if (const char* f = env("HERALD_CONFIG"); f != nullptr && *f != '\0')
      config_file = f;
  if (!config_file.empty())
    if (auto failed = apply_file(out, config_file)) return *failed;
  for (const auto& s : all_settings())
    if (const char* v = env(std::string{s.env}.c_str()); v != nullptr)
      if (auto failed = apply(out, s, v, std::string{s.env})) return *failed;
  for (size_t i = 0; i < all_settings().size(); ++i)
    if (flags[i]->count() > 0)
      if (auto failed = apply(out, all_settings()[i], flag_values[i],
                              "flag " + std::string{all_settings()[i].flag}))
        return *failed;
  if (const char* token = env("HERALD_ADMIN_TOKEN");
      token != nullptr && *token != '\0') {
    std::string_view t{token};
    if (t.size() < 16 || t.size() > 256)
      return load_error{
        "HERALD_ADMIN_TOKEN: must be 16 to 256 characters long"};
    for (char c : t)
      if (c <= ' ' || c > '~')
        return load_error{
          "HERALD_ADMIN_TOKEN: must be printable ASCII without spaces"};
    out.admin_token = std::string{t};
  }
  if (out.admin_token_file.empty())
    out.admin_token_file = out.data_dir + "/admin.token";
  out.storage.path = out.data_dir + "/db";
  return out;
}

std::string default_toml() {
  return R"(# herald's settings. Every key is optional; these are the defaults.
# Precedence: this file < HERALD_* environment variables < command-line flags.
# Start with:  herald --config herald.toml

# Directory of the database (DATA_DIR/db) and the admin token.
data_dir = "./data"           # HERALD_DATA_DIR, --data-dir
# "system", or "manual": time moves only by POST /v1/admin/clock.
clock = "system"              # HERALD_CLOCK, --clock
# The admin token is HERALD_ADMIN_TOKEN when set, else read from this file,
# else generated into it (mode 0600). Default: DATA_DIR/admin.token.
# admin_token_file = "./data/admin.token"   # HERALD_ADMIN_TOKEN_FILE

[log]
# A line per notable event (start, recovery, an account paused or revoked, a
# sequence launched or paused), never one per send at "info".
format = "text"               # HERALD_LOG_FORMAT, --log-format: text or json
level = "info"                # HERALD_LOG_LEVEL, --log-level

[http]
listen = "127.0.0.1:8080"     # HERALD_LISTEN, --listen (loopback by default)
# 0: one per core, at least 2. An event does not hold its thread while the
# engine applies it, nor an import (fed on threads of its own); a connection
# stays on one thread (load-tests/RESULTS.md).
threads = 0                   # HERALD_HTTP_THREADS, --http-threads
read_timeout_s = 30           # HERALD_READ_TIMEOUT_S, --read-timeout-s
max_body_bytes = 1048576      # HERALD_MAX_BODY_BYTES: a JSON body (413 beyond)
max_import_bytes = 268435456  # HERALD_MAX_IMPORT_BYTES: an NDJSON lead import

[storage]
# "sync": fsync once per group-commit round (survives a power cut);
# "async": survives a process crash only.
durability = "sync"           # HERALD_DURABILITY, --durability
write_buffer_mb = 64          # HERALD_WRITE_BUFFER_MB: all memtables together
block_cache_mb = 64           # HERALD_BLOCK_CACHE_MB

[runtime]
threads = 0                   # HERALD_THREADS: actor threads (0: cores - 1)
io_threads = 2                # HERALD_IO_THREADS: activations' storage reads

[webhook]
# Accounts with provider "webhook" send through their gateway over HTTP.
connections = 32              # HERALD_WEBHOOK_CONNECTIONS: per gateway
# A call that times out or gets a 5xx is repeated with the same key, then
# counted unknown (never sent again under a new key).
timeout_s = 10                # HERALD_WEBHOOK_TIMEOUT_S
retries = 2                   # HERALD_WEBHOOK_RETRIES
)";
}

} // namespace herald::config
