#include "actors/provider.hpp"

namespace herald::actors {

std::string idempotency_key(enrollment_id e, uint16_t step, uint16_t attempt) {
  return to_string(e) + ":" + std::to_string(step) + ":" +
         std::to_string(attempt);
}

std::string send_request::idempotency_key() const {
  return actors::idempotency_key(enrollment, step, attempt);
}

sim_provider::sim_provider(options o) : options_(o), rng_(o.seed) {
  // nop
}

void sim_provider::send(send_request request,
                        std::function<void(send_report)> done) {
  send_outcome outcome = send_outcome::sent;
  {
    std::lock_guard lk{mu_};
    auto draw = std::uniform_real_distribution<double>{0, 1}(rng_);
    double edge = 0;
    for (auto [rate, o] :
         {std::pair{options_.deferred, send_outcome::deferred},
          std::pair{options_.bounced, send_outcome::bounced},
          std::pair{options_.failed, send_outcome::failed},
          std::pair{options_.unknown, send_outcome::unknown}}) {
      edge += rate;
      if (draw < edge) {
        outcome = o;
        break;
      }
    }
    ++count_;
    if (options_.keep) sent_.push_back(record{std::move(request), outcome});
  }
  done(send_report{outcome, "simulated"});
}

std::vector<sim_provider::record> sim_provider::sent() const {
  std::lock_guard lk{mu_};
  return sent_;
}

size_t sim_provider::count() const {
  std::lock_guard lk{mu_};
  return count_;
}

void account_providers::set(account_id a, std::shared_ptr<provider> p) {
  std::unique_lock lk{mu_};
  if (p)
    own_[a.value] = std::move(p);
  else
    own_.erase(a.value);
  any_.store(!own_.empty(), std::memory_order_release);
}

void account_providers::send(send_request request,
                             std::function<void(send_report)> done) {
  if (any_.load(std::memory_order_acquire)) {
    std::shared_ptr<provider> own;
    {
      std::shared_lock lk{mu_};
      if (auto it = own_.find(request.account.value); it != own_.end())
        own = it->second;
    }
    if (own) {
      own->send(std::move(request), std::move(done));
      return;
    }
  }
  fallback_.send(std::move(request), std::move(done));
}

} // namespace herald::actors
