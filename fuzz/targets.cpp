// Request targets: paths and query strings (ids, cursors, limits, filters)
// of the routes that read them. The input's first byte picks the route, the
// rest is appended to its path.

#include "world.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using herald::fuzz::world;
  namespace http = herald::api::http;
  if (size == 0) return 0;
  auto& w = world::get();
  std::string tail{reinterpret_cast<const char*>(data + 1), size - 1};
  // A target is one line of the request: no line breaks in it.
  for (auto& c : tail)
    if (c == '\r' || c == '\n') c = ' ';
  auto seq = "/v1/sequences/" + w.sequence;
  const std::string prefixes[] = {
    "/v1/accounts?",
    "/v1/accounts/",
    "/v1/sequences?",
    "/v1/sequences/",
    seq + "/leads?",
    seq + "/preview?",
    seq + "/stats",
    seq + "/steps/",
    "/v1/leads/",
    "/v1/inbox?",
    "/v1/unsubscribes?",
    "/v1/workspaces?",
    "/",
  };
  const auto& p = prefixes[data[0] % std::size(prefixes)];
  auto method = data[0] & 0x80 ? http::verb::post : http::verb::get;
  world::check(
    w.call(method, p + tail, {}, "application/json",
           p == "/v1/workspaces?" ? world::admin : std::string_view{}));
  return 0;
}
