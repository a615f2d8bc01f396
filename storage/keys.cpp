#include "storage/keys.hpp"

namespace herald::storage {

namespace {

constexpr std::array<std::string_view, cf_count> names{
  "default",     "workspaces", "keys",  "accounts", "sequences", "leads",
  "enrollments", "history",    "inbox", "events",   "dnc",       "usage"};

constexpr char lead_record_tag = 1;
constexpr char lead_external_tag = 2;
// 3 was a lead's enrollment entry of its own per enrollment (schema 3).
// 4 was a company's index entry of its own per enrollment (schema 4).
constexpr char sequence_lead_tag = 5;
constexpr char lead_email_tag = 6;
constexpr char lead_enrollments_tag = 7;

void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}

uint64_t get_uint(std::string_view k, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i)
    v = (v << 8) | static_cast<uint8_t>(k[at + i]);
  return v;
}

// Times before the epoch sort as the epoch: keys order by unsigned value.
uint64_t time_bits(time_point t) {
  auto ms = to_ms(t);
  return ms < 0 ? 0 : static_cast<uint64_t>(ms);
}

// Days since the epoch, shifted so that the unsigned order is the signed one.
uint32_t day_bits(date::local_days d) {
  return static_cast<uint32_t>(d.time_since_epoch().count()) ^ 0x80000000u;
}

std::string with_ws(workspace_id ws, size_t reserve) {
  std::string out;
  out.reserve(8 + reserve);
  put_u64(out, ws.value);
  return out;
}

// Keys of two ids under a tag, [ws][tag][first][second]: the prefix of
// `first`'s, a whole key, and the second id back (nullopt for another kind).
std::string pair_prefix(workspace_id ws, char tag, uint64_t first) {
  auto out = with_ws(ws, 17);
  out.push_back(tag);
  put_u64(out, first);
  return out;
}

std::string pair_key(workspace_id ws, char tag, uint64_t first,
                     uint64_t second) {
  auto out = pair_prefix(ws, tag, first);
  put_u64(out, second);
  return out;
}

std::optional<uint64_t> pair_second(std::string_view k, char tag) {
  if (k.size() != 25 || k[8] != tag) return std::nullopt;
  return get_uint(k, 17, 8);
}

} // namespace

std::string_view cf_name(cf c) noexcept {
  return names[static_cast<size_t>(c)];
}

std::string printable(std::string_view key) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (unsigned char c : key) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xF]);
  }
  return out;
}

namespace key {

std::string workspace_prefix(workspace_id ws) { return with_ws(ws, 0); }

std::string workspace_end(workspace_id ws) {
  std::string out;
  put_u64(out, ws.value + 1);
  return out;
}

std::string workspace(workspace_id ws) { return with_ws(ws, 0); }

std::string api_key(workspace_id ws, key_id id) {
  auto out = with_ws(ws, 8);
  put_u64(out, id.value);
  return out;
}

std::string account(workspace_id ws, account_id id) {
  auto out = with_ws(ws, 8);
  put_u64(out, id.value);
  return out;
}

std::string sequence(workspace_id ws, sequence_id id) {
  auto out = with_ws(ws, 8);
  put_u64(out, id.value);
  return out;
}

std::string lead(workspace_id ws, lead_id id) {
  auto out = with_ws(ws, 9);
  out.push_back(lead_record_tag);
  put_u64(out, id.value);
  return out;
}

std::string sequence_leads_prefix(workspace_id ws, sequence_id seq) {
  return pair_prefix(ws, sequence_lead_tag, seq.value);
}

std::string sequence_lead(workspace_id ws, sequence_id seq, lead_id lead) {
  return pair_key(ws, sequence_lead_tag, seq.value, lead.value);
}

std::optional<lead_id> parse_sequence_lead(std::string_view k) {
  auto lead = pair_second(k, sequence_lead_tag);
  if (!lead) return std::nullopt;
  return lead_id{*lead};
}

std::string lead_enrollments(workspace_id ws, lead_id lead) {
  return pair_prefix(ws, lead_enrollments_tag, lead.value);
}

std::string lead_enrollments_entry(enrollment_id id) {
  std::string out;
  out.reserve(8);
  put_u64(out, id.value);
  return out;
}

std::string lead_external_value(lead_id lead, enrollment_id first) {
  std::string out;
  out.reserve(16);
  put_u64(out, lead.value);
  put_u64(out, first.value);
  return out;
}

std::optional<external_lead> parse_lead_external(std::string_view value) {
  if (value.size() < 8) return std::nullopt;
  auto ids = parse_lead_enrollments(value.substr(8));
  if (!ids) return std::nullopt;
  return external_lead{lead_id{get_uint(value, 0, 8)}, std::move(*ids)};
}

std::optional<std::vector<enrollment_id>>
parse_lead_enrollments(std::string_view value) {
  if (value.size() % 8 != 0) return std::nullopt;
  std::vector<enrollment_id> ids;
  ids.reserve(value.size() / 8);
  for (size_t at = 0; at < value.size(); at += 8)
    ids.push_back(enrollment_id{get_uint(value, at, 8)});
  return ids;
}

bool merge_lead_enrollments(std::string& entry, std::string_view more) {
  if (entry.size() % 8 != 0 || more.size() % 8 != 0) return false;
  // A lead is in a few sequences: a linear search of its ids is the cheap
  // one.
  for (size_t at = 0; at < more.size(); at += 8) {
    auto id = more.substr(at, 8);
    bool known = false;
    for (size_t i = 0; i < entry.size() && !known; i += 8)
      known = std::string_view{entry}.substr(i, 8) == id;
    if (!known) entry.append(id);
  }
  return true;
}

std::string email_domain(std::string_view email) {
  auto at = email.rfind('@');
  if (at == std::string_view::npos) return {};
  auto domain = email.substr(at + 1);
  while (!domain.empty() && (domain.back() == ' ' || domain.back() == '\t'))
    domain.remove_suffix(1);
  return lower_case(domain);
}

std::string lower_case(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\0') return {};
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::string normalized_email(std::string_view email) {
  auto first = email.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return lower_case(
    email.substr(first, email.find_last_not_of(" \t") - first + 1));
}

std::string domain_leads_prefix(workspace_id ws, std::string_view domain) {
  auto out = with_ws(ws, 2 + domain.size());
  out.push_back(lead_email_tag);
  out.append(domain);
  out.push_back('\0'); // no domain holds one: "a.b" never prefixes "a.bc"
  return out;
}

std::string lead_emails_prefix(workspace_id ws, std::string_view email) {
  auto address = normalized_email(email);
  auto at = address.rfind('@');
  auto local = std::string_view{address}.substr(0, at);
  auto domain = at == std::string::npos
                  ? std::string_view{}
                  : std::string_view{address}.substr(at + 1);
  auto out = domain_leads_prefix(ws, domain);
  out.reserve(out.size() + local.size() + 9);
  out.append(local);
  out.push_back('\0'); // nor does an address: "a@b.c" never prefixes "aa@b.c"
  return out;
}

std::string lead_email(workspace_id ws, std::string_view email, lead_id lead) {
  auto out = lead_emails_prefix(ws, email);
  put_u64(out, lead.value);
  return out;
}

std::optional<lead_id> parse_lead_email(std::string_view k) {
  if (k.size() < 8 + 3 + 8 || k[8] != lead_email_tag || k[k.size() - 9] != '\0')
    return std::nullopt;
  return lead_id{get_uint(k, k.size() - 8, 8)};
}

std::string lead_external(workspace_id ws, std::string_view external_id) {
  auto out = with_ws(ws, 1 + external_id.size());
  out.push_back(lead_external_tag);
  out.append(external_id);
  return out;
}

enrollment_key enrollment_fixed(workspace_id ws, enrollment_id id) noexcept {
  enrollment_key k;
  for (int i = 0; i < 8; ++i) {
    k.bytes[i] = static_cast<char>((ws.value >> (56 - 8 * i)) & 0xFF);
    k.bytes[8 + i] = static_cast<char>((id.value >> (56 - 8 * i)) & 0xFF);
  }
  return k;
}

std::string enrollment(workspace_id ws, enrollment_id id) {
  return std::string{enrollment_fixed(ws, id).view()};
}

std::string history_prefix(workspace_id ws, lead_id lead) {
  auto out = with_ws(ws, 8);
  put_u64(out, lead.value);
  return out;
}

std::string history(workspace_id ws, lead_id lead, time_point at,
                    enrollment_id id, uint16_t step, history_event what) {
  auto out = history_prefix(ws, lead);
  put_u64(out, time_bits(at));
  put_u64(out, id.value);
  put_u16(out, step);
  out.push_back(static_cast<char>(what));
  return out;
}

std::string inbox(workspace_id ws, time_point received, lead_id lead) {
  auto out = with_ws(ws, 16);
  put_u64(out, ~time_bits(received)); // newest first
  put_u64(out, lead.value);
  return out;
}

std::string event(workspace_id ws, std::string_view event_id) {
  auto out = with_ws(ws, event_id.size());
  out.append(event_id);
  return out;
}

std::string dnc(workspace_id ws, std::string_view value) {
  auto out = with_ws(ws, value.size());
  out.append(value);
  return out;
}

std::string usage(workspace_id ws, account_id account, date::local_days day) {
  auto out = with_ws(ws, 12);
  put_u64(out, account.value);
  put_u32(out, day_bits(day));
  return out;
}

std::optional<workspace_id> workspace_of(std::string_view k) {
  if (k.size() < 8) return std::nullopt;
  return workspace_id{get_uint(k, 0, 8)};
}

std::optional<usage_key> parse_usage(std::string_view k) {
  if (k.size() != 20) return std::nullopt;
  auto bits = static_cast<uint32_t>(get_uint(k, 16, 4)) ^ 0x80000000u;
  return usage_key{workspace_id{get_uint(k, 0, 8)},
                   account_id{get_uint(k, 8, 8)},
                   date::local_days{date::days{static_cast<int32_t>(bits)}}};
}

std::optional<event_key> parse_event(std::string_view k) {
  if (k.size() < 8) return std::nullopt;
  return event_key{workspace_id{get_uint(k, 0, 8)}, k.substr(8)};
}

} // namespace key

} // namespace herald::storage
