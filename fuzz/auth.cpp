// The Authorization header: anything but the workspace's key or the admin
// token is refused with 401, and never crashes.

#include "world.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using herald::fuzz::world;
  namespace http = herald::api::http;
  auto& w = world::get();
  std::string header{reinterpret_cast<const char*>(data), size};
  for (auto& c : header)
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  for (auto [target, admin] :
       {std::pair{"/v1/accounts", false}, std::pair{"/v1/workspaces", true}}) {
    herald::api::request req{http::verb::get, target, 11};
    req.set(http::field::authorization, header);
    auto res = w.svc->handle(req);
    world::check(res);
    // The value as HTTP reads it: without the spaces around it.
    auto value = req[http::field::authorization];
    bool right = std::string_view{value.data(), value.size()} ==
                 "Bearer " + std::string{admin ? world::admin : w.key};
    if ((res.result_int() == 200) != right) std::abort();
  }
  return 0;
}
