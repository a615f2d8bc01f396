#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/ids.hpp"
#include "engine/model.hpp"

namespace herald::actors {

/// One send handed to a provider. Its idempotency key names the call
/// (enrollment, step and attempt): a provider that supports keys (the webhook
/// gateway) uses it to answer a repeated call without sending twice.
struct send_request {
  enrollment_id enrollment;
  lead_id lead;
  uint16_t step = 0;
  uint16_t attempt = 0;
  account_id account;
  step_channel kind = step_channel::email;
  /// The email address or the LinkedIn profile URL.
  std::string to;
  std::string subject;
  std::string body;
  /// When the step was due (lateness is measured from it).
  time_point due{};

  /// Formatted when a provider asks (most never do).
  std::string idempotency_key() const;
};

/// The key of a call: stable across restarts for the same attempt.
std::string idempotency_key(enrollment_id e, uint16_t step, uint16_t attempt);

struct send_report {
  send_outcome outcome = send_outcome::sent;
  /// The provider's words (an SMTP reply, an HTTP status), for the history.
  std::string detail;
};

/// Delivers messages: the simulated provider here; SMTP and the webhook gateway
/// later. `send` calls `done` exactly once, possibly on another thread, and
/// never blocks its caller (a provider that blocks does its work on the
/// runtime's I/O pool).
class provider {
 public:
  virtual ~provider() = default;
  virtual void send(send_request request,
                    std::function<void(send_report)> done) = 0;
  /// True when `send` is cheap and safe to call from any thread at once (it
  /// only hands the request on, or answers from memory): enrollments then
  /// call it in their own job, and an answer given during the call is applied
  /// in that job too. False: calls go through the channel's actor, one at a
  /// time (a provider holding a connection).
  virtual bool direct() const { return false; }
};

/// Records every send in memory and answers at once with an outcome drawn from
/// seeded rates (the rest are `sent`). Thread-safe.
class sim_provider final : public provider {
 public:
  struct options {
    double deferred = 0;
    double bounced = 0;
    double failed = 0;
    double unknown = 0;
    uint64_t seed = 1;
    /// Keep every send for sent() (tests, the load harness); false counts
    /// them only (a server's memory would grow with each send).
    bool keep = true;
  };

  struct record {
    send_request request;
    send_outcome outcome;
  };

  explicit sim_provider(options o);
  sim_provider() : sim_provider(options{}) {}

  void send(send_request request,
            std::function<void(send_report)> done) override;
  bool direct() const override { return true; }

  /// A copy of everything sent so far, in the order it was sent.
  std::vector<record> sent() const;
  size_t count() const;

 private:
  options options_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::vector<record> sent_;
  size_t count_ = 0;
};

/// Each account's provider: the one an account was given (its webhook
/// gateway), else the fallback (the simulated provider). Direct: every
/// provider it holds must be.
class account_providers final : public provider {
 public:
  explicit account_providers(provider& fallback) : fallback_(fallback) {}

  /// Gives account `a` its own provider (null: the fallback again).
  /// Thread-safe; calls already handed on are not moved.
  void set(account_id a, std::shared_ptr<provider> p);

  void send(send_request request,
            std::function<void(send_report)> done) override;
  bool direct() const override { return true; }

 private:
  provider& fallback_;
  /// False while no account has a provider of its own: sends skip the lock.
  std::atomic<bool> any_{false};
  mutable std::shared_mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<provider>> own_;
};

} // namespace herald::actors
