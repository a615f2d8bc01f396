#pragma once

// Sender accounts: held in memory per workspace (for listing and checks),
// written through to storage, read back at start.

#include <map>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "engine/model.hpp"
#include "storage/store.hpp"

namespace herald::api {

/// Every workspace's sender accounts. Thread-safe.
class accounts {
 public:
  /// Reads every account of `db`; fails when storage does or a record does
  /// not decode.
  static storage::expected<std::unique_ptr<accounts>> load(storage::store& db);

  /// Stores `a` (new, or changed), durably.
  storage::status put(const sender_account& a);

  /// Account `id` of `ws`; nullopt for another workspace's, as for none.
  std::optional<sender_account> find(workspace_id ws, account_id id) const;

  /// Up to `limit` accounts of `ws` with ids above `after`, in id order.
  std::vector<sender_account> list(workspace_id ws, account_id after,
                                   size_t limit) const;

  /// Whether any workspace has an account with this id (ids are global: the
  /// runtime knows accounts by id alone).
  bool taken(account_id id) const;

  /// Every account of every workspace (to register them at start).
  std::vector<sender_account> all() const;

 private:
  explicit accounts(storage::store& db) : db_(db) {}

  storage::store& db_;
  mutable std::shared_mutex mu_;
  std::map<uint64_t, std::map<uint64_t, sender_account>> by_workspace_;
};

} // namespace herald::api
