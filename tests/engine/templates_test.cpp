#include "engine/templates.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace herald {
namespace {

using strings = std::vector<std::string>;

lead ada() {
  lead l;
  l.first_name = "Ada";
  l.last_name = "Lovelace";
  l.company = "Analytical Engines";
  l.email = "ada@example.com";
  l.linkedin_url = "https://www.linkedin.com/in/ada";
  l.fields = {{"title", "Countess"}, {"city", "London"}};
  return l;
}

rendered_message render(const message_template& t, const lead& l) {
  auto r = render_message(t, l);
  EXPECT_TRUE(r.has_value()) << r.error().part << ": " << r.error().message;
  return r ? *r : rendered_message{};
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

TEST(Templates, RendersBuiltinAndCustomFields) {
  auto m = render({"Hello {{first_name}} {{last_name}}",
                   "{{company}}, {{title}} in {{city}}: {{email}} "
                   "{{linkedin_url}}"},
                  ada());
  EXPECT_EQ(m.subject, "Hello Ada Lovelace");
  EXPECT_EQ(m.body, "Analytical Engines, Countess in London: ada@example.com "
                    "https://www.linkedin.com/in/ada");
  EXPECT_TRUE(m.missing_fields.empty());
}

TEST(Templates, MissingFieldIsReportedByName) {
  auto l = ada();
  l.company.clear();
  auto m = render({"", "Hi {{first_name}} at {{company}} ({{department}})"}, l);
  EXPECT_EQ(m.body, "Hi Ada at  ()");
  EXPECT_EQ(m.missing_fields, (strings{"company", "department"}));
}

TEST(Templates, EmptyOrBlankValueCountsAsMissing) {
  auto l = ada();
  l.last_name = "   ";
  l.fields = {{"title", ""}, {"city", "\t"}};
  auto m = render({"{{last_name}}", "{{title}}{{city}}{{first_name}}"}, l);
  EXPECT_EQ(m.missing_fields, (strings{"city", "last_name", "title"}));
  EXPECT_EQ(m.body, "Ada");
}

TEST(Templates, MissingFieldsAreSortedAndUniqueAcrossParts) {
  lead nobody;
  auto m = render({"{{zeta}} {{first_name}}",
                   "{{first_name}} {{alpha}} {{zeta}} {{first_name}}"},
                  nobody);
  EXPECT_EQ(m.missing_fields, (strings{"alpha", "first_name", "zeta"}));
}

TEST(Templates, CustomFieldCannotShadowABuiltin) {
  auto l = ada();
  l.fields = {{"first_name", "Mallory"}};
  EXPECT_EQ(render({"", "{{first_name}}"}, l).body, "Ada");
  l.first_name.clear();
  auto m = render({"", "Hi {{first_name}}"}, l);
  EXPECT_EQ(m.body, "Hi ");
  EXPECT_EQ(m.missing_fields, (strings{"first_name"}));
}

TEST(Templates, FirstCustomFieldOfANameCounts) {
  auto l = ada();
  l.fields = {{"title", "Countess"}, {"title", "Duchess"}};
  EXPECT_EQ(render({"", "{{title}}"}, l).body, "Countess");
}

TEST(Templates, ValuesGoInVerbatimNotHtmlEscaped) {
  auto l = ada();
  l.company = "Smith & O'Brien <Ltd> \"quoted\"";
  auto m =
    render({"{{company}}", "{{company}}|{{{company}}}|{{& company}}"}, l);
  EXPECT_EQ(m.subject, l.company);
  EXPECT_EQ(m.body, l.company + "|" + l.company + "|" + l.company);
}

TEST(Templates, SectionsMakeAFieldOptional) {
  auto l = ada();
  l.company.clear();
  l.first_name.clear();
  auto guarded = render({"", "Hi{{#company}} from {{company}}{{/company}}"}, l);
  EXPECT_EQ(guarded.body, "Hi");
  EXPECT_TRUE(guarded.missing_fields.empty());
  auto fallback =
    render({"", "Hi {{first_name}}{{^first_name}}there{{/first_name}}"}, l);
  EXPECT_EQ(fallback.body, "Hi there");
  EXPECT_TRUE(fallback.missing_fields.empty());
}

TEST(Templates, OnlyVariablesTheRenderReachesCanBeMissing) {
  message_template t{"", "{{#company}}{{role}} at {{company}}{{/company}}"};
  auto l = ada();
  l.company.clear();
  EXPECT_TRUE(render(t, l).missing_fields.empty());
  l.company = "Analytical Engines";
  auto m = render(t, l);
  EXPECT_EQ(m.body, " at Analytical Engines");
  EXPECT_EQ(m.missing_fields, (strings{"role"}));
}

TEST(Templates, UnparsableTemplateIsInvalidWithItsPart) {
  auto bad_subject = render_message({"Hi {{first_name", "fine"}, ada());
  ASSERT_FALSE(bad_subject);
  EXPECT_EQ(bad_subject.error().code, template_error::invalid_template);
  EXPECT_EQ(bad_subject.error().part, "subject");
  EXPECT_NE(bad_subject.error().message.find("Unclosed tag"),
            std::string::npos);
  auto bad_body = render_message({"fine", "{{#company}}at {{company}}"}, ada());
  ASSERT_FALSE(bad_body);
  EXPECT_EQ(bad_body.error().part, "body");
  EXPECT_NE(bad_body.error().message.find("Unclosed section"),
            std::string::npos);
  auto unopened = template_fields({"", "x{{/company}}"});
  ASSERT_FALSE(unopened);
  EXPECT_EQ(unopened.error().part, "body");
  EXPECT_EQ(to_string(unopened.error().code), "invalid_template");
}

TEST(Templates, PartialsAreRejected) {
  auto r = render_message({"", "Hi {{> first_name}}"}, ada());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().part, "body");
  EXPECT_NE(r.error().message.find("first_name"), std::string::npos);
}

TEST(Templates, FieldsAreTheVariablesAndSectionsUsed) {
  auto fields = template_fields(
    {"{{ first_name }}, {{{title}}}",
     "{{! a comment }}{{#company}}{{company}}{{/company}}{{^city}}-{{/city}}"
     "{{=<% %>=}}<% last_name %> {{not_a_tag}} <%#x%><%.%><%/x%>"});
  ASSERT_TRUE(fields);
  EXPECT_EQ(*fields, (strings{"city", "company", "first_name", "last_name",
                              "title", "x"}));
}

TEST(Templates, DelimiterChangesAreFollowed) {
  lead nobody;
  nobody.first_name = "Ada";
  auto m = render({"", "{{=<% %>=}}Hi <%first_name%> {{literal}} <%missing%>"},
                  nobody);
  EXPECT_EQ(m.body, "Hi Ada {{literal}} ");
  EXPECT_EQ(m.missing_fields, (strings{"missing"}));
}

TEST(Templates, CompiledOnceRendersManyLeads) {
  auto c = compiled_message::compile({"Hi {{first_name}}", "{{company}}"});
  ASSERT_TRUE(c);
  auto a = ada();
  lead b;
  b.first_name = "Grace";
  EXPECT_EQ(c->render(a).subject, "Hi Ada");
  EXPECT_EQ(c->render(b).subject, "Hi Grace");
  EXPECT_EQ(c->missing_fields(b), (strings{"company"}));
  EXPECT_TRUE(c->missing_fields(a).empty());
  EXPECT_EQ(c->fields(), (strings{"company", "first_name"}));
}

TEST(Templates, TextLengthCountsCodePointsNotBytes) {
  EXPECT_EQ(text_length(""), 0u);
  EXPECT_EQ(text_length("hello"), 5u);
  EXPECT_EQ(text_length("h\xC3\xA9llo"), 5u);             // é: 2 bytes
  EXPECT_EQ(text_length("\xE6\x97\xA5\xE6\x9C\xAC"), 2u); // 日本: 3 bytes each
  EXPECT_EQ(text_length("\xF0\x9F\x91\x8B!"), 2u);        // 👋: 4 bytes
}

TEST(Templates, InviteNoteLimitIsInCodePoints) {
  auto at_limit = repeat("\xC3\xA9", invite_note_limit); // 600 bytes
  EXPECT_EQ(text_length(at_limit), 300u);
  EXPECT_FALSE(over_invite_note_limit(at_limit));
  EXPECT_TRUE(over_invite_note_limit(at_limit + "\xE2\x82\xAC")); // + €
  EXPECT_FALSE(over_invite_note_limit(repeat("a", 300)));
  EXPECT_TRUE(over_invite_note_limit(repeat("a", 301)));
  // A rendered note: the template fits, the lead's value makes it too long.
  auto l = ada();
  l.company = repeat("\xC3\xBC", 21); // ü x 21
  auto note = render({"", repeat("x", 280) + "{{company}}"}, l).body;
  EXPECT_EQ(text_length(note), 301u);
  EXPECT_TRUE(over_invite_note_limit(note));
}

} // namespace
} // namespace herald

namespace herald {
namespace {

// Templates of text and plain variables render by concatenation; everything
// else through kainjow. A never-true section appended to a template renders
// nothing but sends it the kainjow way: both renders must agree, for random
// templates and leads (values present, blank, absent, shadowed, repeated).
TEST(Templates, PlainTemplatesRenderAsKainjowDoes) {
  std::mt19937_64 rng{7};
  const std::vector<std::string> names{
    "first_name", "last_name", "company", "email", "title", "city", "nothing"};
  const std::vector<std::string> texts{"Hi ", ", ", "}}", "{", " x ",
                                       "\n",  "é ", "",   "}"};
  auto pick = [&](const auto& v) { return v[rng() % v.size()]; };
  int rendered = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string t;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 6); i < n; ++i) {
      t += pick(texts);
      auto name = pick(names);
      switch (rng() % 4) {
        case 0: t += "{{" + name + "}}"; break;
        case 1: t += "{{ " + name + " }}"; break;
        case 2: t += "{{{" + name + "}}}"; break;
        default: t += "{{& " + name + "}}"; break;
      }
    }
    t += pick(texts);
    lead l;
    l.first_name = rng() % 3 == 0 ? "" : (rng() % 2 ? "  " : "Ada");
    l.company = rng() % 2 ? "A & B <co>" : "";
    l.email = "a@b.c";
    if (rng() % 2) l.fields.push_back({"title", rng() % 2 ? "Dr" : " "});
    if (rng() % 2) l.fields.push_back({"title", "Second"});
    if (rng() % 2) l.fields.push_back({"first_name", "Shadow"});
    auto plain = compiled_message::compile({t, t});
    auto kainjow =
      compiled_message::compile({"{{#zz_never}}x{{/zz_never}}" + t, t});
    // An invalid template is invalid both ways.
    ASSERT_EQ(static_cast<bool>(plain), static_cast<bool>(kainjow)) << t;
    if (!plain) continue;
    ++rendered;
    auto a = plain->render(l);
    auto b = kainjow->render(l);
    ASSERT_EQ(a.subject, b.subject) << "template: " << t;
    ASSERT_EQ(a.body, b.body) << "template: " << t;
    ASSERT_EQ(a.missing_fields, b.missing_fields) << "template: " << t;
  }
  EXPECT_GT(rendered, 1000);
}

} // namespace
} // namespace herald
