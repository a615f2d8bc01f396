#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/calendar.hpp"
#include "engine/ids.hpp"
#include "engine/time.hpp"

namespace herald {

// -- enumerations, with the names the API and storage use
// ---------------------------------

/// The channel of a sender account.
enum class channel : uint8_t { email, linkedin };

/// The channel of a step; invites and messages both go through a LinkedIn
/// account.
enum class step_channel : uint8_t { email, linkedin_invite, linkedin_message };

enum class step_condition : uint8_t { always, no_reply };

enum class sequence_status : uint8_t { draft, active, paused };

enum class account_status : uint8_t { active, paused, warned, revoked };

/// Where an enrollment stands overall (the states of `/stats`). `active` covers
/// waiting for a step, asking for a slot and sending; the others are terminal
/// except `uncertain`, which is surfaced for a person to resolve.
enum class enrollment_state : uint8_t {
  active,
  replied,
  completed,
  bounced,
  unsubscribed,
  failed,
  uncertain,
  /// Halted because a colleague (same email domain) replied, when the sequence
  /// says so.
  colleague_replied,
};

/// Where an active enrollment is within its current step.
enum class enrollment_phase : uint8_t {
  /// A timer is armed for the step at `position`, due at `due` (none while
  /// paused).
  waiting,
  /// A LinkedIn message step is due but the invite is not accepted yet: waits
  /// until the
  /// grace deadline.
  waiting_invite,
  /// Asked the bound account for a slot.
  awaiting_slot,
  /// Granted a slot: the send intent is being made durable.
  granted,
  /// The provider has been called; the outcome is awaited.
  sending,
  /// Terminal: `state` says why.
  done,
};

/// What the provider said of one send. A deferral (SMTP 4xx, HTTP 429) did not
/// deliver and is retried; `unknown` (a crash or a timeout mid-call) is never
/// resent blindly.
enum class send_outcome : uint8_t { sent, deferred, bounced, failed, unknown };

/// Calendar: due at the window in the lead's zone. Relative: due = previous
/// send + delay_days x day, no window, zone or spreading (simulations and load
/// tests).
enum class schedule_mode : uint8_t { calendar, relative };

/// How an account's sends leave herald: the simulated provider (in memory),
/// or a webhook gateway reached over HTTP (provider_settings).
enum class provider_kind : uint8_t { sim, webhook };

/// How `delay_days` count: every calendar day (then rolled to the next sending
/// day), or sending days only (skipping non-sending weekdays and holidays).
enum class delay_counting : uint8_t { calendar_days, sending_days };

template<class E>
struct enum_names;

template<>
struct enum_names<channel> {
  static constexpr std::array<std::string_view, 2> values{"email", "linkedin"};
};
template<>
struct enum_names<step_channel> {
  static constexpr std::array<std::string_view, 3> values{
    "email", "linkedin_invite", "linkedin_message"};
};
template<>
struct enum_names<step_condition> {
  static constexpr std::array<std::string_view, 2> values{"always", "no_reply"};
};
template<>
struct enum_names<sequence_status> {
  static constexpr std::array<std::string_view, 3> values{"draft", "active",
                                                          "paused"};
};
template<>
struct enum_names<account_status> {
  static constexpr std::array<std::string_view, 4> values{"active", "paused",
                                                          "warned", "revoked"};
};
template<>
struct enum_names<enrollment_state> {
  static constexpr std::array<std::string_view, 8> values{
    "active",       "replied", "completed", "bounced",
    "unsubscribed", "failed",  "uncertain", "colleague_replied"};
};
template<>
struct enum_names<enrollment_phase> {
  static constexpr std::array<std::string_view, 6> values{
    "waiting", "waiting_invite", "awaiting_slot", "granted", "sending", "done"};
};
template<>
struct enum_names<send_outcome> {
  static constexpr std::array<std::string_view, 5> values{
    "sent", "deferred", "bounced", "failed", "unknown"};
};
template<>
struct enum_names<provider_kind> {
  static constexpr std::array<std::string_view, 2> values{"sim", "webhook"};
};
template<>
struct enum_names<schedule_mode> {
  static constexpr std::array<std::string_view, 2> values{"calendar",
                                                          "relative"};
};
template<>
struct enum_names<delay_counting> {
  static constexpr std::array<std::string_view, 2> values{"calendar_days",
                                                          "sending_days"};
};

/// The wire name of an enumerator.
template<class E>
constexpr std::string_view to_string(E e) noexcept {
  return enum_names<E>::values[static_cast<size_t>(e)];
}

/// The enumerator with wire name `name`; nullopt for any other text.
template<class E>
constexpr std::optional<E> parse_enum(std::string_view name) noexcept {
  for (size_t i = 0; i < enum_names<E>::values.size(); ++i)
    if (enum_names<E>::values[i] == name) return static_cast<E>(i);
  return std::nullopt;
}

constexpr channel account_channel(step_channel c) noexcept {
  return c == step_channel::email ? channel::email : channel::linkedin;
}

// -- entities
// -------------------------------------------------------------------------------

struct workspace {
  workspace_id id;
  std::string name;
  /// IANA name; the zone of leads that have none (or an unknown one).
  std::string timezone;
  /// Local dates on which no sequence of the workspace sends.
  std::vector<date::local_days> holidays;
};

/// Warm-up ramp of a new email account: `start` sends on its first sending day,
/// then `increment` more per sending day, up to `ceiling` (never above the
/// daily cap). `start == 0` means no ramp.
struct warmup {
  uint32_t start = 0;
  uint32_t increment = 0;
  uint32_t ceiling = 0;

  constexpr bool enabled() const noexcept { return start > 0; }
};

/// An account's budget settings. Email uses the cap, ramp, spacing and jitter;
/// LinkedIn the invite and message caps. Both use the window and days in the
/// account's zone.
struct account_limits {
  uint32_t daily_cap = 50;
  warmup ramp;
  duration spacing = std::chrono::minutes{2};
  duration jitter = std::chrono::minutes{1};
  local_window window;
  weekday_set days = weekday_set::every_day();
  uint32_t invites_per_day = 20;
  uint32_t invites_per_week = 100;
  uint32_t messages_per_day = 50;
};

/// An account's provider: a webhook gateway's `url`, with `secret` as its
/// bearer token when set.
struct provider_settings {
  provider_kind kind = provider_kind::sim;
  std::string url;
  /// A credential: stored, never answered.
  std::string secret;

  friend bool operator==(const provider_settings&,
                         const provider_settings&) = default;
};

struct sender_account {
  account_id id;
  workspace_id workspace;
  std::string name;
  channel kind = channel::email;
  /// IANA name; empty means the workspace's.
  std::string timezone;
  account_limits limits;
  account_status status = account_status::active;
  /// While `status` is paused or warned with a cool-down: when sending may
  /// resume.
  std::optional<time_point> paused_until;
  time_point created_at{};
  provider_settings provider;

  /// The account's own sending calendar (its window and days, no holidays).
  sending_calendar calendar() const {
    return sending_calendar{limits.window, limits.days, {}};
  }
};

struct message_template {
  /// Email only.
  std::string subject;
  /// The email body, the invite note (at most 300 characters) or the LinkedIn
  /// message.
  std::string body;
};

struct step {
  step_channel channel = step_channel::email;
  int32_t delay_days = 0;
  step_condition condition = step_condition::always;
  message_template message;
  bool approved = false;
};

struct schedule_settings {
  schedule_mode mode = schedule_mode::calendar;
  /// The sequence's window, sending days and own holidays, applied in the
  /// lead's zone.
  sending_calendar calendar{
    local_window{}, weekday_set::monday_to_friday(), {}};
  delay_counting counting = delay_counting::calendar_days;
  /// Relative mode only: the length of one "day".
  duration day = days_ms(1);
};

struct sender_pools {
  std::vector<account_id> email;
  std::vector<account_id> linkedin;

  const std::vector<account_id>& of(channel c) const noexcept {
    return c == channel::email ? email : linkedin;
  }
};

struct sequence {
  sequence_id id;
  workspace_id workspace;
  std::string name;
  std::vector<step> steps;
  sequence_status status = sequence_status::draft;
  sender_pools senders;
  schedule_settings schedule;
  /// At most this many leads start step 1 per day; nullopt is no cap.
  std::optional<uint32_t> new_leads_per_day;
  bool stop_on_colleague_reply = false;
};

struct lead {
  lead_id id;
  workspace_id workspace;
  /// The caller's id, unique per workspace; imports are idempotent by it.
  std::string external_id;
  std::string email;
  std::string linkedin_url;
  std::string first_name;
  std::string last_name;
  std::string company;
  /// IANA name; empty or unknown falls back to the workspace's.
  std::string timezone;
  /// Custom template fields, in the order given.
  std::vector<std::pair<std::string, std::string>> fields;
};

/// A lead in a sequence: its place and everything the state machine needs to go
/// on after a restart (the snapshot storage persists).
struct enrollment {
  enrollment_id id;
  workspace_id workspace;
  sequence_id sequence;
  lead_id lead;
  /// Index (0-based) of the step to run next; steps.size() once all have run.
  uint16_t position = 0;
  /// Provider calls made for the step at `position` (more than one only after
  /// deferrals); each call's intent and outcome carry it.
  uint16_t attempt = 0;
  enrollment_state state = enrollment_state::active;
  enrollment_phase phase = enrollment_phase::waiting;
  /// Bumped whenever the armed timer is superseded; a timer carrying an older
  /// generation is stale and does nothing.
  uint32_t generation = 0;
  /// The sequence is paused: no timer is armed and the place is kept.
  bool paused = false;
  /// The lead had replied (in another sequence) before this enrollment: its
  /// no_reply steps are skipped.
  bool lead_replied = false;
  bool invite_accepted = false;
  /// A step's outcome is unknown (surfaced, never resent); the enrollment went
  /// on.
  bool has_uncertain = false;
  /// When the armed timer is due: the step at `position` while waiting, the
  /// invite's grace deadline while waiting_invite.
  time_point due{};
  /// When the previous step went out (the enrollment time before step 1):
  /// delays count from it.
  time_point last_sent{};
  /// When the LinkedIn invite went out (epoch when none did).
  time_point invite_sent{};
  /// An out-of-office reply asked for nothing before this.
  time_point postponed_until{};
  /// The sender bound per channel once chosen (invalid until then); a LinkedIn
  /// message must come from the account whose invite was accepted.
  account_id email_sender;
  account_id linkedin_sender;

  account_id sender(channel c) const noexcept {
    return c == channel::email ? email_sender : linkedin_sender;
  }

  bool operator==(const enrollment&) const = default;
};

} // namespace herald
