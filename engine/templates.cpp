#include "engine/templates.hpp"

#include <kainjow/mustache.hpp>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

namespace herald {

namespace {

namespace mstch = kainjow::mustache;

constexpr std::string_view space_chars = " \t\n\v\f\r";

constexpr std::array<std::string_view, 5> builtin_names{
  "first_name", "last_name", "company", "email", "linkedin_url"};

std::string_view trim(std::string_view s) noexcept {
  auto first = s.find_first_not_of(space_chars);
  if (first == std::string_view::npos) return {};
  auto last = s.find_last_not_of(space_chars);
  return s.substr(first, last - first + 1);
}

bool is_builtin(std::string_view name) noexcept {
  return std::find(builtin_names.begin(), builtin_names.end(), name) !=
         builtin_names.end();
}

const std::string* builtin_value(const lead& l, std::string_view name) {
  if (name == "first_name") return &l.first_name;
  if (name == "last_name") return &l.last_name;
  if (name == "company") return &l.company;
  if (name == "email") return &l.email;
  if (name == "linkedin_url") return &l.linkedin_url;
  return nullptr;
}

// The lead's value for variable `name`; nullptr when it has none or only
// whitespace.
const std::string* field_value(const lead& l, std::string_view name) {
  const std::string* v = builtin_value(l, name);
  if (v == nullptr && !name.empty()) {
    auto it = std::find_if(l.fields.begin(), l.fields.end(),
                           [name](const auto& f) { return f.first == name; });
    if (it != l.fields.end()) v = &it->second;
  }
  return v != nullptr && !is_blank(*v) ? v : nullptr;
}

mstch::data lead_data(const lead& l) {
  mstch::data d{mstch::data::type::object};
  for (auto name : builtin_names) {
    std::string key{name};
    if (auto v = field_value(l, key)) d.set(key, *v);
  }
  for (const auto& [name, value] : l.fields) {
    if (is_builtin(name) || d.get(name) != nullptr) continue;
    if (auto v = field_value(l, name)) d.set(name, *v);
  }
  return d;
}

// Whether kainjow's context finds `name` in a lead's flat data: `.` is the
// current item; a dotted name is split and each part looked up in the value of
// the one before, which is a string here, so only a lone part ("x.") can match.
bool found(const lead& l, std::string_view name) {
  if (name == ".") return true;
  if (name.find('.') != std::string_view::npos) {
    auto head = name.substr(0, name.size() - 1);
    if (name.back() != '.' || head.empty() ||
        head.find('.') != std::string_view::npos)
      return false;
    name = head;
  }
  return field_value(l, name) != nullptr;
}

enum class tag_kind : uint8_t { variable, section, inverted };

struct tag_node {
  tag_kind kind = tag_kind::variable;
  std::string name;
  std::vector<tag_node> children;
};

// Reads a set-delimiter tag's contents ("=<% %>=") as kainjow does; false when
// malformed.
bool parse_delimiters(std::string_view contents, std::string& open,
                      std::string& close) {
  if (contents.size() < 5 || contents.back() != '=') return false;
  auto inner = trim(contents.substr(1, contents.size() - 2));
  auto space = inner.find(' ');
  if (space == std::string_view::npos) return false;
  auto next = inner.find_first_not_of(' ', space + 1);
  if (next == std::string_view::npos) return false;
  auto begin = inner.substr(0, space);
  auto end = inner.substr(next);
  auto valid = [](std::string_view d) {
    return d.find_first_of(space_chars) == std::string_view::npos &&
           d.find('=') == std::string_view::npos;
  };
  if (!valid(begin) || !valid(end)) return false;
  open = begin;
  close = end;
  return true;
}

// The tags of `in` that look a name up, nested by section. Follows kainjow's
// parser (parser::parse in mustache.hpp) step by step, delimiter changes
// included, since kainjow keeps its own tree private; fails on what kainjow
// rejects and on partials.
result<std::vector<tag_node>, std::string> scan_tags(const std::string& in) {
  std::string open = "{{";
  std::string close = "}}";
  const std::string triple_close = "}}}";
  bool braces = true;
  std::vector<tag_node> root;
  std::vector<std::vector<tag_node>*> open_sections{&root};
  size_t pos = 0;
  while (pos < in.size()) {
    if (in.compare(pos, open.size(), open) != 0) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t contents = start + open.size();
    bool triple = braces && contents < in.size() && in[contents] == open[0];
    const std::string& end = triple ? triple_close : close;
    if (triple) ++contents;
    size_t stop = in.find(end, contents);
    if (stop == std::string::npos)
      return "Unclosed tag at " + std::to_string(start);
    auto text = trim(std::string_view{in}.substr(contents, stop - contents));
    pos = stop + end.size();
    if (!text.empty() && text.front() == '=') {
      if (!parse_delimiters(text, open, close))
        return "Invalid set delimiter tag at " + std::to_string(start);
      braces = open == "{{" && close == "}}";
      continue;
    }
    tag_node tag;
    if (triple || text.empty() || text.front() == '&') {
      tag.name = triple || text.empty() ? text : trim(text.substr(1));
      open_sections.back()->push_back(std::move(tag));
      continue;
    }
    auto name = trim(text.substr(1));
    switch (text.front()) {
      case '#':
      case '^':
        tag.kind = text.front() == '#' ? tag_kind::section : tag_kind::inverted;
        tag.name = name;
        open_sections.back()->push_back(std::move(tag));
        open_sections.push_back(&open_sections.back()->back().children);
        break;
      case '/':
        if (open_sections.size() == 1)
          return "Unopened section \"" + std::string{name} + "\" at " +
                 std::to_string(start);
        open_sections.pop_back();
        break;
      case '>':
        return "Partials are not supported: \"" + std::string{name} + "\" at " +
               std::to_string(start);
      case '!': break;
      default:
        tag.name = text;
        open_sections.back()->push_back(std::move(tag));
        break;
    }
  }
  if (open_sections.size() != 1) return std::string{"Unclosed section"};
  return root;
}

void collect_names(const std::vector<tag_node>& tags,
                   std::set<std::string>& all, std::set<std::string>& tested) {
  for (const auto& t : tags) {
    if (t.name.empty() || t.name == ".") {
      collect_names(t.children, all, tested);
      continue;
    }
    all.insert(t.name);
    if (t.kind != tag_kind::variable) tested.insert(t.name);
    collect_names(t.children, all, tested);
  }
}

// Walks the tags a render of `l` reaches (a section only when its name is
// found, an inverted one only when not), as kainjow does with flat data.
void collect_missing(const std::vector<tag_node>& tags, const lead& l,
                     const std::set<std::string>& optional,
                     std::set<std::string>& missing) {
  for (const auto& t : tags) {
    switch (t.kind) {
      case tag_kind::variable:
        if (!t.name.empty() && !optional.contains(t.name) && !found(l, t.name))
          missing.insert(t.name);
        break;
      case tag_kind::section:
        if (found(l, t.name)) collect_missing(t.children, l, optional, missing);
        break;
      case tag_kind::inverted:
        if (!found(l, t.name))
          collect_missing(t.children, l, optional, missing);
        break;
    }
  }
}

// A piece of a template made only of text and variables: literal text, or a
// variable's name.
struct segment {
  bool variable = false;
  std::string text;
};

// The template as segments when it holds nothing but text and plain variables
// ({{x}}, {{{x}}}, {{&x}} with the default delimiters, names without dots):
// then rendering is concatenation, as kainjow renders it with verbatim
// escaping, at a tenth of the cost. Anything else (sections, comments,
// delimiter changes, dotted names) renders through kainjow.
std::optional<std::vector<segment>> flat_segments(const std::string& in) {
  std::vector<segment> out;
  size_t pos = 0;
  while (pos < in.size()) {
    auto start = in.find("{{", pos);
    if (start == std::string::npos) start = in.size();
    if (start > pos) out.push_back(segment{false, in.substr(pos, start - pos)});
    if (start == in.size()) break;
    bool triple = in.compare(start, 3, "{{{") == 0;
    auto contents = start + (triple ? 3 : 2);
    auto stop = in.find(triple ? "}}}" : "}}", contents);
    if (stop == std::string::npos) return std::nullopt;
    auto text = trim(std::string_view{in}.substr(contents, stop - contents));
    if (!triple && !text.empty() && text.front() == '&')
      text = trim(text.substr(1));
    else if (!triple && !text.empty() &&
             std::string_view{"#^/>!="}.find(text.front()) !=
               std::string_view::npos)
      return std::nullopt;
    if (text.empty() || text.find('.') != std::string_view::npos ||
        text.find_first_of("{}") != std::string_view::npos)
      return std::nullopt;
    out.push_back(segment{true, std::string{text}});
    pos = stop + (triple ? 3 : 2);
  }
  return out;
}

struct compiled_part {
  mstch::mustache tmpl;
  std::vector<tag_node> tags;
  // Names tested by a section: optional, never reported missing.
  std::set<std::string> optional;
  // Set when the template is only text and plain variables.
  std::optional<std::vector<segment>> flat;

  std::string render(const lead& l) {
    if (!flat) return tmpl.render(lead_data(l));
    std::string out;
    for (const auto& s : *flat) {
      if (!s.variable)
        out += s.text;
      else if (auto v = field_value(l, s.text))
        out += *v;
    }
    return out;
  }
};

result<compiled_part, template_failure> compile_part(const std::string& text,
                                                     const char* part) {
  compiled_part p{mstch::mustache{text}, {}, {}, {}};
  if (!p.tmpl.is_valid())
    return template_failure{template_error::invalid_template,
                            p.tmpl.error_message(), part};
  auto tags = scan_tags(text);
  if (!tags)
    return template_failure{template_error::invalid_template, tags.error(),
                            part};
  p.tags = std::move(*tags);
  p.tmpl.set_custom_escape([](const std::string& s) { return s; });
  p.flat = flat_segments(text);
  return p;
}

} // namespace

struct compiled_message::impl {
  compiled_part subject;
  compiled_part body;
  std::vector<std::string> fields;
};

compiled_message::compiled_message(std::unique_ptr<impl> p) noexcept
  : impl_(std::move(p)) {}

compiled_message::compiled_message(compiled_message&&) noexcept = default;

compiled_message&
compiled_message::operator=(compiled_message&&) noexcept = default;

compiled_message::~compiled_message() = default;

result<compiled_message, template_failure>
compiled_message::compile(const message_template& t) {
  auto subject = compile_part(t.subject, "subject");
  if (!subject) return subject.error();
  auto body = compile_part(t.body, "body");
  if (!body) return body.error();
  auto p =
    std::make_unique<impl>(impl{std::move(*subject), std::move(*body), {}});
  std::set<std::string> all;
  std::set<std::string> subject_tested;
  std::set<std::string> body_tested;
  collect_names(p->subject.tags, all, subject_tested);
  collect_names(p->body.tags, all, body_tested);
  p->subject.optional = std::move(subject_tested);
  p->body.optional = std::move(body_tested);
  p->fields.assign(all.begin(), all.end());
  return compiled_message{std::move(p)};
}

rendered_message compiled_message::render(const lead& l) const {
  return rendered_message{impl_->subject.render(l), impl_->body.render(l),
                          missing_fields(l)};
}

std::vector<std::string> compiled_message::missing_fields(const lead& l) const {
  std::set<std::string> missing;
  collect_missing(impl_->subject.tags, l, impl_->subject.optional, missing);
  collect_missing(impl_->body.tags, l, impl_->body.optional, missing);
  return {missing.begin(), missing.end()};
}

const std::vector<std::string>& compiled_message::fields() const noexcept {
  return impl_->fields;
}

result<rendered_message, template_failure>
render_message(const message_template& t, const lead& l) {
  auto compiled = compiled_message::compile(t);
  if (!compiled) return compiled.error();
  return compiled->render(l);
}

result<std::vector<std::string>, template_failure>
template_fields(const message_template& t) {
  auto compiled = compiled_message::compile(t);
  if (!compiled) return compiled.error();
  return compiled->fields();
}

bool is_blank(std::string_view s) noexcept {
  return s.find_first_not_of(space_chars) == std::string_view::npos;
}

size_t text_length(std::string_view utf8) noexcept {
  return static_cast<size_t>(
    std::count_if(utf8.begin(), utf8.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0u) != 0x80u;
    }));
}

} // namespace herald
