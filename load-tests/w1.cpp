#include "load-tests/w1.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace herald::load {

namespace {

constexpr int64_t no_reply = std::numeric_limits<int64_t>::max();

// The value at quantile q of sorted `v`, interpolated between neighbours.
double quantile(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  auto pos = q * static_cast<double>(v.size() - 1);
  auto lo = static_cast<size_t>(std::floor(pos));
  auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

} // namespace

std::vector<step> w1_sequence_steps() {
  std::vector<step> steps;
  for (int s = 0; s < w1_steps; ++s) {
    auto kind = s == 0 ? step_channel::linkedin_invite : step_channel::email;
    auto condition = s == 0 ? step_condition::always : step_condition::no_reply;
    message_template message{s == 0 ? "" : "Step " + std::to_string(s + 1),
                             s == 0 ? "Hi" : "Body"};
    steps.push_back(step{kind, w1_delay_days[s], condition, message, true});
  }
  return steps;
}

w1_lead plan_lead(const w1_config& c, uint64_t i) {
  auto per_workspace = (c.leads + c.workspaces - 1) / c.workspaces;
  w1_lead l;
  l.workspace = static_cast<uint32_t>(i / per_workspace);
  l.local = i % per_workspace;
  l.email_account = static_cast<uint32_t>(l.local % c.email_accounts);
  l.linkedin_account = static_cast<uint32_t>(l.local % c.linkedin_accounts);
  auto h = splitmix64(i);
  if (h % 100 < c.reply_pct) l.replies_after = 1 + static_cast<int>(h % 3);
  return l;
}

int expected_steps(const w1_config& c, uint64_t i) {
  auto l = plan_lead(c, i);
  return l.replies_after.value_or(w1_steps);
}

w1_expectation expected(const w1_config& c) {
  w1_expectation e;
  for (uint64_t i = 0; i < c.leads; ++i) {
    auto l = plan_lead(c, i);
    e.sends += static_cast<uint64_t>(l.replies_after.value_or(w1_steps));
    e.repliers += l.replies_after ? 1 : 0;
  }
  return e;
}

w1_recorder::w1_recorder(const w1_config& c)
  : config_(c), reply_at_(c.leads, no_reply) {
  // nop
}

void w1_recorder::sent(uint64_t lead, int step, int64_t due_ms,
                       int64_t sent_ms) {
  records_.push_back(record{lead, due_ms, sent_ms, static_cast<int8_t>(step)});
}

void w1_recorder::reply_acknowledged(uint64_t lead, int64_t at_ms) {
  if (lead < reply_at_.size())
    reply_at_[lead] = std::min(reply_at_[lead], at_ms);
}

void w1_recorder::merge(const w1_recorder& other) {
  records_.insert(records_.end(), other.records_.begin(), other.records_.end());
  for (size_t i = 0; i < reply_at_.size() && i < other.reply_at_.size(); ++i)
    reply_at_[i] = std::min(reply_at_[i], other.reply_at_[i]);
}

w1_recorder::invariants w1_recorder::check() const {
  invariants inv;
  // One bit per (lead, step) seen.
  std::vector<uint8_t> seen(config_.leads, 0);
  for (const auto& r : records_) {
    if (r.lead >= config_.leads || r.step < 1 || r.step > w1_steps) {
      ++inv.unexpected_sends;
      continue;
    }
    auto bit = static_cast<uint8_t>(1u << (r.step - 1));
    if (seen[r.lead] & bit) ++inv.duplicate_sends;
    seen[r.lead] |= bit;
    if (r.sent_ms > reply_at_[r.lead]) ++inv.sends_after_reply;
    if (r.step > expected_steps(config_, r.lead)) ++inv.unexpected_sends;
  }
  for (uint64_t i = 0; i < config_.leads; ++i) {
    auto want = expected_steps(config_, i);
    for (int s = 1; s <= want; ++s)
      if (!(seen[i] & (1u << (s - 1)))) ++inv.missing_sends;
  }
  return inv;
}

lateness_stats w1_recorder::stats_of(int step) const {
  std::vector<double> late;
  for (const auto& r : records_)
    if (step == 0 || r.step == step)
      late.push_back(static_cast<double>(r.sent_ms - r.due_ms));
  lateness_stats s;
  s.n = late.size();
  if (late.empty()) return s;
  std::sort(late.begin(), late.end());
  s.min = late.front();
  s.max = late.back();
  s.p50 = quantile(late, 0.50);
  s.p90 = quantile(late, 0.90);
  s.p99 = quantile(late, 0.99);
  s.p999 = quantile(late, 0.999);
  double sum = 0;
  for (auto v : late)
    sum += v;
  s.mean = sum / static_cast<double>(late.size());
  return s;
}

lateness_stats w1_recorder::lateness() const { return stats_of(0); }

lateness_stats w1_recorder::lateness(int step) const { return stats_of(step); }

std::optional<std::pair<int64_t, int64_t>> w1_recorder::send_span() const {
  if (records_.empty()) return std::nullopt;
  auto [lo, hi] = std::minmax_element(
    records_.begin(), records_.end(),
    [](const record& a, const record& b) { return a.sent_ms < b.sent_ms; });
  return std::pair{lo->sent_ms, hi->sent_ms};
}

void w1_recorder::write_csv(std::ostream& out) const {
  out << "lead,step,due_ms,sent_ms\n";
  for (const auto& r : records_)
    out << r.lead << ',' << static_cast<int>(r.step) << ',' << r.due_ms << ','
        << r.sent_ms << '\n';
}

} // namespace herald::load
