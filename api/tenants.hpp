#pragma once

// Workspaces and their keys: held in memory for every request's check, written
// through to storage, read back at start.

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/model.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"

namespace herald::api {

/// A workspace key as created: the secret, shown once, and its id.
struct new_key {
  key_id id;
  std::string secret;
};

/// The workspaces and their keys. A key is stored only as its BLAKE2b hash
/// (libsodium's crypto_generichash): a request's key is hashed and looked up.
/// Thread-safe.
class tenants {
 public:
  /// Reads every workspace and key of `db`; fails when storage does.
  static storage::expected<std::unique_ptr<tenants>> load(storage::store& db);

  /// Creates a workspace (its id chosen here) with a first key, durably.
  storage::expected<std::pair<workspace, new_key>> create(workspace w);

  /// A new key for `ws`, durably; nullopt when there is no such workspace.
  storage::expected<std::optional<new_key>> add_key(workspace_id ws);

  /// Revokes key `id` of `ws`, durably; false when `ws` has no such key.
  storage::expected<bool> revoke_key(workspace_id ws, key_id id);

  std::optional<workspace> find(workspace_id ws) const;

  /// Up to `limit` workspaces with ids above `after`, in id order.
  std::vector<workspace> list(workspace_id after, size_t limit) const;

  /// The workspace whose key `secret` is; nullopt for an unknown or revoked
  /// key.
  std::optional<workspace_id> authenticate(std::string_view secret) const;

 private:
  explicit tenants(storage::store& db) : db_(db) {}

  new_key make_key(workspace_id ws, storage::api_key& stored) const;

  storage::store& db_;
  mutable std::shared_mutex mu_;
  std::map<uint64_t, workspace> workspaces_;
  /// Hash (raw bytes) -> the key's record.
  std::unordered_map<std::string, storage::api_key> keys_;
};

/// A random id below 2^63 (the runtime keeps the top bit of its timer ids
/// for accounts), never zero.
uint64_t random_id();

/// The BLAKE2b hash (32 bytes, raw) of a key's secret.
std::string key_hash(std::string_view secret);

/// Equal in time independent of where they differ.
bool same_secret(std::string_view a, std::string_view b);

} // namespace herald::api
