#pragma once

// Workload W1 ("agency burst", ../shared/WORKLOADS.md) as the peer harnesses
// read it (shared/peers/bullmq/README.md, "Readings of the spec"), so that
// herald's counts match theirs exactly: the lead layout, the reply rule, the
// expected sends, and a recorder that turns what was sent into the same report
// fields and invariants.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "engine/hash.hpp"
#include "engine/model.hpp"

namespace herald::load {

struct w1_config {
  uint64_t leads = 100'000;
  uint32_t workspaces = 20;
  uint32_t email_accounts = 10;
  uint32_t linkedin_accounts = 5;
  uint32_t reply_pct = 15;
  /// One "day" of the sequence's relative schedule, in ms (1: throughput, 1000:
  /// lateness).
  int64_t day_ms = 1;
};

/// The four steps: invite at day 0, then emails 3, 2 and 2 days after the
/// previous send.
inline constexpr int w1_steps = 4;
inline constexpr int w1_delay_days[w1_steps] = {0, 3, 2, 2};

/// The W1 sequence's steps: a LinkedIn invite, then three no_reply emails, all
/// approved (the schedule, relative with the run's day_ms, is the caller's).
std::vector<step> w1_sequence_steps();

/// Where lead `i` sits and whether (and after which step) it replies.
struct w1_lead {
  uint32_t workspace = 0;     // 0-based
  uint64_t local = 0;         // index within its workspace
  uint32_t email_account = 0; // 0-based within the workspace
  uint32_t linkedin_account = 0;
  /// The step (1-based) after whose send the lead replies; nullopt: it never
  /// does.
  std::optional<int> replies_after;
};

/// Leads 0..N-1 in contiguous blocks of ceil(N / workspaces); lead i replies
/// iff splitmix64(i) % 100 < reply_pct, right after step 1 + splitmix64(i) % 3.
w1_lead plan_lead(const w1_config& c, uint64_t i);

/// How many steps lead `i` must be sent: 4, or the step after which it replies.
int expected_steps(const w1_config& c, uint64_t i);

struct w1_expectation {
  uint64_t sends = 0;
  uint64_t repliers = 0;
};

w1_expectation expected(const w1_config& c);

/// Percentiles of lateness (send time - due time) in ms, as the peer reports
/// them.
struct lateness_stats {
  uint64_t n = 0;
  double min = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

/// Collects what a run sent and when replies were acknowledged, then checks
/// W1's invariants: no send after a lead's acknowledged reply, no (lead, step)
/// sent twice, none missing, none unexpected. Not thread-safe: one recorder per
/// thread, merged.
class w1_recorder {
 public:
  explicit w1_recorder(const w1_config& c);

  /// Step `step` (1-based) went to lead `lead` at `sent_ms`, due at `due_ms`.
  void sent(uint64_t lead, int step, int64_t due_ms, int64_t sent_ms);
  /// The reply of `lead` was acknowledged at `at_ms` (nothing may follow it).
  void reply_acknowledged(uint64_t lead, int64_t at_ms);
  /// Adds another recorder's records (same config).
  void merge(const w1_recorder& other);

  struct invariants {
    uint64_t sends_after_reply = 0;
    uint64_t duplicate_sends = 0;
    uint64_t missing_sends = 0;
    uint64_t unexpected_sends = 0;
    bool ok() const {
      return sends_after_reply == 0 && duplicate_sends == 0 &&
             missing_sends == 0 && unexpected_sends == 0;
    }
  };
  invariants check() const;

  uint64_t sends() const noexcept { return records_.size(); }
  /// Lateness over all sends, and per step (index 0 is step 1).
  lateness_stats lateness() const;
  lateness_stats lateness(int step) const;
  /// First and last send times (ms); nullopt with no sends.
  std::optional<std::pair<int64_t, int64_t>> send_span() const;
  /// Writes every send as CSV (lead,step,due_ms,sent_ms), in the order sent,
  /// for looking at how a run went over time.
  void write_csv(std::ostream& out) const;

 private:
  struct record {
    uint64_t lead;
    int64_t due_ms;
    int64_t sent_ms;
    int8_t step;
  };

  lateness_stats stats_of(int step) const; // step 0: all

  w1_config config_;
  std::vector<record> records_;
  std::vector<int64_t> reply_at_; // per lead; INT64_MAX: none acknowledged
};

} // namespace herald::load
