#include "storage/group_commit.hpp"

#include <future>

#include "storage/store_impl.hpp"

namespace herald::storage {

namespace {

storage_error stopping_error() {
  return storage_error{errc::shutting_down, "storage is stopping", {}};
}

void raise_max(std::atomic<uint64_t>& target, uint64_t value) {
  auto current = target.load(std::memory_order_relaxed);
  while (value > current && !target.compare_exchange_weak(
                              current, value, std::memory_order_relaxed)) {}
}

} // namespace

group_commit::group_commit(store& db) : db_(db), options_(db.options()) {
  if (!options_.synchronous) writer_ = std::thread{[this] { run(); }};
}

group_commit::~group_commit() { stop(); }

bool group_commit::admits(const write_set& w) const {
  // Without a writer thread nothing would ever make room: synchronous mode
  // takes all.
  return options_.synchronous || queued_bytes_ == 0 ||
         queued_bytes_ + charge(w) <= options_.max_queue_bytes;
}

void group_commit::enqueue(std::unique_lock<std::mutex>& lk, write_set& w,
                           completion& done) {
  if (stopping_) {
    lk.unlock();
    if (done) done(stopping_error());
    return;
  }
  queued_bytes_ += charge(w);
  backlog_.store(queued_bytes_, std::memory_order_relaxed);
  queue_.push_back(request{std::move(w), std::move(done)});
  // Wake the writer only when it waits for this: for any work, or, lingering,
  // for a full round. A wake-up per set while it lingers cost both threads a
  // futex call and a switch for nothing.
  bool wake = writer_state_ == writer_state::idle ||
              (writer_state_ == writer_state::lingering &&
               queued_bytes_ >= options_.max_batch_bytes);
  lk.unlock();
  if (wake) work_.notify_one();
}

void group_commit::submit(write_set w, completion done) {
  std::unique_lock lk{mu_};
  space_.wait(lk, [&] { return stopping_ || admits(w); });
  enqueue(lk, w, done);
}

void group_commit::post(write_set w, completion done) {
  std::unique_lock lk{mu_};
  enqueue(lk, w, done);
}

bool group_commit::try_submit(write_set& w, completion& done) {
  std::unique_lock lk{mu_};
  if (stopping_ || !admits(w)) return false;
  enqueue(lk, w, done);
  return true;
}

void group_commit::take(std::vector<request>& round, size_t max_bytes) {
  size_t bytes = 0;
  while (!queue_.empty() &&
         (round.empty() || bytes + queue_.front().set.bytes() <= max_bytes)) {
    bytes += queue_.front().set.bytes();
    queued_bytes_ -= charge(queue_.front().set);
    round.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  backlog_.store(queued_bytes_, std::memory_order_relaxed);
}

void group_commit::write_round(std::vector<request>& round) {
  auto& db = db_.internals();
  thread_local rocksdb::WriteBatch batch;
  batch.Clear();
  rocksdb::Status st;
  uint64_t mutations = 0;
  uint64_t bytes = 0;
  for (const auto& r : round) {
    mutations += r.set.count();
    bytes += r.set.bytes();
    if (st.ok()) st = db.append(batch, r.set);
  }
  if (st.ok() && batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.mode == durability::sync;
    st = db.db->Write(wo, &batch);
  }
  status result = done{};
  if (!st.ok()) {
    result = translate(st, "group commit");
    failed_.fetch_add(1, std::memory_order_relaxed);
  }
  // Counted before completing, so that whoever learns of a completion sees
  // its round in stats().
  rounds_.fetch_add(1, std::memory_order_relaxed);
  sets_.fetch_add(round.size(), std::memory_order_relaxed);
  mutations_.fetch_add(mutations, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  raise_max(largest_, round.size());
  for (auto& r : round)
    if (r.callback) r.callback(result);
  round.clear();
}

void group_commit::run() {
  without_perf_counters();
  std::vector<request> round;
  for (;;) {
    {
      std::unique_lock lk{mu_};
      writer_state_ = writer_state::idle;
      work_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return; // stopping, and everything queued is written
      if (options_.linger.count() > 0 && !stopping_ &&
          queued_bytes_ < options_.max_batch_bytes) {
        writer_state_ = writer_state::lingering;
        work_.wait_for(lk, options_.linger, [&] {
          return stopping_ || queued_bytes_ >= options_.max_batch_bytes;
        });
      }
      writer_state_ = writer_state::writing;
      take(round, options_.max_batch_bytes);
    }
    space_.notify_all();
    write_round(round);
  }
}

size_t group_commit::flush_once() {
  if (options_.synchronous) {
    std::vector<request> round;
    {
      std::lock_guard lk{mu_};
      take(round, SIZE_MAX);
    }
    auto n = round.size();
    if (n > 0) write_round(round);
    return n;
  }
  std::promise<void> written;
  auto future = written.get_future();
  submit(write_set{}, [&written](const status&) { written.set_value(); });
  future.wait();
  return 0;
}

void group_commit::stop() {
  {
    std::lock_guard lk{mu_};
    stopping_ = true;
  }
  work_.notify_all();
  space_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (options_.synchronous) {
    std::vector<request> round;
    {
      std::lock_guard lk{mu_};
      take(round, SIZE_MAX);
    }
    if (!round.empty()) write_round(round);
  }
}

group_commit::totals group_commit::stats() const {
  totals t;
  t.rounds = rounds_.load(std::memory_order_relaxed);
  t.sets = sets_.load(std::memory_order_relaxed);
  t.mutations = mutations_.load(std::memory_order_relaxed);
  t.bytes = bytes_.load(std::memory_order_relaxed);
  t.largest_round = largest_.load(std::memory_order_relaxed);
  t.failed_rounds = failed_.load(std::memory_order_relaxed);
  return t;
}

} // namespace herald::storage
