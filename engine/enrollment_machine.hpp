#pragma once

#include <array>
#include <cassert>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "engine/calendar.hpp"
#include "engine/model.hpp"
#include "engine/time.hpp"

namespace date {
class time_zone;
} // namespace date

namespace herald {

// -- events: what happens to an enrollment
// --------------------------------------------------

namespace ev {

/// The lead entered the sequence. `lead_replied`: it had replied before
/// (elsewhere in the workspace), so its no_reply steps are skipped.
struct enrolled {
  bool lead_replied = false;
};
/// A timer armed with `generation` fired.
struct timer_fired {
  uint32_t generation = 0;
};
/// The bound account granted a slot for step `step`.
struct slot_granted {
  uint16_t step = 0;
};
/// The send intent of step `step`, attempt `attempt`, is durable: the provider
/// may be called.
struct intent_durable {
  uint16_t step = 0;
  uint16_t attempt = 0;
};
/// What the provider said of a call. Outcomes are keyed by step and attempt, so
/// a late or repeated one (a deferral of an earlier attempt) never passes for
/// another call's.
struct send_result {
  uint16_t step = 0;
  uint16_t attempt = 0;
  send_outcome outcome = send_outcome::sent;
};
struct reply {};
/// An out-of-office auto-reply, with the return date when it gave one.
struct auto_reply {
  std::optional<time_point> return_date;
};
struct bounce {};
struct unsubscribe {};
struct invite_accepted {};
/// A colleague of the lead (same email domain, same workspace) replied.
struct colleague_replied {};
struct sequence_paused {};
struct sequence_resumed {};
/// The enrollment's owner restarted from storage: what was in flight is gone
/// (a queued slot request, a granted slot, a provider call whose outcome was
/// never recorded).
struct restarted {};

} // namespace ev

using event =
  std::variant<ev::enrolled, ev::timer_fired, ev::slot_granted,
               ev::intent_durable, ev::send_result, ev::reply, ev::auto_reply,
               ev::bounce, ev::unsubscribe, ev::invite_accepted,
               ev::colleague_replied, ev::sequence_paused, ev::sequence_resumed,
               ev::restarted>;

// -- effects: what the owner of the enrollment must do
// ----------------------------------

/// What a history record says happened to a step.
enum class history_event : uint8_t {
  scheduled,
  sent,
  skipped,
  deferred,
  bounced,
  failed,
  uncertain,
  postponed,
  waiting_invite,
  /// A granted slot (and its durable intent, if any) was not used: nothing was
  /// sent.
  cancelled,
  halted,
  completed,
};

enum class history_reason : uint8_t {
  none,
  lead_replied,
  no_email,
  no_linkedin_url,
  no_sender,
  invite_not_accepted,
  no_open_window,
  reply,
  bounce,
  unsubscribe,
  colleague_replied,
  auto_reply,
  sequence_paused,
};

template<>
struct enum_names<history_event> {
  static constexpr std::array<std::string_view, 12> values{
    "scheduled",      "sent",      "skipped",   "deferred",
    "bounced",        "failed",    "uncertain", "postponed",
    "waiting_invite", "cancelled", "halted",    "completed"};
};
template<>
struct enum_names<history_reason> {
  static constexpr std::array<std::string_view, 13> values{
    "",
    "lead_replied",
    "no_email",
    "no_linkedin_url",
    "no_sender",
    "invite_not_accepted",
    "no_open_window",
    "reply",
    "bounce",
    "unsubscribe",
    "colleague_replied",
    "auto_reply",
    "sequence_paused"};
};

namespace fx {

/// Arm a timer for this enrollment (any earlier one is now stale).
struct arm_timer {
  time_point due;
  uint32_t generation;
};
/// Ask `account` for a slot for the current step.
struct request_slot {
  account_id account;
  step_channel kind;
  bool follow_up;
  time_point due;
};
/// Take back a queued slot request (not granted yet).
struct withdraw_slot {
  account_id account;
  step_channel kind;
};
/// Give back a granted slot that will not be used (the budget must not count
/// it).
struct release_slot {
  account_id account;
  step_channel kind;
};
/// Make the send intent of `step` durable (idempotency key: enrollment + step).
struct write_intent {
  uint16_t step;
  uint16_t attempt;
  account_id account;
  step_channel kind;
};
/// Call the provider for `step`: only ever after its intent is durable.
struct send {
  uint16_t step;
  uint16_t attempt;
  account_id account;
  step_channel kind;
};
/// Append to the lead's history.
struct record {
  uint16_t step;
  history_event what;
  history_reason why;
  time_point at;
};
/// The enrollment became terminal (stats, metrics).
struct halt {
  enrollment_state state;
};

} // namespace fx

using effect = std::variant<fx::arm_timer, fx::request_slot, fx::withdraw_slot,
                            fx::release_slot, fx::write_intent, fx::send,
                            fx::record, fx::halt>;

/// The effects of one transition: a fixed-capacity list, so a step allocates
/// nothing.
class effect_list {
 public:
  static constexpr size_t capacity = 6;

  void push(const effect& e) noexcept {
    assert(size_ < capacity);
    items_[size_++] = e;
  }

  const effect* begin() const noexcept { return items_.data(); }
  const effect* end() const noexcept { return items_.data() + size_; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const effect& operator[](size_t i) const noexcept { return items_[i]; }

 private:
  std::array<effect, capacity> items_{};
  uint8_t size_ = 0;
};

/// What the machine needs besides the enrollment: the sequence, the lead's zone
/// and contact gaps, the bound senders' calendars and the configured grace
/// periods.
struct machine_context {
  const sequence* seq = nullptr;
  /// The sequence's calendar with the workspace's holidays
  /// (effective_calendar).
  const sending_calendar* calendar = nullptr;
  const date::time_zone* lead_zone = nullptr;
  bool lead_has_email = true;
  bool lead_has_linkedin = true;
  /// The bound senders' own calendars and zones, when known; due times then
  /// fall where both windows are open.
  const sending_calendar* email_calendar = nullptr;
  const date::time_zone* email_zone = nullptr;
  const sending_calendar* linkedin_calendar = nullptr;
  const date::time_zone* linkedin_zone = nullptr;
  /// How long a LinkedIn message waits for its invite to be accepted.
  duration invite_grace = days_ms(14);
  /// How long an auto-reply without a return date postpones the next step.
  duration auto_reply_default = days_ms(7);
};

struct transition {
  enrollment next;
  effect_list effects;
};

/// One step of the enrollment state machine: `(e, event, now) -> (e',
/// effects)`.
///
/// Rules: a reply, a bounce or an unsubscribe halts the enrollment at once in
/// any phase (a queued request is withdrawn, a granted slot given back, a
/// durable intent closed as cancelled, and nothing is sent after); a
/// colleague's reply halts it when the sequence says so; an auto-reply
/// postpones the next step; a LinkedIn message waits for the invite's
/// acceptance until the grace period ends, then is skipped with a reason; steps
/// whose lead lacks the contact field, or no_reply steps of a lead that had
/// replied, are skipped with a reason; a pause keeps the place and a resume
/// places overdue steps spread, not in a burst; a stale timer, a duplicate
/// grant or outcome does nothing; the provider is called only after the intent
/// is durable and at most once per grant; an unknown outcome marks the step
/// uncertain and goes on without resending; after a restart, a slot request
/// is made again and a call that may have been made is marked uncertain, never
/// made again.
transition apply_event(const enrollment& e, const machine_context& ctx,
                       const event& ev, time_point now);

} // namespace herald
