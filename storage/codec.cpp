#include "storage/codec.hpp"

#include <limits>

#include "storage/varint.hpp"

namespace herald::storage {

namespace {

// Appends one record: the version byte, then fields in order.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {
    out_.push_back(static_cast<char>(record_version));
  }

  writer& u(uint64_t v) {
    put_varint(out_, v);
    return *this;
  }
  writer& s(int64_t v) { return u(zigzag(v)); }
  writer& t(time_point v) { return s(to_ms(v)); }
  writer& d(duration v) { return s(v.count()); }
  writer& b(bool v) { return u(v ? 1 : 0); }
  template<class E>
  writer& e(E v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  writer& str(std::string_view v) {
    u(v.size());
    out_.append(v);
    return *this;
  }
  template<class Tag>
  writer& id(herald::id<Tag> v) {
    return u(v.value);
  }
  writer& days(const std::vector<date::local_days>& v) {
    u(v.size());
    for (auto d : v)
      s(d.time_since_epoch().count());
    return *this;
  }

 private:
  std::string& out_;
};

// Reads one record, keeping the first failure (later reads then return
// defaults).
class reader {
 public:
  reader(std::string_view in, std::string_view record)
    : in_(in), record_(record) {
    if (in_.empty()) {
      fail(codec_error::truncated, "version");
      return;
    }
    auto version = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    if (version != record_version) {
      failed_ = true;
      failure_ = {codec_error::unknown_version,
                  std::string{record_} + " record version " +
                    std::to_string(version) + "; this build reads version " +
                    std::to_string(record_version)};
    }
  }

  uint64_t u(std::string_view field) {
    if (failed_) return 0;
    uint64_t v = 0;
    switch (get_varint(in_, v)) {
      case varint_status::ok: return v;
      case varint_status::truncated: fail(codec_error::truncated, field); break;
      case varint_status::overlong: fail(codec_error::bad_value, field); break;
    }
    return 0;
  }
  template<class Int>
  Int bounded(std::string_view field) {
    auto v = u(field);
    if (v > std::numeric_limits<Int>::max()) {
      fail(codec_error::bad_value, field);
      return 0;
    }
    return static_cast<Int>(v);
  }
  int64_t s(std::string_view field) { return unzigzag(u(field)); }
  time_point t(std::string_view field) { return from_ms(s(field)); }
  duration d(std::string_view field) { return duration{s(field)}; }
  bool b(std::string_view field) {
    auto v = u(field);
    if (v > 1) fail(codec_error::bad_value, field);
    return v == 1;
  }
  template<class E>
  E e(std::string_view field) {
    if (failed_) return E{};
    if (in_.empty()) {
      fail(codec_error::truncated, field);
      return E{};
    }
    auto v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    if (v >= enum_names<E>::values.size()) {
      fail(codec_error::bad_value, field);
      return E{};
    }
    return static_cast<E>(v);
  }
  std::string str(std::string_view field) {
    auto n = u(field);
    if (failed_) return {};
    if (n > in_.size()) {
      fail(codec_error::truncated, field);
      return {};
    }
    std::string out{in_.substr(0, n)};
    in_.remove_prefix(n);
    return out;
  }
  template<class Id>
  Id id(std::string_view field) {
    return Id{u(field)};
  }
  // A count of elements that take at least one byte each: never more than the
  // bytes left, so garbage cannot ask for a huge allocation.
  size_t count(std::string_view field) {
    auto n = u(field);
    if (!failed_ && n > in_.size()) fail(codec_error::truncated, field);
    return failed_ ? 0 : static_cast<size_t>(n);
  }
  std::vector<date::local_days> days(std::string_view field) {
    std::vector<date::local_days> out(count(field));
    for (auto& d : out)
      d = date::local_days{date::days{bounded_days(field)}};
    return out;
  }

  template<class T>
  decoded<T> finish(T value) {
    if (!failed_ && !in_.empty()) {
      failed_ = true;
      failure_ = {codec_error::trailing_bytes,
                  std::string{record_} + " record has " +
                    std::to_string(in_.size()) + " trailing bytes"};
    }
    if (failed_) return failure_;
    return value;
  }

 private:
  int32_t bounded_days(std::string_view field) {
    auto v = s(field);
    if (v < std::numeric_limits<int32_t>::min() ||
        v > std::numeric_limits<int32_t>::max()) {
      fail(codec_error::bad_value, field);
      return 0;
    }
    return static_cast<int32_t>(v);
  }

  void fail(codec_error code, std::string_view field) {
    if (failed_) return;
    failed_ = true;
    std::string what = code == codec_error::truncated ? " truncated in "
                                                      : " has a bad value in ";
    failure_ = {code,
                std::string{record_} + " record" + what + std::string{field}};
  }

  std::string_view in_;
  std::string_view record_;
  bool failed_ = false;
  decode_failure failure_;
};

void write_window(writer& w, const local_window& x) {
  w.s(x.start.count()).s(x.end.count());
}

local_window read_window(reader& r) {
  local_window x;
  x.start = std::chrono::minutes{r.s("window.start")};
  x.end = std::chrono::minutes{r.s("window.end")};
  return x;
}

weekday_set read_days(reader& r) {
  return weekday_set{r.bounded<uint8_t>("weekdays")};
}

void write_ids(writer& w, const std::vector<account_id>& ids) {
  w.u(ids.size());
  for (auto id : ids)
    w.id(id);
}

std::vector<account_id> read_ids(reader& r, std::string_view field) {
  std::vector<account_id> out(r.count(field));
  for (auto& id : out)
    id = r.id<account_id>(field);
  return out;
}

} // namespace

// -- workspace
// -------------------------------------------------------------------------------

void encode_to(std::string& out, const workspace& x) {
  writer{out}.id(x.id).str(x.name).str(x.timezone).days(x.holidays);
}

decoded<workspace> decode_workspace(std::string_view bytes) {
  reader r{bytes, "workspace"};
  workspace x;
  x.id = r.id<workspace_id>("id");
  x.name = r.str("name");
  x.timezone = r.str("timezone");
  x.holidays = r.days("holidays");
  return r.finish(std::move(x));
}

// -- account
// ---------------------------------------------------------------------------------

void encode_to(std::string& out, const sender_account& x) {
  writer w{out};
  const auto& l = x.limits;
  w.id(x.id).id(x.workspace).str(x.name).e(x.kind).str(x.timezone);
  w.u(l.daily_cap).u(l.ramp.start).u(l.ramp.increment).u(l.ramp.ceiling);
  w.d(l.spacing).d(l.jitter);
  write_window(w, l.window);
  w.u(l.days.bits)
    .u(l.invites_per_day)
    .u(l.invites_per_week)
    .u(l.messages_per_day);
  w.e(x.status).b(x.paused_until.has_value());
  if (x.paused_until) w.t(*x.paused_until);
  w.t(x.created_at);
}

decoded<sender_account> decode_account(std::string_view bytes) {
  reader r{bytes, "account"};
  sender_account x;
  auto& l = x.limits;
  x.id = r.id<account_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.name = r.str("name");
  x.kind = r.e<channel>("channel");
  x.timezone = r.str("timezone");
  l.daily_cap = r.bounded<uint32_t>("limits.daily_cap");
  l.ramp.start = r.bounded<uint32_t>("limits.warmup.start");
  l.ramp.increment = r.bounded<uint32_t>("limits.warmup.increment");
  l.ramp.ceiling = r.bounded<uint32_t>("limits.warmup.ceiling");
  l.spacing = r.d("limits.spacing");
  l.jitter = r.d("limits.jitter");
  l.window = read_window(r);
  l.days = read_days(r);
  l.invites_per_day = r.bounded<uint32_t>("limits.invites_per_day");
  l.invites_per_week = r.bounded<uint32_t>("limits.invites_per_week");
  l.messages_per_day = r.bounded<uint32_t>("limits.messages_per_day");
  x.status = r.e<account_status>("status");
  if (r.b("paused_until")) x.paused_until = r.t("paused_until");
  x.created_at = r.t("created_at");
  return r.finish(std::move(x));
}

// -- sequence
// --------------------------------------------------------------------------------

void encode_to(std::string& out, const sequence& x) {
  writer w{out};
  w.id(x.id).id(x.workspace).str(x.name).u(x.steps.size());
  for (const auto& st : x.steps)
    w.e(st.channel)
      .s(st.delay_days)
      .e(st.condition)
      .str(st.message.subject)
      .str(st.message.body)
      .b(st.approved);
  w.e(x.status);
  write_ids(w, x.senders.email);
  write_ids(w, x.senders.linkedin);
  const auto& sc = x.schedule;
  w.e(sc.mode);
  write_window(w, sc.calendar.window);
  w.u(sc.calendar.days.bits)
    .days(sc.calendar.holidays)
    .e(sc.counting)
    .d(sc.day);
  w.b(x.new_leads_per_day.has_value());
  if (x.new_leads_per_day) w.u(*x.new_leads_per_day);
  w.b(x.stop_on_colleague_reply);
}

decoded<sequence> decode_sequence(std::string_view bytes) {
  reader r{bytes, "sequence"};
  sequence x;
  x.id = r.id<sequence_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.name = r.str("name");
  x.steps.resize(r.count("steps"));
  for (auto& st : x.steps) {
    st.channel = r.e<step_channel>("steps.channel");
    st.delay_days = static_cast<int32_t>(r.s("steps.delay_days"));
    st.condition = r.e<step_condition>("steps.condition");
    st.message.subject = r.str("steps.template.subject");
    st.message.body = r.str("steps.template.body");
    st.approved = r.b("steps.approved");
  }
  x.status = r.e<sequence_status>("status");
  x.senders.email = read_ids(r, "senders.email");
  x.senders.linkedin = read_ids(r, "senders.linkedin");
  auto& sc = x.schedule;
  sc.mode = r.e<schedule_mode>("schedule.mode");
  sc.calendar.window = read_window(r);
  sc.calendar.days = read_days(r);
  sc.calendar.holidays = r.days("schedule.holidays");
  sc.counting = r.e<delay_counting>("schedule.delay_counting");
  sc.day = r.d("schedule.day_ms");
  if (r.b("new_leads_per_day"))
    x.new_leads_per_day = r.bounded<uint32_t>("new_leads_per_day");
  x.stop_on_colleague_reply = r.b("stop_on_colleague_reply");
  return r.finish(std::move(x));
}

// -- lead
// ------------------------------------------------------------------------------------

void encode_to(std::string& out, const lead& x) {
  writer w{out};
  w.id(x.id)
    .id(x.workspace)
    .str(x.external_id)
    .str(x.email)
    .str(x.linkedin_url);
  w.str(x.first_name).str(x.last_name).str(x.company).str(x.timezone);
  w.u(x.fields.size());
  for (const auto& [name, value] : x.fields)
    w.str(name).str(value);
}

decoded<lead> decode_lead(std::string_view bytes) {
  reader r{bytes, "lead"};
  lead x;
  x.id = r.id<lead_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.external_id = r.str("external_id");
  x.email = r.str("email");
  x.linkedin_url = r.str("linkedin_url");
  x.first_name = r.str("first_name");
  x.last_name = r.str("last_name");
  x.company = r.str("company");
  x.timezone = r.str("timezone");
  x.fields.resize(r.count("fields"));
  for (auto& [name, value] : x.fields) {
    name = r.str("fields.name");
    value = r.str("fields.value");
  }
  return r.finish(std::move(x));
}

// -- enrollment (the hot one: compact)
// -------------------------------------------------------

namespace {

enum enrollment_flags : uint8_t {
  flag_paused = 1,
  flag_lead_replied = 2,
  flag_invite_accepted = 4,
  flag_has_uncertain = 8,
  flag_invited = 16,
  flag_postponed = 32,
};

// Differences and sums of milliseconds wrap (mod 2^64) instead of overflowing:
// exactly reversible for any values, and garbage input cannot cause undefined
// behaviour.
int64_t offset(int64_t t, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(t) -
                              static_cast<uint64_t>(base));
}

int64_t plus(int64_t base, int64_t off) {
  return static_cast<int64_t>(static_cast<uint64_t>(base) +
                              static_cast<uint64_t>(off));
}

} // namespace

void encode_to(std::string& out, const enrollment& x) {
  writer w{out};
  bool invited = x.invite_sent != time_point{};
  bool postponed = x.postponed_until != time_point{};
  uint8_t flags =
    (x.paused ? flag_paused : 0) | (x.lead_replied ? flag_lead_replied : 0) |
    (x.invite_accepted ? flag_invite_accepted : 0) |
    (x.has_uncertain ? flag_has_uncertain : 0) | (invited ? flag_invited : 0) |
    (postponed ? flag_postponed : 0);
  w.id(x.id).id(x.workspace).id(x.sequence).id(x.lead);
  w.u(x.position).u(x.attempt).e(x.state).e(x.phase).u(x.generation).u(flags);
  // The other times as offsets from the last send: small numbers, few bytes.
  auto base = to_ms(x.last_sent);
  w.t(x.last_sent).s(offset(to_ms(x.due), base));
  if (invited) w.s(offset(to_ms(x.invite_sent), base));
  if (postponed) w.s(offset(to_ms(x.postponed_until), base));
  w.id(x.email_sender).id(x.linkedin_sender);
}

decoded<enrollment> decode_enrollment(std::string_view bytes) {
  reader r{bytes, "enrollment"};
  enrollment x;
  x.id = r.id<enrollment_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.sequence = r.id<sequence_id>("sequence");
  x.lead = r.id<lead_id>("lead");
  x.position = r.bounded<uint16_t>("position");
  x.attempt = r.bounded<uint16_t>("attempt");
  x.state = r.e<enrollment_state>("state");
  x.phase = r.e<enrollment_phase>("phase");
  x.generation = r.bounded<uint32_t>("generation");
  auto flags = r.bounded<uint8_t>("flags");
  x.paused = flags & flag_paused;
  x.lead_replied = flags & flag_lead_replied;
  x.invite_accepted = flags & flag_invite_accepted;
  x.has_uncertain = flags & flag_has_uncertain;
  x.last_sent = r.t("last_sent");
  auto base = to_ms(x.last_sent);
  x.due = from_ms(plus(base, r.s("due")));
  if (flags & flag_invited)
    x.invite_sent = from_ms(plus(base, r.s("invite_sent")));
  if (flags & flag_postponed)
    x.postponed_until = from_ms(plus(base, r.s("postponed_until")));
  x.email_sender = r.id<account_id>("email_sender");
  x.linkedin_sender = r.id<account_id>("linkedin_sender");
  return r.finish(std::move(x));
}

// -- the small records
// -----------------------------------------------------------------------

void encode_to(std::string& out, const send_intent& x) {
  writer{out}
    .id(x.enrollment)
    .u(x.step)
    .u(x.attempt)
    .id(x.account)
    .e(x.kind)
    .t(x.created_at);
}

decoded<send_intent> decode_send_intent(std::string_view bytes) {
  reader r{bytes, "send intent"};
  send_intent x;
  x.enrollment = r.id<enrollment_id>("enrollment");
  x.step = r.bounded<uint16_t>("step");
  x.attempt = r.bounded<uint16_t>("attempt");
  x.account = r.id<account_id>("account");
  x.kind = r.e<step_channel>("channel");
  x.created_at = r.t("created_at");
  return r.finish(x);
}

void encode_to(std::string& out, const history_entry& x) {
  writer{out}
    .id(x.enrollment)
    .u(x.step)
    .e(x.what)
    .e(x.why)
    .id(x.account)
    .t(x.at);
}

decoded<history_entry> decode_history_entry(std::string_view bytes) {
  reader r{bytes, "history"};
  history_entry x;
  x.enrollment = r.id<enrollment_id>("enrollment");
  x.step = r.bounded<uint16_t>("step");
  x.what = r.e<history_event>("event");
  x.why = r.e<history_reason>("reason");
  x.account = r.id<account_id>("account");
  x.at = r.t("at");
  return r.finish(x);
}

void encode_to(std::string& out, const inbox_entry& x) {
  writer{out}
    .id(x.lead)
    .id(x.sequence)
    .u(x.step)
    .id(x.account)
    .e(x.via)
    .str(x.text)
    .t(x.received_at);
}

decoded<inbox_entry> decode_inbox_entry(std::string_view bytes) {
  reader r{bytes, "inbox"};
  inbox_entry x;
  x.lead = r.id<lead_id>("lead");
  x.sequence = r.id<sequence_id>("sequence");
  x.step = r.bounded<uint16_t>("step");
  x.account = r.id<account_id>("account");
  x.via = r.e<channel>("channel");
  x.text = r.str("text");
  x.received_at = r.t("received_at");
  return r.finish(std::move(x));
}

void encode_to(std::string& out, const do_not_contact& x) {
  writer{out}.str(x.value).b(x.domain).t(x.added_at);
}

decoded<do_not_contact> decode_do_not_contact(std::string_view bytes) {
  reader r{bytes, "do-not-contact"};
  do_not_contact x;
  x.value = r.str("value");
  x.domain = r.b("domain");
  x.added_at = r.t("added_at");
  return r.finish(std::move(x));
}

void encode_to(std::string& out, const usage_counters& x) {
  writer{out}.u(x.emails).u(x.invites).u(x.messages);
}

decoded<usage_counters> decode_usage_counters(std::string_view bytes) {
  reader r{bytes, "usage"};
  usage_counters x;
  x.emails = r.bounded<uint32_t>("emails");
  x.invites = r.bounded<uint32_t>("invites");
  x.messages = r.bounded<uint32_t>("messages");
  return r.finish(x);
}

void encode_to(std::string& out, const api_key& x) {
  writer{out}.id(x.id).id(x.workspace).str(x.hash).t(x.created_at);
}

decoded<api_key> decode_api_key(std::string_view bytes) {
  reader r{bytes, "key"};
  api_key x;
  x.id = r.id<key_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.hash = r.str("hash");
  x.created_at = r.t("created_at");
  return r.finish(std::move(x));
}

std::string encode_due_value(uint32_t generation) {
  std::string out;
  writer{out}.u(generation);
  return out;
}

decoded<uint32_t> decode_due_value(std::string_view bytes) {
  reader r{bytes, "due index"};
  auto generation = r.bounded<uint32_t>("generation");
  return r.finish(generation);
}

std::string encode_event_value(time_point received_at) {
  std::string out;
  writer{out}.t(received_at);
  return out;
}

decoded<time_point> decode_event_value(std::string_view bytes) {
  reader r{bytes, "processed event"};
  auto at = r.t("received_at");
  return r.finish(at);
}

} // namespace herald::storage
