#pragma once

// The parts of a W1 report that every way of running W1 writes alike, in the
// peer harness's field names: the configuration, the lateness (all steps and
// by step) and the invariants.

#include <string>

#include <boost/json.hpp>

#include "load-tests/w1.hpp"

namespace herald::load {

inline boost::json::object stats_json(const lateness_stats& s) {
  return {{"n", s.n},     {"min", s.min},   {"p50", s.p50}, {"p90", s.p90},
          {"p99", s.p99}, {"p999", s.p999}, {"max", s.max}, {"mean", s.mean}};
}

/// `lateness_ms`: over all sends, with `by_step`.
inline boost::json::object lateness_json(const w1_recorder& r) {
  boost::json::object by_step;
  for (int s = 1; s <= w1_steps; ++s)
    by_step[std::to_string(s)] = stats_json(r.lateness(s));
  auto late = stats_json(r.lateness());
  late["by_step"] = std::move(by_step);
  return late;
}

/// `config`: the workload's counts (callers add their own settings).
inline boost::json::object config_json(const w1_config& c) {
  return {{"leads", c.leads},
          {"workspaces", c.workspaces},
          {"email_accounts", c.email_accounts},
          {"linkedin_accounts", c.linkedin_accounts},
          {"reply_pct", c.reply_pct},
          {"day_ms", c.day_ms}};
}

inline boost::json::object invariants_json(const w1_recorder::invariants& inv) {
  return {{"sends_after_reply", inv.sends_after_reply},
          {"duplicate_sends", inv.duplicate_sends},
          {"missing_sends", inv.missing_sends},
          {"unexpected_sends", inv.unexpected_sends},
          {"ok", inv.ok()}};
}

} // namespace herald::load
