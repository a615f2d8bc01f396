// Every JSON body the API decodes: the input's first byte picks the route,
// the rest is the body.

#include "world.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using herald::fuzz::world;
  namespace http = herald::api::http;
  if (size == 0) return 0;
  auto& w = world::get();
  std::string body{reinterpret_cast<const char*>(data + 1), size - 1};
  auto seq = "/v1/sequences/" + w.sequence;
  struct route {
    http::verb method;
    std::string target;
    bool admin;
  };
  const route routes[] = {
    {http::verb::post, "/v1/workspaces", true},
    {http::verb::post, "/v1/accounts", false},
    {http::verb::patch, "/v1/accounts/" + w.email, false},
    {http::verb::post, "/v1/sequences", false},
    {http::verb::patch, seq, false},
    {http::verb::post, "/v1/events", false},
    {http::verb::post, "/v1/unsubscribes", false},
    {http::verb::post, "/v1/admin/clock", true},
    {http::verb::post, seq + "/leads", false},
  };
  const auto& r = routes[data[0] % std::size(routes)];
  world::check(w.call(r.method, r.target, std::move(body), "application/json",
                      r.admin ? world::admin : std::string_view{}));
  return 0;
}
