#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.hpp"
#include "engine/result.hpp"

namespace herald {

// Messages are mustache templates (kainjow mustache) rendered as plain text:
// values go in verbatim, so `{{x}}` and `{{{x}}}` render alike. Variables:
// `first_name`, `last_name`, `company`, `email`, `linkedin_url`, and the lead's
// custom fields by name (a custom field named like a built-in is ignored; of
// two with one name the first counts). A value that is empty or only
// whitespace counts as missing, also for sections (`{{#company}}` skips it).
// Partials (`{{> x}}`) are not supported: a template using one is invalid.

/// A step's message rendered for one lead.
struct rendered_message {
  std::string subject;
  std::string body;
  /// Variables the render reached that the lead has no value for, sorted and
  /// unique. A variable the template also tests with a section (`{{#x}}` or
  /// `{{^x}}`) is optional and never listed.
  std::vector<std::string> missing_fields;
};

enum class template_error : uint8_t { invalid_template };

template<>
struct enum_names<template_error> {
  static constexpr std::array<std::string_view, 1> values{"invalid_template"};
};

struct template_failure {
  template_error code = template_error::invalid_template;
  /// The parser's message ("Unclosed tag at 6").
  std::string message;
  /// Which template failed: "subject" or "body".
  std::string part;
};

/// A message template parsed once, to render for many leads (readiness renders
/// every lead).
class compiled_message {
 public:
  /// Parses the subject, then the body; fails with invalid_template naming the
  /// first part that does not parse.
  static result<compiled_message, template_failure>
  compile(const message_template& t);

  compiled_message(compiled_message&&) noexcept;
  compiled_message& operator=(compiled_message&&) noexcept;
  ~compiled_message();

  /// The message for `l`; a missing value renders as nothing and is listed.
  rendered_message render(const lead& l) const;

  /// What render(l).missing_fields would list, without rendering.
  std::vector<std::string> missing_fields(const lead& l) const;

  /// The names of the variables and sections of both parts, sorted and unique.
  const std::vector<std::string>& fields() const noexcept;

 private:
  struct impl;

  explicit compiled_message(std::unique_ptr<impl> p) noexcept;

  std::unique_ptr<impl> impl_;
};

/// The message `t` rendered for `l`; invalid_template (with the parser's
/// message and the part) when the subject or body does not parse.
result<rendered_message, template_failure>
render_message(const message_template& t, const lead& l);

/// The variable and section names `t` uses, sorted and unique;
/// invalid_template when it does not parse.
result<std::vector<std::string>, template_failure>
template_fields(const message_template& t);

/// LinkedIn's limit on an invite note, in characters (code points).
inline constexpr size_t invite_note_limit = 300;

/// The number of Unicode code points in `utf8` (not bytes). Each byte of a
/// malformed sequence that is not a continuation byte counts as one.
size_t text_length(std::string_view utf8) noexcept;

/// Whether `s` is empty or only whitespace (a blank value counts as missing).
bool is_blank(std::string_view s) noexcept;

/// Whether a rendered invite note is longer than invite_note_limit.
inline bool over_invite_note_limit(std::string_view note) noexcept {
  return text_length(note) > invite_note_limit;
}

} // namespace herald
