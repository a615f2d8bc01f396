// NDJSON lead imports, streamed: the input is the body, fed in pieces whose
// sizes come from its first bytes.

#include "world.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using herald::fuzz::world;
  namespace http = herald::api::http;
  if (size < 2) return 0;
  auto& w = world::get();
  herald::api::request head{http::verb::post,
                            "/v1/sequences/" + w.sequence + "/leads", 11};
  head.set(http::field::authorization, "Bearer " + w.key);
  head.set(http::field::content_type, "application/x-ndjson");
  auto opened = w.svc->open_import(head);
  auto* stream =
    std::get_if<std::unique_ptr<herald::api::lead_stream>>(&opened);
  if (stream == nullptr) std::abort();
  size_t piece = 1 + data[0] % 64;
  std::string_view body{reinterpret_cast<const char*>(data + 1), size - 1};
  for (size_t at = 0; at < body.size(); at += piece)
    (*stream)->feed(body.substr(at, piece));
  auto res = (*stream)->finish();
  w.engine->settle();
  if (res.result_int() != 200) std::abort();
  return 0;
}
