#include "engine/budget.hpp"

#include <algorithm>

#include "engine/hash.hpp"
#include "engine/warmup.hpp"
#include "engine/zones.hpp"

namespace herald {

namespace {

constexpr uint32_t max_bounce_window = 16 * 64;

duration week() { return days_ms(7); }

} // namespace

account_budget::account_budget(const sender_account& acc,
                               const date::time_zone* zone,
                               budget_policy policy)
  : id_(acc.id), kind_(acc.kind), limits_(acc.limits),
    calendar_(acc.calendar()), zone_(zone), policy_(policy),
    ramp_start_(date::floor<date::days>(to_local(acc.created_at, zone))),
    status_(acc.status) {
  policy_.bounce_window =
    std::clamp<uint32_t>(policy_.bounce_window, 1, max_bounce_window);
  if (status_ == account_status::warned)
    warned_until_ = acc.paused_until.value_or(time_point{});
}

date::local_days account_budget::local_day(time_point t) const {
  return date::floor<date::days>(to_local(t, zone_));
}

void account_budget::roll(time_point now) {
  if (today_span_.contains(now)) return;
  // A time from before today counts as today: callers read the clock before
  // they take the account's lock, so one may come with a time from just
  // before midnight after another has rolled the day over. Going back would
  // zero the new day's counters.
  if (now < today_span_.begin) return;
  auto today = local_day(now);
  today_span_ = interval{to_utc(local_time{today}, zone_),
                         to_utc(local_time{today + date::days{1}}, zone_)};
  next_day_open_.reset();
  if (today != today_) {
    today_ = today;
    counts_ = {};
  }
}

std::optional<interval> account_budget::window_at(time_point now) {
  if (open_window_ && open_window_->contains(now)) return open_window_;
  open_window_ = window_at_or_after(now, calendar_, zone_);
  return open_window_;
}

time_point account_budget::next_day_open() {
  if (!next_day_open_) {
    auto midnight = today_span_.end;
    auto w = window_at_or_after(midnight, calendar_, zone_);
    next_day_open_ = w ? std::max(w->begin, midnight) : never;
  }
  return *next_day_open_;
}

uint32_t& account_budget::count_of(step_channel kind) noexcept {
  switch (kind) {
    case step_channel::email: return counts_.emails;
    case step_channel::linkedin_invite: return counts_.invites;
    case step_channel::linkedin_message: break;
  }
  return counts_.messages;
}

uint32_t account_budget::invites_in_week(time_point now) const noexcept {
  auto from = now - week();
  auto first =
    std::upper_bound(invite_times_.begin(), invite_times_.end(), from);
  return static_cast<uint32_t>(invite_times_.end() - first);
}

uint32_t account_budget::ramp_day(date::local_days day) const noexcept {
  return sending_days_between(ramp_start_, day, calendar_.days);
}

decision account_budget::request(step_channel kind, time_point now) {
  if (account_channel(kind) != kind_)
    return decision::retry(never, budget_reason::wrong_channel);
  switch (status_) {
    case account_status::revoked:
      return decision::retry(never, budget_reason::account_revoked);
    case account_status::paused: return decision::retry(never, pause_reason_);
    case account_status::warned:
      if (now < warned_until_)
        return decision::retry(warned_until_, budget_reason::account_warned);
      status_ = account_status::active;
      break;
    case account_status::active: break;
  }
  auto w = window_at(now);
  if (!w) return decision::retry(never, budget_reason::no_open_window);
  if (!w->contains(now))
    return decision::retry(w->begin, budget_reason::outside_window);
  roll(now);
  auto today = today_;
  switch (kind) {
    case step_channel::email: {
      auto allowance = email_daily_allowance(limits_, ramp_day(today));
      if (counts_.emails >= allowance)
        return decision::retry(next_day_open(), budget_reason::daily_cap);
      break;
    }
    case step_channel::linkedin_invite: {
      if (counts_.invites >= limits_.invites_per_day)
        return decision::retry(next_day_open(), budget_reason::daily_cap);
      auto from = now - week();
      while (!invite_times_.empty() && invite_times_.front() <= from)
        invite_times_.pop_front();
      auto in_week = static_cast<uint32_t>(invite_times_.size());
      if (in_week >= limits_.invites_per_week) {
        // Free once enough of the oldest leave the 7-day window.
        auto index = limits_.invites_per_week == 0
                       ? size_t{0}
                       : in_week - limits_.invites_per_week;
        if (invite_times_.empty())
          return decision::retry(never, budget_reason::weekly_cap);
        return decision::retry(invite_times_[index] + week(),
                               budget_reason::weekly_cap);
      }
      break;
    }
    case step_channel::linkedin_message:
      if (counts_.messages >= limits_.messages_per_day)
        return decision::retry(next_day_open(), budget_reason::daily_cap);
      break;
  }
  if (last_grant_) {
    auto jitter = duration{0};
    if (limits_.jitter.count() > 0)
      jitter = duration{
        static_cast<int64_t>(unit_fraction(id_.value ^ splitmix64(grants_)) *
                             static_cast<double>(limits_.jitter.count()))};
    auto next = *last_grant_ + limits_.spacing + jitter;
    if (now < next) return decision::retry(next, budget_reason::spacing);
  }
  ++count_of(kind);
  ++counts_.in_flight;
  if (!last_grant_ || *last_grant_ < now) last_grant_ = now;
  ++grants_;
  if (kind == step_channel::linkedin_invite)
    invite_times_.insert(
      std::upper_bound(invite_times_.begin(), invite_times_.end(), now), now);
  return decision::grant(grant_ticket{kind, today, now});
}

void account_budget::record(const grant_ticket& ticket, send_outcome outcome,
                            time_point) {
  bool same_day = ticket.day == today_;
  if (same_day && counts_.in_flight > 0) --counts_.in_flight;
  bool delivered = outcome == send_outcome::sent ||
                   outcome == send_outcome::bounced ||
                   outcome == send_outcome::unknown;
  if (!delivered) {
    if (same_day) {
      auto& count = count_of(ticket.kind);
      if (count > 0) --count;
    }
    if (ticket.kind == step_channel::linkedin_invite) {
      auto it =
        std::find(invite_times_.begin(), invite_times_.end(), ticket.at);
      if (it != invite_times_.end()) invite_times_.erase(it);
    }
    return;
  }
  if (kind_ == channel::email && outcome != send_outcome::unknown)
    note_delivery(outcome == send_outcome::bounced);
}

void account_budget::restore(step_channel kind, time_point at, time_point now) {
  if (account_channel(kind) != kind_) return;
  roll(now);
  if (local_day(at) == today_) ++count_of(kind);
  if (kind == step_channel::linkedin_invite && at > now - week())
    invite_times_.insert(
      std::upper_bound(invite_times_.begin(), invite_times_.end(), at), at);
  if (!last_grant_ || *last_grant_ < at) last_grant_ = at;
  ++grants_;
}

void account_budget::note_delivery(bool bounced) noexcept {
  auto window = policy_.bounce_window;
  auto word = ring_next_ / 64;
  auto bit = uint64_t{1} << (ring_next_ % 64);
  if (ring_size_ == window && (bounce_bits_[word] & bit) != 0) --ring_bounces_;
  if (bounced) {
    bounce_bits_[word] |= bit;
    ++ring_bounces_;
  } else {
    bounce_bits_[word] &= ~bit;
  }
  ring_next_ = (ring_next_ + 1) % window;
  ring_size_ = std::min(ring_size_ + 1, window);
  if (status_ == account_status::active &&
      ring_size_ >= policy_.bounce_min_sends &&
      static_cast<double>(ring_bounces_) >
        policy_.bounce_threshold * static_cast<double>(ring_size_)) {
    status_ = account_status::paused;
    pause_reason_ = budget_reason::bounce_rate;
  }
}

void account_budget::pause() noexcept {
  if (status_ == account_status::revoked) return;
  status_ = account_status::paused;
  pause_reason_ = budget_reason::account_paused;
}

bool account_budget::resume() noexcept {
  if (status_ == account_status::revoked) return false;
  status_ = account_status::active;
  warned_until_ = {};
  bounce_bits_ = {};
  ring_next_ = ring_size_ = ring_bounces_ = 0;
  return true;
}

void account_budget::revoke() noexcept { status_ = account_status::revoked; }

void account_budget::warn(time_point now) noexcept {
  if (status_ == account_status::revoked || status_ == account_status::paused)
    return;
  status_ = account_status::warned;
  warned_until_ = std::max(warned_until_, now + policy_.warning_cooldown);
}

void account_budget::update_limits(const account_limits& limits) noexcept {
  limits_ = limits;
  calendar_ = sending_calendar{limits.window, limits.days, {}};
  open_window_.reset();
  next_day_open_.reset();
}

account_status account_budget::status(time_point now) const noexcept {
  if (status_ == account_status::warned && now >= warned_until_)
    return account_status::active;
  return status_;
}

std::optional<time_point>
account_budget::paused_until(time_point now) const noexcept {
  if (status(now) == account_status::warned) return warned_until_;
  return std::nullopt;
}

std::optional<budget_reason> account_budget::pause_reason() const noexcept {
  if (status_ == account_status::paused) return pause_reason_;
  return std::nullopt;
}

budget_usage account_budget::usage(time_point now) const {
  auto today = local_day(now);
  budget_usage u;
  u.invites_week = invites_in_week(now);
  if (kind_ == channel::email)
    u.email_allowance = email_daily_allowance(limits_, ramp_day(today));
  if (today == today_) {
    u.emails = counts_.emails;
    u.invites = counts_.invites;
    u.messages = counts_.messages;
    u.in_flight = counts_.in_flight;
  }
  return u;
}

double account_budget::recent_bounce_rate() const noexcept {
  if (ring_size_ == 0) return 0.0;
  return static_cast<double>(ring_bounces_) / static_cast<double>(ring_size_);
}

// -- new_lead_gate
// ------------------------------------------------------------------------

new_lead_gate::new_lead_gate(std::optional<uint32_t> cap,
                             const date::time_zone* zone)
  : cap_(cap), zone_(zone) {
  // nop
}

decision new_lead_gate::admit(time_point now) {
  auto today = date::floor<date::days>(to_local(now, zone_));
  if (today != day_) {
    day_ = today;
    count_ = 0;
  }
  if (cap_ && count_ >= *cap_)
    return decision::retry(to_utc(local_time{today + date::days{1}}, zone_),
                           budget_reason::new_lead_cap);
  ++count_;
  return decision::grant(grant_ticket{step_channel::email, today, now});
}

void new_lead_gate::release(time_point admitted_at) {
  auto day = date::floor<date::days>(to_local(admitted_at, zone_));
  if (day == day_ && count_ > 0) --count_;
}

uint32_t new_lead_gate::started_today(time_point now) const {
  auto today = date::floor<date::days>(to_local(now, zone_));
  return today == day_ ? count_ : 0;
}

} // namespace herald
