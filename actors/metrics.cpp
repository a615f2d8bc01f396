#include "actors/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace herald::actors {

void step_metrics::sent(step_channel kind, send_outcome outcome) const {
  auto k = static_cast<size_t>(kind);
  auto o = static_cast<size_t>(outcome);
  if (k < sends.size() && o < sends[k].size()) sends[k][o]->Increment();
}

void step_metrics::skipped(history_reason why) const {
  auto r = static_cast<size_t>(why);
  if (r < skips.size()) skips[r]->Increment();
}

void step_metrics::late(duration by) const {
  lateness->Observe(std::max(0.0, std::chrono::duration<double>(by).count()));
}

std::unique_ptr<step_metrics> register_step_metrics(prometheus::Registry& r) {
  auto m = std::make_unique<step_metrics>();
  auto& sends =
    prometheus::BuildCounter()
      .Name("herald_sends_total")
      .Help("Provider calls by the step's channel and their outcome")
      .Register(r);
  for (size_t k = 0; k < m->sends.size(); ++k)
    for (size_t o = 0; o < m->sends[k].size(); ++o)
      m->sends[k][o] = &sends.Add(
        {{"channel", std::string{enum_names<step_channel>::values[k]}},
         {"outcome", std::string{enum_names<send_outcome>::values[o]}}});
  auto& skips = prometheus::BuildCounter()
                  .Name("herald_skips_total")
                  .Help("Steps skipped, by reason")
                  .Register(r);
  for (size_t i = 0; i < m->skips.size(); ++i) {
    auto name = enum_names<history_reason>::values[i];
    m->skips[i] =
      &skips.Add({{"reason", name.empty() ? "none" : std::string{name}}});
  }
  m->lateness =
    &prometheus::BuildHistogram()
       .Name("herald_lateness_seconds")
       .Help("How long after its due time each step's provider call was made")
       .Register(r)
       .Add({}, prometheus::Histogram::BucketBoundaries{
                  0.001, 0.005, 0.02, 0.1, 0.5, 1, 5, 30, 60, 300, 900, 3600,
                  14400, 86400});
  return m;
}

} // namespace herald::actors
