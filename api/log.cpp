#include "api/log.hpp"

#include <atomic>
#include <memory>

#include <boost/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace herald::api::log {

namespace {

std::atomic<bool> as_json{false};

spdlog::logger& logger() {
  static auto made = [] {
    auto l = spdlog::stdout_logger_mt("herald");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                   spdlog::pattern_time_type::utc);
    l->flush_on(spdlog::level::info);
    return l;
  }();
  return *made;
}

spdlog::level::level_enum to_spdlog(level l) {
  switch (l) {
    case level::debug: return spdlog::level::debug;
    case level::info: return spdlog::level::info;
    case level::warn: return spdlog::level::warn;
    case level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

} // namespace

void init(bool json, std::string_view lowest) {
  as_json = json;
  auto& l = logger();
  // JSON: the time and level as fields, the rest of the object from note().
  if (json)
    l.set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                  spdlog::pattern_time_type::utc);
  l.set_level(spdlog::level::from_str(std::string{lowest}));
}

void note(level lv, std::string_view event,
          std::initializer_list<field> fields) {
  auto& l = logger();
  auto at = to_spdlog(lv);
  if (!l.should_log(at)) return;
  std::string line;
  if (as_json) {
    // Each key and value escaped as JSON strings; the braces come from the
    // pattern.
    line = R"("event":)";
    line += boost::json::serialize(boost::json::value(event));
    for (const auto& [k, v] : fields) {
      line += ',';
      line += boost::json::serialize(boost::json::value(k));
      line += ':';
      line += boost::json::serialize(boost::json::value(v));
    }
  } else {
    line = std::string{event};
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      // A value with a space or a quote is quoted.
      if (v.find_first_of(" \"=") != std::string::npos)
        line += boost::json::serialize(boost::json::value(v));
      else
        line += v;
    }
  }
  l.log(at, line);
}

} // namespace herald::api::log
