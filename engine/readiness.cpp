#include "engine/readiness.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <set>
#include <utility>

#include <date/date.h>
#include <date/tz.h>

#include "engine/calendar.hpp"
#include "engine/schedule.hpp"
#include "engine/templates.hpp"
#include "engine/warmup.hpp"
#include "engine/zones.hpp"

namespace herald {

namespace {

std::string count_of(uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string{n == 1 ? one : many};
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& x : items) {
    if (!out.empty()) out += ", ";
    out += x;
  }
  return out;
}

std::string step_label(size_t index) {
  return "step " + std::to_string(index + 1);
}

std::string_view channel_label(channel c) noexcept {
  return c == channel::email ? "email" : "LinkedIn";
}

constexpr std::array<channel, 2> all_channels{channel::email,
                                              channel::linkedin};

bool has_address(const lead& l, channel c) noexcept {
  return !is_blank(c == channel::email ? l.email : l.linkedin_url);
}

uint64_t leads_with_address(const std::vector<lead>& leads, channel c) {
  return static_cast<uint64_t>(
    std::count_if(leads.begin(), leads.end(),
                  [c](const lead& l) { return has_address(l, c); }));
}

std::string account_label(const sender_account& acc) {
  return acc.name.empty() ? to_string(acc.id) : acc.name;
}

// The accounts of one channel's pool by status; unknown ids, accounts of the
// other channel and repeated ids are left out.
struct pool_view {
  std::vector<const sender_account*> active;
  // Paused or warned.
  std::vector<const sender_account*> paused;
  std::vector<const sender_account*> revoked;
};

pool_view classify(const std::vector<account_id>& ids, channel c,
                   const std::vector<sender_account>& accounts) {
  pool_view out;
  std::set<account_id> seen;
  for (auto id : ids) {
    if (!seen.insert(id).second) continue;
    auto it = std::find_if(accounts.begin(), accounts.end(),
                           [id](const auto& a) { return a.id == id; });
    if (it == accounts.end() || it->kind != c) continue;
    switch (it->status) {
      case account_status::active: out.active.push_back(&*it); break;
      case account_status::paused:
      case account_status::warned: out.paused.push_back(&*it); break;
      case account_status::revoked: out.revoked.push_back(&*it); break;
    }
  }
  return out;
}

// The account's warm-up day at `now` as its budget counts it: its sending
// weekdays from the local date of its creation, in its zone.
uint32_t ramp_day_at(const sender_account& acc, const date::time_zone* zone,
                     time_point now) {
  return sending_days_between(
    date::floor<date::days>(to_local(acc.created_at, zone)),
    date::floor<date::days>(to_local(now, zone)), acc.limits.days);
}

uint32_t saturating_add(uint32_t a, uint32_t b) noexcept {
  return a > std::numeric_limits<uint32_t>::max() - b
           ? std::numeric_limits<uint32_t>::max()
           : a + b;
}

// How many days a first step of `kind` needs to reach `leads` leads through
// `senders` (whose warm-up days today are `ramp_days`), at most `cap` new
// leads a day; nullopt beyond capacity_horizon_days. Every day is taken as a
// sending day: weekends, holidays and windows are left out of this estimate,
// which only shows how budgets and warm-up spread the first step.
std::optional<uint32_t>
first_step_days(step_channel kind,
                const std::vector<const sender_account*>& senders,
                const std::vector<uint32_t>& ramp_days,
                std::optional<uint32_t> cap, uint64_t leads) {
  uint64_t remaining = leads;
  // Invites each sender made on the last 7 days, indexed by day % 7.
  std::vector<std::array<uint64_t, 7>> invites(senders.size());
  for (uint32_t day = 0; day < capacity_horizon_days; ++day) {
    uint64_t budget = std::min<uint64_t>(
      remaining, cap.value_or(std::numeric_limits<uint32_t>::max()));
    for (size_t i = 0; i < senders.size(); ++i) {
      const auto& l = senders[i]->limits;
      auto& week = invites[i];
      week[day % 7] = 0;
      uint64_t can = 0;
      switch (kind) {
        case step_channel::email:
          can = email_daily_allowance(l, saturating_add(ramp_days[i], day));
          break;
        case step_channel::linkedin_invite: {
          uint64_t used = 0;
          for (auto n : week)
            used += n;
          uint64_t left =
            l.invites_per_week > used ? l.invites_per_week - used : 0;
          can = std::min<uint64_t>(l.invites_per_day, left);
          break;
        }
        case step_channel::linkedin_message: can = l.messages_per_day; break;
      }
      uint64_t sent = std::min(can, budget);
      week[day % 7] = sent;
      budget -= sent;
      remaining -= sent;
    }
    if (remaining == 0) return day + 1;
  }
  return std::nullopt;
}

// Leads grouped by the zone their steps are scheduled in, in first-seen order.
struct zone_group {
  const date::time_zone* zone;
  uint64_t leads;
};

std::vector<zone_group> lead_zones(const std::vector<lead>& leads, channel c,
                                   const workspace& ws) {
  std::vector<zone_group> out;
  for (const auto& l : leads) {
    if (!has_address(l, c)) continue;
    auto z = resolve_zone(l.timezone, ws.timezone).zone;
    auto it = std::find_if(out.begin(), out.end(),
                           [z](const auto& g) { return g.zone == z; });
    if (it == out.end())
      out.push_back({z, 1});
    else
      ++it->leads;
  }
  return out;
}

class review {
 public:
  review(const sequence& seq, const workspace& ws,
         const std::vector<sender_account>& accounts,
         const std::vector<lead>& leads, time_point now)
    : seq_(seq), ws_(ws), leads_(leads), now_(now) {
    for (const auto& st : seq.steps)
      uses_[static_cast<size_t>(account_channel(st.channel))] = true;
    for (auto c : all_channels)
      if (uses(c))
        pools_[static_cast<size_t>(c)] =
          classify(seq.senders.of(c), c, accounts);
  }

  readiness_report run() {
    if (seq_.steps.empty())
      block("no_steps", "the sequence has no steps", 1, std::nullopt);
    for (size_t i = 0; i < seq_.steps.size(); ++i)
      check_step(i);
    for (auto c : all_channels)
      check_senders(c);
    check_lead_addresses();
    check_sender_states();
    check_capacity();
    readiness_report report;
    report.ready = blocking_.empty();
    report.findings = std::move(blocking_);
    report.findings.insert(report.findings.end(),
                           std::make_move_iterator(warnings_.begin()),
                           std::make_move_iterator(warnings_.end()));
    return report;
  }

 private:
  bool uses(channel c) const noexcept { return uses_[static_cast<size_t>(c)]; }

  const pool_view& pool(channel c) const noexcept {
    return pools_[static_cast<size_t>(c)];
  }

  const date::time_zone* account_zone(const sender_account& acc) const {
    return resolve_zone(acc.timezone, ws_.timezone).zone;
  }

  void block(std::string code, std::string message, uint64_t count,
             std::optional<size_t> step) {
    blocking_.push_back(finding{severity::blocking, std::move(code),
                                std::move(message), count, step});
  }

  void warn(std::string code, std::string message, uint64_t count,
            std::optional<size_t> step) {
    warnings_.push_back(finding{severity::warning, std::move(code),
                                std::move(message), count, step});
  }

  // Compiles the parts the step's channel uses, reporting each part that does
  // not parse; nullopt when one does not.
  std::optional<compiled_message> compile_step(size_t i) {
    const auto& st = seq_.steps[i];
    bool email = st.channel == step_channel::email;
    auto compiled = compiled_message::compile(message_template{
      email ? st.message.subject : std::string{}, st.message.body});
    if (compiled) return std::move(*compiled);
    auto report = [&](const template_failure& f) {
      block("invalid_template",
            step_label(i) + ": the " + f.part +
              " template does not parse: " + f.message,
            1, i);
    };
    report(compiled.error());
    if (compiled.error().part == "subject") {
      auto body =
        compiled_message::compile(message_template{{}, st.message.body});
      if (!body) report(body.error());
    }
    return std::nullopt;
  }

  void check_step(size_t i) {
    const auto& st = seq_.steps[i];
    auto c = account_channel(st.channel);
    if (!st.approved)
      block("step_not_approved", step_label(i) + " is not approved", 1, i);
    if (is_blank(st.message.body))
      block("empty_body", step_label(i) + " has an empty body", 1, i);
    auto compiled = compile_step(i);
    bool note_too_long = false;
    if (st.channel == step_channel::linkedin_invite) {
      auto length = text_length(st.message.body);
      note_too_long = length > invite_note_limit;
      if (note_too_long)
        block("invite_note_too_long",
              step_label(i) + ": the invite note is " + std::to_string(length) +
                " characters; LinkedIn allows " +
                std::to_string(invite_note_limit),
              1, i);
    }
    if (!compiled) return;
    // Leads without the channel's address skip the step anyway (reported once
    // by lead_missing_email / lead_missing_linkedin_url): not counted again.
    uint64_t missing = 0;
    uint64_t over = 0;
    std::set<std::string> names;
    bool check_note =
      st.channel == step_channel::linkedin_invite && !note_too_long;
    for (const auto& l : leads_) {
      if (!has_address(l, c)) continue;
      auto fields = compiled->missing_fields(l);
      if (!fields.empty()) {
        ++missing;
        names.insert(fields.begin(), fields.end());
      }
      if (check_note && over_invite_note_limit(compiled->render(l).body))
        ++over;
    }
    if (missing > 0)
      warn("template_field_missing",
           step_label(i) + ": " + count_of(missing, "lead has", "leads have") +
             " no value for " +
             join(std::vector<std::string>(names.begin(), names.end())) +
             "; they skip this step",
           missing, i);
    if (over > 0)
      warn("invite_note_too_long_for_leads",
           step_label(i) + ": the invite note is over " +
             std::to_string(invite_note_limit) + " characters for " +
             count_of(over, "lead", "leads") + " once rendered",
           over, i);
  }

  void check_senders(channel c) {
    if (!uses(c)) return;
    const auto& p = pool(c);
    if (p.active.empty()) {
      auto steps = static_cast<uint64_t>(
        std::count_if(seq_.steps.begin(), seq_.steps.end(), [c](const auto& s) {
          return account_channel(s.channel) == c;
        }));
      block("no_active_sender",
            "no active " + std::string{channel_label(c)} + " sender for " +
              count_of(steps, "step", "steps") + " on that channel",
            steps, std::nullopt);
      return;
    }
    if (seq_.schedule.mode == schedule_mode::calendar) check_windows(c, p);
  }

  // A send needs the sequence's window in the lead's zone and the account's in
  // the account's: each zone the leads are in needs one active sender whose
  // window overlaps.
  void check_windows(channel c, const pool_view& p) {
    auto cal = effective_calendar(seq_.schedule, ws_);
    auto groups = lead_zones(leads_, c, ws_);
    bool no_leads = groups.empty();
    if (no_leads) groups.push_back({resolve_zone({}, ws_.timezone).zone, 0});
    uint64_t affected = 0;
    std::vector<std::string> zones;
    for (const auto& g : groups) {
      bool overlaps =
        std::any_of(p.active.begin(), p.active.end(), [&](const auto* acc) {
          return joint_window_at_or_after(now_, cal, g.zone, acc->calendar(),
                                          account_zone(*acc))
            .has_value();
        });
      if (overlaps) continue;
      affected += g.leads;
      zones.push_back(g.zone->name());
    }
    if (zones.empty()) return;
    std::string whose = " never overlaps an active " +
                        std::string{channel_label(c)} + " sender's window";
    if (no_leads)
      block("windows_never_overlap",
            "the sequence's window, in the workspace's time zone (" +
              zones.front() + ")," + whose,
            0, std::nullopt);
    else
      block("windows_never_overlap",
            "the sequence's window" + whose + " for " +
              count_of(affected, "lead", "leads") +
              " (time zones: " + join(zones) + ")",
            affected, std::nullopt);
  }

  void check_lead_addresses() {
    if (uses(channel::email))
      if (auto n = leads_.size() - leads_with_address(leads_, channel::email))
        warn("lead_missing_email",
             count_of(n, "lead has", "leads have") +
               " no email address; they skip the email steps",
             n, std::nullopt);
    if (uses(channel::linkedin))
      if (auto n =
            leads_.size() - leads_with_address(leads_, channel::linkedin))
        warn("lead_missing_linkedin_url",
             count_of(n, "lead has", "leads have") +
               " no LinkedIn URL; they skip the LinkedIn steps",
             n, std::nullopt);
  }

  void check_sender_states() {
    std::vector<std::string> paused;
    std::vector<std::string> revoked;
    for (auto c : all_channels) {
      if (!uses(c)) continue;
      for (const auto* acc : pool(c).paused)
        paused.push_back(account_label(*acc));
      for (const auto* acc : pool(c).revoked)
        revoked.push_back(account_label(*acc));
    }
    if (!paused.empty())
      warn("sender_paused",
           count_of(paused.size(), "sender account is", "sender accounts are") +
             " paused: " + join(paused),
           paused.size(), std::nullopt);
    if (!revoked.empty())
      warn(
        "sender_revoked",
        count_of(revoked.size(), "sender account is", "sender accounts are") +
          " revoked: " + join(revoked),
        revoked.size(), std::nullopt);
  }

  void check_capacity() {
    if (seq_.steps.empty()) return;
    auto kind = seq_.steps.front().channel;
    auto c = account_channel(kind);
    const auto& senders = pool(c).active;
    auto leads = leads_with_address(leads_, c);
    if (senders.empty() || leads == 0) return;
    std::vector<uint32_t> ramp_days;
    for (const auto* acc : senders)
      ramp_days.push_back(ramp_day_at(*acc, account_zone(*acc), now_));
    auto days =
      first_step_days(kind, senders, ramp_days, seq_.new_leads_per_day, leads);
    if (days && *days <= 1) return;
    auto n = days ? *days : capacity_horizon_days + 1;
    warn("warmup_capacity_low",
         "the first step will take " + std::string{days ? "" : "more than "} +
           std::to_string(days ? *days : capacity_horizon_days) + " days for " +
           count_of(leads, "lead", "leads"),
         n, std::nullopt);
  }

  const sequence& seq_;
  const workspace& ws_;
  const std::vector<lead>& leads_;
  time_point now_;
  std::array<bool, 2> uses_{};
  std::array<pool_view, 2> pools_{};
  std::vector<finding> blocking_;
  std::vector<finding> warnings_;
};

} // namespace

readiness_report check_readiness(const sequence& seq, const workspace& ws,
                                 const std::vector<sender_account>& accounts,
                                 const std::vector<lead>& leads,
                                 time_point now) {
  return review{seq, ws, accounts, leads, now}.run();
}

} // namespace herald
