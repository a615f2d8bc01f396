#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>

#include <date/date.h>

#include "engine/calendar.hpp"
#include "engine/model.hpp"
#include "engine/time.hpp"

namespace date {
class time_zone;
} // namespace date

namespace herald {

/// Why a budget said "not now".
enum class budget_reason : uint8_t {
  account_paused,
  account_warned,
  account_revoked,
  /// Paused automatically: the recent bounce rate passed the threshold.
  bounce_rate,
  outside_window,
  /// The account's window never opens (no sending weekday).
  no_open_window,
  /// Today's allowance is used up (the daily cap, or the warm-up ramp's lower
  /// figure).
  daily_cap,
  /// LinkedIn invites in the last 7 days reached the weekly cap.
  weekly_cap,
  /// Too soon after the previous send.
  spacing,
  /// The sequence started its cap of new leads today.
  new_lead_cap,
  /// The step's channel is not the account's.
  wrong_channel,
};

template<>
struct enum_names<budget_reason> {
  static constexpr std::array<std::string_view, 11> values{
    "account_paused", "account_warned", "account_revoked", "bounce_rate",
    "outside_window", "no_open_window", "daily_cap",       "weekly_cap",
    "spacing",        "new_lead_cap",   "wrong_channel"};
};

/// Retry time meaning "not until something changes" (a resume, a new account).
inline constexpr time_point never = time_point::max();

/// A granted slot. Hand it back with the send's outcome: the count stays only
/// for what was delivered, on the local day it was granted.
struct grant_ticket {
  step_channel kind = step_channel::email;
  date::local_days day{};
  time_point at{};
};

/// A budget's answer: granted, or when to ask again and why. "Not now" is data,
/// never an error.
struct decision {
  bool granted = false;
  time_point retry_at{};
  budget_reason reason{};
  grant_ticket ticket{};

  static decision grant(grant_ticket t) noexcept {
    return decision{true, t.at, {}, t};
  }
  static decision retry(time_point at, budget_reason why) noexcept {
    return decision{false, at, why, {}};
  }
};

/// Settings of the automatic protections, with their defaults.
struct budget_policy {
  /// Pause an email account when more than this share of its recent sends
  /// bounced...
  double bounce_threshold = 0.05;
  /// ...over its last this many sends (at most 1024)...
  uint32_t bounce_window = 100;
  /// ...once it has made at least this many.
  uint32_t bounce_min_sends = 20;
  /// How long a LinkedIn warning pauses the account unless resumed sooner.
  duration warning_cooldown = std::chrono::hours{24};
};

/// Today's use of an account's budgets (granted and not given back), in its own
/// zone.
struct budget_usage {
  uint32_t emails = 0;
  uint32_t email_allowance = 0;
  uint32_t invites = 0;
  uint32_t invites_week = 0;
  uint32_t messages = 0;
  uint32_t in_flight = 0;
};

/// The sending budget of one account, shared by every sequence that uses it.
/// Owns the account's status (paused, warned, revoked), its counters per local
/// day of the account's zone, the spacing between sends and the bounce-rate
/// protection. Pure: every call takes `now`. Not thread-safe: one owner (the
/// account actor).
class account_budget {
 public:
  /// A budget for `acc`, whose days and window are counted in `zone`; the
  /// warm-up ramp starts on the local date of `acc.created_at`.
  account_budget(const sender_account& acc, const date::time_zone* zone,
                 budget_policy policy = {});

  /// Grants a slot for a `kind` step now, or says when to ask again and why. A
  /// grant counts at once (so concurrent grants cannot pass a cap) until
  /// record() gives it back.
  decision request(step_channel kind, time_point now);

  /// The outcome of a granted send. Sent, bounced and unknown stay counted
  /// (something may have gone out); deferred and failed are given back. Bounces
  /// and sends feed the bounce-rate protection, which pauses the account when
  /// it trips.
  void record(const grant_ticket& ticket, send_outcome outcome, time_point now);

  /// Counts a send this account made at `at`, read back from storage after a
  /// restart, as its grant did: on today's counters when `at` is on today's
  /// local date, in the rolling invite week, and as the last grant for the
  /// spacing. Sends may come in any order.
  void restore(step_channel kind, time_point at, time_point now);

  /// Paused by a person: grants nothing until resume().
  void pause() noexcept;
  /// Back to active from paused, warned or a bounce pause (the bounce history
  /// is cleared). Returns false, changing nothing, for a revoked account.
  bool resume() noexcept;
  /// Disconnected for good: grants nothing, ever.
  void revoke() noexcept;
  /// A LinkedIn warning: paused for the cool-down, or until resume().
  void warn(time_point now) noexcept;

  void update_limits(const account_limits& limits) noexcept;

  /// The status as of `now` (a warning past its cool-down reads active).
  account_status status(time_point now) const noexcept;
  /// When a warning's cool-down ends; nullopt otherwise.
  std::optional<time_point> paused_until(time_point now) const noexcept;
  /// Why the account is paused, when it is (account_paused or bounce_rate).
  std::optional<budget_reason> pause_reason() const noexcept;

  budget_usage usage(time_point now) const;

  /// Bounces over delivered sends in the bounce window; 0 with no sends.
  double recent_bounce_rate() const noexcept;

  /// Which sending day of its ramp (0-based) the account is on at local date
  /// `day`.
  uint32_t ramp_day(date::local_days day) const noexcept;

 private:
  struct day_counts {
    uint32_t emails = 0;
    uint32_t invites = 0;
    uint32_t messages = 0;
    uint32_t in_flight = 0;
  };

  date::local_days local_day(time_point t) const;
  // Moves the counters to the local day holding `now` (a day is the span
  // between two local midnights, cached so most requests convert no time).
  void roll(time_point now);
  // The window instance open at `now`, else the next; cached while it is open.
  std::optional<interval> window_at(time_point now);
  // The first instant after today (local) at which the window is open.
  time_point next_day_open();
  uint32_t& count_of(step_channel kind) noexcept;
  uint32_t invites_in_week(time_point now) const noexcept;
  void note_delivery(bool bounced) noexcept;

  account_id id_;
  channel kind_;
  account_limits limits_;
  sending_calendar calendar_;
  const date::time_zone* zone_;
  budget_policy policy_;
  date::local_days ramp_start_;

  account_status status_ = account_status::active;
  budget_reason pause_reason_ = budget_reason::account_paused;
  time_point warned_until_{};

  date::local_days today_{};
  interval today_span_{};
  std::optional<time_point> next_day_open_;
  std::optional<interval> open_window_;
  day_counts counts_;
  std::optional<time_point> last_grant_;
  uint64_t grants_ = 0;
  /// Grant times of the invites still counted, oldest first (at most the weekly
  /// cap).
  std::deque<time_point> invite_times_;

  // The last bounce_window delivered sends, one bit each (1 = bounced), as a
  // ring.
  std::array<uint64_t, 16> bounce_bits_{};
  uint32_t ring_next_ = 0;
  uint32_t ring_size_ = 0;
  uint32_t ring_bounces_ = 0;
};

/// A sequence's cap on leads started per day (`new_leads_per_day`), days
/// counted in a zone (the workspace's).
class new_lead_gate {
 public:
  new_lead_gate(std::optional<uint32_t> cap, const date::time_zone* zone);

  /// Admits one new lead today, or says when the next day opens.
  decision admit(time_point now);

  /// Gives back an admission made at `admitted_at` whose first step did not go
  /// out.
  void release(time_point admitted_at);

  uint32_t started_today(time_point now) const;

 private:
  std::optional<uint32_t> cap_;
  const date::time_zone* zone_;
  date::local_days day_{};
  uint32_t count_ = 0;
};

} // namespace herald
