#include "storage/codec.hpp"

#include <cassert>
#include <limits>
#include <utility>
#include <vector>

#include "storage/varint.hpp"

namespace herald::storage {

namespace {

// Appends one record: the version byte, then the fields in the order called.
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
  writer& day(date::local_days v) { return s(v.time_since_epoch().count()); }
  writer& byte(uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  writer& b(bool v) { return byte(v ? 1 : 0); }
  template<class E>
  writer& e(E v) {
    return byte(static_cast<uint8_t>(v));
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
  // The count, then each element as `write_one` writes it.
  template<class T, class F>
  writer& list(const std::vector<T>& xs, F write_one) {
    u(xs.size());
    for (const auto& x : xs)
      write_one(x);
    return *this;
  }

 private:
  std::string& out_;
};

// Reads one record. The first failure is kept and every later read returns a
// default without consuming anything, so decoders read straight through and
// ask finish() at the end. Field names are only turned into text on failure.
class reader {
 public:
  reader(std::string_view in, std::string_view record)
    : in_(in), record_(record) {
    if (in_.empty()) {
      fail(codec_error::truncated, "version");
      return;
    }
    auto version = static_cast<uint8_t>(in_.front());
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
    auto [status, v] = get_varint(in_);
    switch (status) {
      case varint_status::ok: return v;
      case varint_status::truncated: fail(codec_error::truncated, field); break;
      case varint_status::overlong:
        fail(codec_error::bad_value, field, "varint past 64 bits");
        break;
    }
    return 0;
  }
  template<class Int>
  Int unsigned_as(std::string_view field) {
    auto v = u(field);
    if (v > std::numeric_limits<Int>::max()) {
      fail(codec_error::bad_value, field, std::to_string(v) + " out of range");
      return 0;
    }
    return static_cast<Int>(v);
  }
  int64_t s(std::string_view field) { return unzigzag(u(field)); }
  template<class Int>
  Int signed_as(std::string_view field) {
    auto v = s(field);
    if (v < std::numeric_limits<Int>::min() ||
        v > std::numeric_limits<Int>::max()) {
      fail(codec_error::bad_value, field, std::to_string(v) + " out of range");
      return 0;
    }
    return static_cast<Int>(v);
  }
  time_point t(std::string_view field) { return from_ms(s(field)); }
  duration d(std::string_view field) { return duration{s(field)}; }
  date::local_days day(std::string_view field) {
    return date::local_days{date::days{signed_as<date::days::rep>(field)}};
  }
  uint8_t byte(std::string_view field) {
    if (failed_) return 0;
    if (in_.empty()) {
      fail(codec_error::truncated, field);
      return 0;
    }
    auto v = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return v;
  }
  bool b(std::string_view field) {
    auto v = byte(field);
    if (v > 1) fail(codec_error::bad_value, field, "bool " + std::to_string(v));
    return v == 1;
  }
  // A flags byte in which only the bits of `known` may be set.
  uint8_t flags(std::string_view field, uint8_t known) {
    auto v = byte(field);
    if ((v & ~known) != 0) {
      fail(codec_error::bad_value, field,
           "unknown bits in " + std::to_string(v));
      return 0;
    }
    return v;
  }
  template<class E>
  E e(std::string_view field) {
    constexpr auto size = enum_names<E>::values.size();
    auto v = byte(field);
    if (v >= size) {
      fail(codec_error::bad_value, field,
           "enumerator " + std::to_string(v) + " of " + std::to_string(size));
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
  // A count, then each element as `read_one` reads it; failures inside name
  // the element (`name[i].field`). Every element takes at least `min_bytes`,
  // so a count the bytes left cannot hold is refused before any allocation.
  template<class T, class F>
  std::vector<T> list(std::string_view name, size_t min_bytes, F read_one) {
    auto n = u(name);
    if (failed_) return {};
    if (n > in_.size() / min_bytes) {
      fail(codec_error::truncated, name,
           std::to_string(n) + " elements in " + std::to_string(in_.size()) +
             " bytes");
      return {};
    }
    std::vector<T> out;
    out.reserve(static_cast<size_t>(n));
    auto outer = std::exchange(list_, name);
    for (size_t i = 0; i < n && !failed_; ++i) {
      index_ = i;
      out.push_back(read_one());
    }
    list_ = outer;
    return out;
  }

  // The value, or the first failure; trailing_bytes when bytes are left.
  template<class T>
  decoded<T> finish(T value) {
    if (!failed_ && !in_.empty()) {
      failed_ = true;
      failure_ = {
        codec_error::trailing_bytes,
        std::string{record_} + " record has " + std::to_string(in_.size()) +
          (in_.size() == 1 ? " byte" : " bytes") + " after its last field"};
    }
    if (failed_) return std::move(failure_);
    return value;
  }

 private:
  void fail(codec_error code, std::string_view field,
            std::string_view detail = {}) {
    if (failed_) return;
    failed_ = true;
    std::string where;
    if (!list_.empty()) {
      where.append(list_).append("[").append(std::to_string(index_));
      where.append("]");
      if (!field.empty()) where.append(".");
    }
    where.append(field);
    std::string text{record_};
    if (code == codec_error::truncated) {
      text.append(" record truncated in ").append(where);
      if (!detail.empty()) text.append(" (").append(detail).append(")");
    } else {
      text.append(" record has a bad value in ").append(where);
      if (!detail.empty()) text.append(": ").append(detail);
    }
    failure_ = {code, std::move(text)};
  }

  std::string_view in_;
  std::string_view record_;
  // The list being read and the element's index, for failure messages.
  std::string_view list_;
  size_t index_ = 0;
  bool failed_ = false;
  decode_failure failure_;
};

template<class T>
std::string encoded(const T& x) {
  std::string out;
  encode_to(out, x);
  return out;
}

// Differences and sums of milliseconds wrap (mod 2^64) instead of overflowing:
// exactly reversible for any two times, and garbage input cannot cause
// undefined behaviour.
int64_t offset(int64_t t, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(t) -
                              static_cast<uint64_t>(base));
}

int64_t plus(int64_t base, int64_t off) {
  return static_cast<int64_t>(static_cast<uint64_t>(base) +
                              static_cast<uint64_t>(off));
}

constexpr uint8_t all_weekdays = 0x7F;

// Elements take at least this many bytes (the smallest encoding of each).
constexpr size_t min_id_bytes = 1;
constexpr size_t min_day_bytes = 1;
constexpr size_t min_field_bytes = 2; // two empty strings
// channel, delay, condition, two empty strings, approved
constexpr size_t min_step_bytes = 6;

} // namespace

// -- workspace
// -------------------------------------------------------------------------------

void encode_to(std::string& out, const workspace& x) {
  writer w{out};
  w.id(x.id).str(x.name).str(x.timezone);
  w.list(x.holidays, [&](date::local_days d) { w.day(d); });
}

decoded<workspace> decode_workspace(std::string_view bytes) {
  reader r{bytes, "workspace"};
  workspace x;
  x.id = r.id<workspace_id>("id");
  x.name = r.str("name");
  x.timezone = r.str("timezone");
  x.holidays = r.list<date::local_days>("holidays", min_day_bytes,
                                        [&] { return r.day(""); });
  return r.finish(std::move(x));
}

// -- sender account
// --------------------------------------------------------------------------

namespace {

enum account_flags : uint8_t {
  flag_paused_until = 1,
};

} // namespace

void encode_to(std::string& out, const sender_account& x) {
  writer w{out};
  const auto& l = x.limits;
  w.id(x.id).id(x.workspace).str(x.name).e(x.kind).str(x.timezone);
  w.u(l.daily_cap).u(l.ramp.start).u(l.ramp.increment).u(l.ramp.ceiling);
  w.d(l.spacing).d(l.jitter);
  w.s(l.window.start.count()).s(l.window.end.count()).byte(l.days.bits);
  w.u(l.invites_per_day).u(l.invites_per_week).u(l.messages_per_day);
  w.e(x.status).byte(x.paused_until ? flag_paused_until : 0);
  if (x.paused_until) w.t(*x.paused_until);
  w.t(x.created_at);
}

decoded<sender_account> decode_sender_account(std::string_view bytes) {
  reader r{bytes, "account"};
  sender_account x;
  auto& l = x.limits;
  x.id = r.id<account_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.name = r.str("name");
  x.kind = r.e<channel>("kind");
  x.timezone = r.str("timezone");
  l.daily_cap = r.unsigned_as<uint32_t>("limits.daily_cap");
  l.ramp.start = r.unsigned_as<uint32_t>("limits.ramp.start");
  l.ramp.increment = r.unsigned_as<uint32_t>("limits.ramp.increment");
  l.ramp.ceiling = r.unsigned_as<uint32_t>("limits.ramp.ceiling");
  l.spacing = r.d("limits.spacing");
  l.jitter = r.d("limits.jitter");
  l.window.start = std::chrono::minutes{r.s("limits.window.start")};
  l.window.end = std::chrono::minutes{r.s("limits.window.end")};
  l.days = weekday_set{r.flags("limits.days", all_weekdays)};
  l.invites_per_day = r.unsigned_as<uint32_t>("limits.invites_per_day");
  l.invites_per_week = r.unsigned_as<uint32_t>("limits.invites_per_week");
  l.messages_per_day = r.unsigned_as<uint32_t>("limits.messages_per_day");
  x.status = r.e<account_status>("status");
  auto flags = r.flags("flags", flag_paused_until);
  if (flags & flag_paused_until) x.paused_until = r.t("paused_until");
  x.created_at = r.t("created_at");
  return r.finish(std::move(x));
}

// -- sequence
// --------------------------------------------------------------------------------

namespace {

enum sequence_flags : uint8_t {
  flag_new_leads_cap = 1,
  flag_stop_on_colleague_reply = 2,
};

} // namespace

void encode_to(std::string& out, const sequence& x) {
  writer w{out};
  w.id(x.id).id(x.workspace).str(x.name);
  w.list(x.steps, [&](const step& st) {
    w.e(st.channel).s(st.delay_days).e(st.condition);
    w.str(st.message.subject).str(st.message.body).b(st.approved);
  });
  w.e(x.status);
  auto write_id = [&](account_id id) { w.id(id); };
  w.list(x.senders.email, write_id).list(x.senders.linkedin, write_id);
  const auto& sc = x.schedule;
  const auto& cal = sc.calendar;
  w.e(sc.mode).s(cal.window.start.count()).s(cal.window.end.count());
  w.byte(cal.days.bits);
  w.list(cal.holidays, [&](date::local_days d) { w.day(d); });
  w.e(sc.counting).d(sc.day);
  w.byte((x.new_leads_per_day ? flag_new_leads_cap : 0) |
         (x.stop_on_colleague_reply ? flag_stop_on_colleague_reply : 0));
  if (x.new_leads_per_day) w.u(*x.new_leads_per_day);
}

decoded<sequence> decode_sequence(std::string_view bytes) {
  reader r{bytes, "sequence"};
  sequence x;
  x.id = r.id<sequence_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.name = r.str("name");
  x.steps = r.list<step>("steps", min_step_bytes, [&] {
    step st;
    st.channel = r.e<step_channel>("channel");
    st.delay_days = r.signed_as<int32_t>("delay_days");
    st.condition = r.e<step_condition>("condition");
    st.message.subject = r.str("template.subject");
    st.message.body = r.str("template.body");
    st.approved = r.b("approved");
    return st;
  });
  x.status = r.e<sequence_status>("status");
  auto read_id = [&] { return r.id<account_id>(""); };
  x.senders.email = r.list<account_id>("senders.email", min_id_bytes, read_id);
  x.senders.linkedin =
    r.list<account_id>("senders.linkedin", min_id_bytes, read_id);
  auto& sc = x.schedule;
  auto& cal = sc.calendar;
  sc.mode = r.e<schedule_mode>("schedule.mode");
  cal.window.start =
    std::chrono::minutes{r.s("schedule.calendar.window.start")};
  cal.window.end = std::chrono::minutes{r.s("schedule.calendar.window.end")};
  cal.days = weekday_set{r.flags("schedule.calendar.days", all_weekdays)};
  cal.holidays = r.list<date::local_days>(
    "schedule.calendar.holidays", min_day_bytes, [&] { return r.day(""); });
  sc.counting = r.e<delay_counting>("schedule.counting");
  sc.day = r.d("schedule.day");
  auto flags =
    r.flags("flags", flag_new_leads_cap | flag_stop_on_colleague_reply);
  x.stop_on_colleague_reply = flags & flag_stop_on_colleague_reply;
  if (flags & flag_new_leads_cap)
    x.new_leads_per_day = r.unsigned_as<uint32_t>("new_leads_per_day");
  return r.finish(std::move(x));
}

// -- lead
// ------------------------------------------------------------------------------------

void encode_to(std::string& out, const lead& x) {
  writer w{out};
  w.id(x.id).id(x.workspace).str(x.external_id).str(x.email);
  w.str(x.linkedin_url).str(x.first_name).str(x.last_name).str(x.company);
  w.str(x.timezone);
  w.list(x.fields, [&](const std::pair<std::string, std::string>& f) {
    w.str(f.first).str(f.second);
  });
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
  x.fields =
    r.list<std::pair<std::string, std::string>>("fields", min_field_bytes, [&] {
      auto name = r.str("name");
      auto value = r.str("value");
      return std::pair{std::move(name), std::move(value)};
    });
  return r.finish(std::move(x));
}

// -- enrollment (the hot one: compact)
// -------------------------------------------------------

namespace {

// The bools, and whether invite_sent and postponed_until are set (not the
// epoch); unset ones are left out.
enum enrollment_flags : uint8_t {
  flag_paused = 1,
  flag_lead_replied = 2,
  flag_invite_accepted = 4,
  flag_has_uncertain = 8,
  flag_invited = 16,
  flag_postponed = 32,
  all_enrollment_flags = 63,
};

} // namespace

void encode_to(std::string& out, const enrollment& x) { encode_to(out, x, {}); }

namespace {

// Writes a record into room made beforehand, without a capacity check per
// byte: the snapshot, written at every durable point, is mostly varints.
class raw_writer {
 public:
  explicit raw_writer(char* at) : p_(at) {
    *p_++ = static_cast<char>(record_version);
  }

  raw_writer& u(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
    return *this;
  }
  raw_writer& s(int64_t v) { return u(zigzag(v)); }
  raw_writer& t(time_point v) { return s(to_ms(v)); }
  raw_writer& byte(uint8_t v) {
    *p_++ = static_cast<char>(v);
    return *this;
  }
  template<class E>
  raw_writer& e(E v) {
    return byte(static_cast<uint8_t>(v));
  }
  template<class Tag>
  raw_writer& id(herald::id<Tag> v) {
    return u(v.value);
  }

  char* end() const noexcept { return p_; }

 private:
  char* p_;
};

// The most bytes a snapshot takes: the version, state, phase and flags bytes
// and 14 varints; each history line two bytes and 3 varints.
constexpr size_t max_snapshot_bytes = 4 + 14 * max_varint_bytes;
constexpr size_t max_line_bytes = 2 + 3 * max_varint_bytes;

} // namespace

void encode_to(std::string& out, const enrollment& x,
               std::span<const history_entry> history) {
  auto at = out.size();
  out.resize(at + max_snapshot_bytes + history.size() * max_line_bytes);
  raw_writer w{out.data() + at};
  bool invited = x.invite_sent != time_point{};
  bool postponed = x.postponed_until != time_point{};
  uint8_t flags =
    (x.paused ? flag_paused : 0) | (x.lead_replied ? flag_lead_replied : 0) |
    (x.invite_accepted ? flag_invite_accepted : 0) |
    (x.has_uncertain ? flag_has_uncertain : 0) | (invited ? flag_invited : 0) |
    (postponed ? flag_postponed : 0);
  w.id(x.id).id(x.workspace).id(x.sequence).id(x.lead);
  w.u(x.position).u(x.attempt).e(x.state).e(x.phase).u(x.generation);
  w.byte(flags);
  // The other times as offsets from the last send: days, not decades, so a
  // few bytes each.
  auto base = to_ms(x.last_sent);
  w.t(x.last_sent).s(offset(to_ms(x.due), base));
  if (invited) w.s(offset(to_ms(x.invite_sent), base));
  if (postponed) w.s(offset(to_ms(x.postponed_until), base));
  w.id(x.email_sender).id(x.linkedin_sender);
  // The history lines: their times as offsets from the last send too.
  w.u(history.size());
  for (const auto& line : history)
    w.u(line.step)
      .e(line.what)
      .e(line.why)
      .id(line.account)
      .s(offset(to_ms(line.at), base));
  assert(w.end() <= out.data() + out.size());
  out.resize(static_cast<size_t>(w.end() - out.data()));
}

decoded<enrollment> decode_enrollment(std::string_view bytes) {
  auto snapshot = decode_snapshot(bytes);
  if (!snapshot) return snapshot.error();
  return snapshot->e;
}

decoded<enrollment_snapshot> decode_snapshot(std::string_view bytes) {
  reader r{bytes, "enrollment"};
  enrollment_snapshot snapshot;
  auto& x = snapshot.e;
  x.id = r.id<enrollment_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.sequence = r.id<sequence_id>("sequence");
  x.lead = r.id<lead_id>("lead");
  x.position = r.unsigned_as<uint16_t>("position");
  x.attempt = r.unsigned_as<uint16_t>("attempt");
  x.state = r.e<enrollment_state>("state");
  x.phase = r.e<enrollment_phase>("phase");
  x.generation = r.unsigned_as<uint32_t>("generation");
  auto flags = r.flags("flags", all_enrollment_flags);
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
  constexpr size_t min_line_bytes = 5;
  snapshot.history = r.list<history_entry>("history", min_line_bytes, [&] {
    history_entry line;
    line.enrollment = x.id;
    line.step = r.unsigned_as<uint16_t>("step");
    line.what = r.e<history_event>("what");
    line.why = r.e<history_reason>("why");
    line.account = r.id<account_id>("account");
    line.at = from_ms(plus(base, r.s("at")));
    return line;
  });
  return r.finish(std::move(snapshot));
}

// -- storage records
// -------------------------------------------------------------------------

void encode_to(std::string& out, const history_entry& x) {
  writer w{out};
  w.id(x.enrollment).u(x.step).e(x.what).e(x.why).id(x.account).t(x.at);
}

decoded<history_entry> decode_history_entry(std::string_view bytes) {
  reader r{bytes, "history entry"};
  history_entry x;
  x.enrollment = r.id<enrollment_id>("enrollment");
  x.step = r.unsigned_as<uint16_t>("step");
  x.what = r.e<history_event>("what");
  x.why = r.e<history_reason>("why");
  x.account = r.id<account_id>("account");
  x.at = r.t("at");
  return r.finish(x);
}

void encode_to(std::string& out, const inbox_entry& x) {
  writer w{out};
  w.id(x.lead).id(x.sequence).u(x.step).id(x.account).e(x.via);
  w.str(x.text).t(x.received_at);
}

decoded<inbox_entry> decode_inbox_entry(std::string_view bytes) {
  reader r{bytes, "inbox entry"};
  inbox_entry x;
  x.lead = r.id<lead_id>("lead");
  x.sequence = r.id<sequence_id>("sequence");
  x.step = r.unsigned_as<uint16_t>("step");
  x.account = r.id<account_id>("account");
  x.via = r.e<channel>("via");
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
  reader r{bytes, "usage counters"};
  usage_counters x;
  x.emails = r.unsigned_as<uint32_t>("emails");
  x.invites = r.unsigned_as<uint32_t>("invites");
  x.messages = r.unsigned_as<uint32_t>("messages");
  return r.finish(x);
}

void encode_to(std::string& out, const api_key& x) {
  writer{out}.id(x.id).id(x.workspace).str(x.hash).t(x.created_at);
}

decoded<api_key> decode_api_key(std::string_view bytes) {
  reader r{bytes, "api key"};
  api_key x;
  x.id = r.id<key_id>("id");
  x.workspace = r.id<workspace_id>("workspace");
  x.hash = r.str("hash");
  x.created_at = r.t("created_at");
  return r.finish(std::move(x));
}

// -- encode
// ----------------------------------------------------------------------------------

std::string encode(const workspace& x) { return encoded(x); }
std::string encode(const sender_account& x) { return encoded(x); }
std::string encode(const sequence& x) { return encoded(x); }
std::string encode(const lead& x) { return encoded(x); }
std::string encode(const enrollment& x) { return encoded(x); }
std::string encode(const enrollment_snapshot& x) {
  std::string out;
  encode_to(out, x.e, x.history);
  return out;
}
std::string encode(const history_entry& x) { return encoded(x); }
std::string encode(const inbox_entry& x) { return encoded(x); }
std::string encode(const do_not_contact& x) { return encoded(x); }
std::string encode(const usage_counters& x) { return encoded(x); }
std::string encode(const api_key& x) { return encoded(x); }

// -- index values
// ----------------------------------------------------------------------------

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
