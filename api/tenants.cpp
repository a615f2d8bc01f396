#include "api/tenants.hpp"

#include <array>
#include <mutex>

#include <sodium.h>

#include "api/handlers.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"

namespace herald::api {

namespace {

constexpr size_t secret_bytes = 32;
constexpr std::string_view secret_prefix = "hk_";

storage::storage_error bad_record(std::string_view key, std::string why) {
  return storage::storage_error{storage::errc::bad_value, std::move(why),
                                storage::printable(key)};
}

} // namespace

uint64_t random_id() {
  // Drawn 64 at a time: an import takes two ids per lead, and each draw is a
  // system call.
  thread_local std::array<uint64_t, 64> pool;
  thread_local size_t left = 0;
  for (;;) {
    if (left == 0) {
      randombytes_buf(pool.data(), sizeof pool);
      left = pool.size();
    }
    // 63 bits: the runtime's timer ids keep the top bit for account
    // wake-ups.
    auto v = pool[--left] & ~(uint64_t{1} << 63);
    if (v != 0) return v;
  }
}

std::string key_hash(std::string_view secret) {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  return out;
}

bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

storage::expected<std::unique_ptr<tenants>> tenants::load(storage::store& db) {
  if (sodium_init() < 0)
    return storage::storage_error{
      storage::errc::other, "libsodium failed to initialise", {}};
  std::unique_ptr<tenants> t{new tenants{db}};
  std::optional<storage::storage_error> failed;
  auto read = db.scan(storage::cf::workspaces, {}, {},
                      [&](std::string_view k, std::string_view v) {
                        auto w = storage::decode_workspace(v);
                        if (!w) {
                          failed =
                            bad_record(k, "a workspace that does not decode");
                          return false;
                        }
                        t->workspaces_.emplace(w->id.value, std::move(*w));
                        return true;
                      });
  if (!read) return read.error();
  if (failed) return *failed;
  read = db.scan(storage::cf::keys, {}, {},
                 [&](std::string_view k, std::string_view v) {
                   auto key = storage::decode_api_key(v);
                   if (!key) {
                     failed = bad_record(k, "a key that does not decode");
                     return false;
                   }
                   t->keys_.emplace(key->hash, std::move(*key));
                   return true;
                 });
  if (!read) return read.error();
  if (failed) return *failed;
  return t;
}

new_key tenants::make_key(workspace_id ws, storage::api_key& stored) const {
  unsigned char raw[secret_bytes];
  randombytes_buf(raw, sizeof raw);
  new_key k;
  k.id = key_id{random_id()};
  k.secret = std::string{secret_prefix} +
             hex({reinterpret_cast<const char*>(raw), sizeof raw});
  sodium_memzero(raw, sizeof raw);
  stored.id = k.id;
  stored.workspace = ws;
  stored.hash = key_hash(k.secret);
  return k;
}

storage::expected<std::pair<workspace, new_key>> tenants::create(workspace w) {
  std::unique_lock lk{mu_};
  do
    w.id = workspace_id{random_id()};
  while (workspaces_.contains(w.id.value));
  storage::api_key stored;
  auto key = make_key(w.id, stored);
  storage::write_set set;
  set.put(storage::cf::workspaces, storage::key::workspace(w.id),
          storage::encode(w));
  set.put(storage::cf::keys, storage::key::api_key(w.id, key.id),
          storage::encode(stored));
  if (auto ok = db_.write(set, true); !ok) return ok.error();
  workspaces_.emplace(w.id.value, w);
  keys_.emplace(stored.hash, stored);
  return std::pair{std::move(w), std::move(key)};
}

storage::expected<std::optional<new_key>> tenants::add_key(workspace_id ws) {
  std::unique_lock lk{mu_};
  if (!workspaces_.contains(ws.value)) return std::optional<new_key>{};
  storage::api_key stored;
  auto key = make_key(ws, stored);
  storage::write_set set;
  set.put(storage::cf::keys, storage::key::api_key(ws, key.id),
          storage::encode(stored));
  if (auto ok = db_.write(set, true); !ok) return ok.error();
  keys_.emplace(stored.hash, stored);
  return std::optional<new_key>{std::move(key)};
}

storage::expected<bool> tenants::revoke_key(workspace_id ws, key_id id) {
  std::unique_lock lk{mu_};
  auto i = std::find_if(keys_.begin(), keys_.end(), [&](const auto& kv) {
    return kv.second.workspace == ws && kv.second.id == id;
  });
  if (i == keys_.end()) return false;
  storage::write_set set;
  set.erase(storage::cf::keys, storage::key::api_key(ws, id));
  if (auto ok = db_.write(set, true); !ok) return ok.error();
  keys_.erase(i);
  return true;
}

std::optional<workspace> tenants::find(workspace_id ws) const {
  std::shared_lock lk{mu_};
  auto i = workspaces_.find(ws.value);
  if (i == workspaces_.end()) return std::nullopt;
  return i->second;
}

std::vector<workspace> tenants::list(workspace_id after, size_t limit) const {
  std::shared_lock lk{mu_};
  std::vector<workspace> out;
  for (auto i = workspaces_.upper_bound(after.value);
       i != workspaces_.end() && out.size() < limit; ++i)
    out.push_back(i->second);
  return out;
}

std::optional<workspace_id>
tenants::authenticate(std::string_view secret) const {
  if (secret.size() != secret_prefix.size() + 2 * secret_bytes ||
      !secret.starts_with(secret_prefix))
    return std::nullopt;
  auto hash = key_hash(secret);
  std::shared_lock lk{mu_};
  auto i = keys_.find(hash);
  if (i == keys_.end()) return std::nullopt;
  return i->second.workspace;
}

} // namespace herald::api
