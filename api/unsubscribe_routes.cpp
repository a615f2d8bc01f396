// The do-not-contact list: GET and POST /v1/unsubscribes. An entry is an
// email address or a whole domain; adding one halts the enrollments of the
// leads it names, and imports reject such leads from then on.

#include <algorithm>

#include "actors/runtime.hpp"
#include "api/handlers.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"

namespace herald::api {

namespace {

constexpr size_t max_entry_bytes = 254;

json::object entry_json(const storage::do_not_contact& x) {
  return json::object{{x.domain ? "domain" : "email", x.value},
                      {"added_at", format_time(x.added_at)}};
}

} // namespace

storage::expected<std::vector<std::string>>
service::blocked(workspace_id ws,
                 const std::vector<std::string_view>& emails) const {
  // A workspace with no entry at all (every one until its first
  // unsubscribe) blocks nobody: one seek instead of two look-ups per lead,
  // which took 6% of an import's CPU (load-tests/RESULTS.md).
  bool listed = false;
  auto seen =
    db_.scan_prefix(storage::cf::dnc, storage::key::workspace_prefix(ws),
                    [&](std::string_view, std::string_view) {
                      listed = true;
                      return false;
                    });
  if (!seen) return seen.error();
  if (!listed) return std::vector<std::string>(emails.size());
  // Each email's address and domain, in that order (empty: nothing to read).
  std::vector<std::string> values, keys;
  values.reserve(emails.size() * 2);
  keys.reserve(emails.size() * 2);
  for (auto email : emails) {
    values.push_back(email.empty() ? std::string{}
                                   : storage::key::lower_case(email));
    values.push_back(email.empty() ? std::string{}
                                   : storage::key::email_domain(email));
  }
  for (const auto& v : values)
    if (!v.empty()) keys.push_back(storage::key::dnc(ws, v));
  auto got = db_.get_many(storage::cf::dnc, keys);
  if (!got) return got.error();
  std::vector<std::string> out(emails.size());
  size_t k = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].empty()) continue;
    auto& entry = out[i / 2];
    if ((*got)[k++] && entry.empty()) entry = std::move(values[i]);
  }
  return out;
}

response service::add_unsubscribe(const call& c) {
  auto body = json_body(c.req, options_.max_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return std::move(*r);
  storage::do_not_contact entry;
  bool given = false;
  std::string why;
  for (auto f : std::get<simdjson::dom::object>(body)) {
    std::string_view key = f.key;
    std::string k{key};
    if (key != "email" && key != "domain")
      return invalid(c.req, k, "unknown field '" + k + "'");
    if (given)
      return invalid(c.req, k, "give one of email and domain, not both");
    auto v = string_field(f.value, max_entry_bytes, false, why);
    if (!v) return invalid(c.req, k, k + " " + why);
    entry.domain = key == "domain";
    entry.value = storage::key::lower_case(*v);
    if (!entry.domain && (entry.value.find('@') == std::string::npos ||
                          storage::key::email_domain(entry.value).empty()))
      return invalid(c.req, k, "email is not an address");
    if (entry.domain && (entry.value.find('@') != std::string::npos ||
                         entry.value.find('.') == std::string::npos))
      return invalid(c.req, k, "domain is a name such as acme.com");
    given = true;
  }
  if (!given) return invalid(c.req, "email", "give an email or a domain");
  entry.added_at = time_.now();
  storage::write_set w;
  w.put(storage::cf::dnc, storage::key::dnc(c.ws, entry.value),
        storage::encode(entry));
  if (auto ok = db_.write(w, true); !ok) return storage_failed(c.req);
  // The leads it names, by their email entries: every lead at the domain,
  // or those with the address.
  auto prefix = entry.domain
                  ? storage::key::domain_leads_prefix(c.ws, entry.value)
                  : storage::key::lead_emails_prefix(c.ws, entry.value);
  std::vector<lead_id> named;
  auto read = db_.scan_prefix(storage::cf::leads, prefix,
                              [&](std::string_view k, std::string_view) {
                                if (auto l = storage::key::parse_lead_email(k))
                                  named.push_back(*l);
                                return true;
                              });
  if (!read) return storage_failed(c.req);
  // A lead whose address changed may be listed twice.
  std::sort(named.begin(), named.end(),
            [](lead_id a, lead_id b) { return a.value < b.value; });
  named.erase(std::unique(named.begin(), named.end()), named.end());
  size_t halted = 0;
  for (auto l : named) {
    auto reached =
      deliver_and_wait(c.ws, l, actors::lead_event::unsubscribe, std::nullopt);
    if (!reached)
      return error(c.req, http::status::service_unavailable, "not_acknowledged",
                   "the entry is stored, but not every enrollment it names "
                   "applied it in time; add it again (it is idempotent)");
    halted += *reached;
  }
  auto out = entry_json(entry);
  out["enrollments"] = halted;
  return answer(c.req, http::status::created, out);
}

response service::list_unsubscribes(const call& c) {
  return key_list(c, db_, storage::cf::dnc,
                  [](std::string_view v) -> std::optional<json::object> {
                    auto x = storage::decode_do_not_contact(v);
                    if (!x) return std::nullopt;
                    return entry_json(*x);
                  });
}

} // namespace herald::api
