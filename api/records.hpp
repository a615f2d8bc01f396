#pragma once

// A workspace's records of one kind (sender accounts, sequences): held in
// memory per workspace for listing and checks, written through to storage,
// read back at start.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace herald::api {

/// How records of type T are stored: their column family, key and codec.
template<class T>
struct record_traits;

template<>
struct record_traits<sender_account> {
  static constexpr storage::cf family = storage::cf::accounts;
  static constexpr std::string_view what = "an account";
  static std::string key(const sender_account& a) {
    return storage::key::account(a.workspace, a.id);
  }
  static auto decode(std::string_view v) {
    return storage::decode_sender_account(v);
  }
};

template<>
struct record_traits<sequence> {
  static constexpr storage::cf family = storage::cf::sequences;
  static constexpr std::string_view what = "a sequence";
  static std::string key(const sequence& s) {
    return storage::key::sequence(s.workspace, s.id);
  }
  static auto decode(std::string_view v) { return storage::decode_sequence(v); }
};

/// Every workspace's records of type T (with `id` and `workspace` members).
/// Thread-safe.
template<class T>
class records {
 public:
  using id_type = decltype(T::id);
  using traits = record_traits<T>;

  /// Reads every record of `db`; fails when storage does or a record does
  /// not decode.
  static storage::expected<std::unique_ptr<records>> load(storage::store& db) {
    std::unique_ptr<records> out{new records{db}};
    std::optional<storage::storage_error> failed;
    auto read = db.scan(
      traits::family, {}, {}, [&](std::string_view k, std::string_view v) {
        auto x = traits::decode(v);
        if (!x) {
          failed = storage::storage_error{storage::errc::bad_value,
                                          std::string{traits::what} +
                                            " that does not decode",
                                          storage::printable(k)};
          return false;
        }
        out->by_workspace_[x->workspace.value].emplace(x->id.value,
                                                       std::move(*x));
        return true;
      });
    if (!read) return read.error();
    if (failed) return *failed;
    return out;
  }

  /// Stores `x` (new, or changed), durably.
  storage::status put(const T& x) {
    std::unique_lock lk{mu_};
    storage::write_set w;
    w.put(traits::family, traits::key(x), storage::encode(x));
    if (auto ok = db_.write(w, true); !ok) return ok;
    by_workspace_[x.workspace.value][x.id.value] = x;
    return storage::done{};
  }

  /// Record `id` of `ws`; nullopt for another workspace's, as for none.
  std::optional<T> find(workspace_id ws, id_type id) const {
    std::shared_lock lk{mu_};
    auto w = by_workspace_.find(ws.value);
    if (w == by_workspace_.end()) return std::nullopt;
    auto x = w->second.find(id.value);
    if (x == w->second.end()) return std::nullopt;
    return x->second;
  }

  /// Up to `limit` records of `ws` with ids above `after`, in id order.
  std::vector<T> list(workspace_id ws, id_type after, size_t limit) const {
    std::shared_lock lk{mu_};
    std::vector<T> out;
    auto w = by_workspace_.find(ws.value);
    if (w == by_workspace_.end()) return out;
    for (auto i = w->second.upper_bound(after.value);
         i != w->second.end() && out.size() < limit; ++i)
      out.push_back(i->second);
    return out;
  }

  /// Whether any record of `ws` satisfies `p` (called under the lock: it
  /// must be quick).
  template<class Pred>
  bool any(workspace_id ws, Pred p) const {
    std::shared_lock lk{mu_};
    auto w = by_workspace_.find(ws.value);
    if (w == by_workspace_.end()) return false;
    for (const auto& [id, x] : w->second)
      if (p(x)) return true;
    return false;
  }

  /// Whether any workspace has a record with this id (the runtime knows
  /// accounts and sequences by id alone).
  bool taken(id_type id) const {
    std::shared_lock lk{mu_};
    for (const auto& [ws, list] : by_workspace_)
      if (list.contains(id.value)) return true;
    return false;
  }

  /// Every record of every workspace (to register them at start).
  std::vector<T> all() const {
    std::shared_lock lk{mu_};
    std::vector<T> out;
    for (const auto& [ws, list] : by_workspace_)
      for (const auto& [id, x] : list)
        out.push_back(x);
    return out;
  }

 private:
  explicit records(storage::store& db) : db_(db) {}

  storage::store& db_;
  mutable std::shared_mutex mu_;
  std::map<uint64_t, std::map<uint64_t, T>> by_workspace_;
};

using accounts = records<sender_account>;
using sequences = records<sequence>;

} // namespace herald::api
