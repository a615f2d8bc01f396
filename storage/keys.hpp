#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>

#include "engine/enrollment_machine.hpp"
#include "engine/ids.hpp"
#include "engine/time.hpp"

namespace herald::storage {

/// The column families. Every key except meta's starts with the workspace id (8
/// bytes, big-endian), so a workspace can be scanned, exported, moved or
/// deleted on its own. An enrollment's snapshot is its one durable record: the
/// timing wheels are rebuilt from its due time and generation, and a snapshot
/// in the granted or sending phase is the open send intent.
enum class cf : uint8_t {
  meta,        // "default": schema version
  workspaces,  // [ws]
  keys,        // [ws][key]: workspace keys, hashed
  accounts,    // [ws][account]
  sequences,   // [ws][sequence]
  leads,       // [ws][1][lead] records; [ws][2][external id] -> lead id;
               // [ws][5][sequence][lead] -> enrollment id;
               // [ws][6][domain]\0[local part]\0[lead]: leads by
               // address, a company's together;
               // [ws][7][lead] -> its enrollments' ids (merged)
  enrollments, // [ws][enrollment]: state snapshots
  history,     // [ws][lead][at ms][enrollment][step][event]
  inbox,       // [ws][newest first][lead]
  events,      // [ws][event id] -> received at: processed event ids
  dnc,         // [ws][email or domain]
  usage,       // [ws][account][local day]: budget counters
};

inline constexpr size_t cf_count = 12;

/// The column family's name in RocksDB.
std::string_view cf_name(cf c) noexcept;

/// Printable form of a binary key (hex), for error messages.
std::string printable(std::string_view key);

namespace key {

std::string workspace_prefix(workspace_id ws);
/// The first key after every key of `ws` (the end of a range delete or scan).
std::string workspace_end(workspace_id ws);

std::string workspace(workspace_id ws);
std::string api_key(workspace_id ws, key_id id);
std::string account(workspace_id ws, account_id id);
std::string sequence(workspace_id ws, sequence_id id);
std::string lead(workspace_id ws, lead_id id);
/// The lead stored under `external_id` (in cf::leads). Its value is the
/// lead's id, 8 bytes, then its enrollments' ids as its lead_enrollments
/// entry lists them, so an event naming the lead by external id finds its
/// enrollments in one point read. Only imports write it: they put it whole,
/// what they read with the new enrollment's id added (imports take turns),
/// and merge that id into the lead_enrollments entry.
std::string lead_external(workspace_id ws, std::string_view external_id);
/// A new lead's lead_external value, with its first enrollment.
std::string lead_external_value(lead_id lead, enrollment_id first);
struct external_lead {
  lead_id lead;
  std::vector<enrollment_id> enrollments;
};
/// What a lead_external value says; nullopt when it is not one.
std::optional<external_lead> parse_lead_external(std::string_view value);
/// The entry saying `lead` is enrolled in `seq` (in cf::leads; its value is
/// the enrollment's id, wire form): an import enrolls a lead once per
/// sequence.
std::string sequence_lead(workspace_id ws, sequence_id seq, lead_id lead);
/// The prefix of every such entry of `seq`: its enrollments.
std::string sequence_leads_prefix(workspace_id ws, sequence_id seq);
/// The lead such an entry names; nullopt when the key is not one.
std::optional<lead_id> parse_sequence_lead(std::string_view k);
std::string enrollment(workspace_id ws, enrollment_id id);
/// The same key without an allocation (the hot path writes one per durable
/// point).
struct enrollment_key {
  std::array<char, 16> bytes;
  std::string_view view() const noexcept {
    return {bytes.data(), bytes.size()};
  }
};
enrollment_key enrollment_fixed(workspace_id ws, enrollment_id id) noexcept;
/// A lead's enrollments (in cf::leads): one entry per lead, whose value lists
/// their ids, 8 bytes each, in the order they were added, each once. Enrolling
/// merges one id in (write_set::merge, with lead_enrollments_entry), so it
/// reads nothing first; an event for the lead finds them in one point read.
std::string lead_enrollments(workspace_id ws, lead_id lead);
/// What a merge adds enrollment `id` to a lead's entry with.
std::string lead_enrollments_entry(enrollment_id id);
/// The ids such an entry (or merge operand) lists; nullopt when it is not one.
std::optional<std::vector<enrollment_id>>
parse_lead_enrollments(std::string_view value);
/// Adds to `entry` each id of `more` it does not hold yet (both as
/// lead_enrollments values): the leads family's merge. False, leaving
/// `entry` alone, when either is not such a value.
bool merge_lead_enrollments(std::string& entry, std::string_view more);
/// The domain of an email address, in lower case; empty when there is none.
std::string email_domain(std::string_view email);
/// ASCII letters in lower case; empty when `s` holds a NUL (keys use it as a
/// separator).
std::string lower_case(std::string_view s);
/// An email address as the email index keeps it: trimmed, in lower case;
/// empty when there is none or it holds a NUL.
std::string normalized_email(std::string_view email);
/// The entry saying `lead`'s email is `email` (normalized here; in
/// cf::leads), and the prefix of every lead's with that address: events that
/// name a lead by email alone. The domain comes first, so that a company's
/// leads are one range (domain_leads_prefix): colleague replies and
/// domain-wide do-not-contact entries.
std::string lead_email(workspace_id ws, std::string_view email, lead_id lead);
std::string lead_emails_prefix(workspace_id ws, std::string_view email);
/// The prefix of the email entries of every lead at `domain` (as
/// email_domain gives it).
std::string domain_leads_prefix(workspace_id ws, std::string_view domain);
/// The lead an email index key names; nullopt when the key is not one.
std::optional<lead_id> parse_lead_email(std::string_view k);
std::string history(workspace_id ws, lead_id lead, time_point at,
                    enrollment_id id, uint16_t step, history_event what);
std::string history_prefix(workspace_id ws, lead_id lead);
std::string inbox(workspace_id ws, time_point received, lead_id lead);
std::string event(workspace_id ws, std::string_view event_id);
std::string dnc(workspace_id ws, std::string_view value);
std::string usage(workspace_id ws, account_id account, date::local_days day);

/// The workspace a key belongs to; nullopt when the key is too short.
std::optional<workspace_id> workspace_of(std::string_view k);

struct usage_key {
  workspace_id ws;
  account_id account;
  date::local_days day;
};
std::optional<usage_key> parse_usage(std::string_view k);

struct event_key {
  workspace_id ws;
  std::string_view event_id;
};
std::optional<event_key> parse_event(std::string_view k);

} // namespace key

} // namespace herald::storage
