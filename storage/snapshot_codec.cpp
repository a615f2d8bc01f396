// The enrollment snapshot's encoding: the record written at every durable
// point, so compact and written through a pointer (see codec.hpp).

#include "storage/codec.hpp"

#include <cassert>
#include <string>

#include "storage/record_io.hpp"
#include "storage/varint.hpp"

namespace herald::storage {

using detail::offset;
using detail::plus;
using detail::reader;

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

std::string encode(const enrollment& x) {
  std::string out;
  encode_to(out, x);
  return out;
}

std::string encode(const enrollment_snapshot& x) {
  std::string out;
  encode_to(out, x.e, x.history);
  return out;
}

} // namespace herald::storage
