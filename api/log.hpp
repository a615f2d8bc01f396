#pragma once

// herald's log: a line per notable event, as text or as a JSON object, on
// standard output. Events are named (snake_case) and carry key=value fields;
// nothing logs per send at info.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace herald::api::log {

enum class level { debug, info, warn, error };

/// Sets the format and the lowest level written; call once at start (before
/// it: text at info).
void init(bool json, std::string_view lowest);

using field = std::pair<std::string_view, std::string>;

/// One line: `event` with its fields.
void note(level l, std::string_view event, std::initializer_list<field> fields);

inline void info(std::string_view event, std::initializer_list<field> fields) {
  note(level::info, event, fields);
}

} // namespace herald::api::log
