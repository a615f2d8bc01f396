#include "api/accounts.hpp"

#include <mutex>

#include "storage/codec.hpp"
#include "storage/keys.hpp"

namespace herald::api {

storage::expected<std::unique_ptr<accounts>>
accounts::load(storage::store& db) {
  std::unique_ptr<accounts> out{new accounts{db}};
  std::optional<storage::storage_error> failed;
  auto read = db.scan(
    storage::cf::accounts, {}, {}, [&](std::string_view k, std::string_view v) {
      auto a = storage::decode_sender_account(v);
      if (!a) {
        failed = storage::storage_error{storage::errc::bad_value,
                                        "an account that does not decode",
                                        storage::printable(k)};
        return false;
      }
      out->by_workspace_[a->workspace.value].emplace(a->id.value,
                                                     std::move(*a));
      return true;
    });
  if (!read) return read.error();
  if (failed) return *failed;
  return out;
}

storage::status accounts::put(const sender_account& a) {
  std::unique_lock lk{mu_};
  storage::write_set w;
  w.put(storage::cf::accounts, storage::key::account(a.workspace, a.id),
        storage::encode(a));
  if (auto ok = db_.write(w, true); !ok) return ok;
  by_workspace_[a.workspace.value][a.id.value] = a;
  return storage::done{};
}

std::optional<sender_account> accounts::find(workspace_id ws,
                                             account_id id) const {
  std::shared_lock lk{mu_};
  auto w = by_workspace_.find(ws.value);
  if (w == by_workspace_.end()) return std::nullopt;
  auto a = w->second.find(id.value);
  if (a == w->second.end()) return std::nullopt;
  return a->second;
}

std::vector<sender_account> accounts::list(workspace_id ws, account_id after,
                                           size_t limit) const {
  std::shared_lock lk{mu_};
  std::vector<sender_account> out;
  auto w = by_workspace_.find(ws.value);
  if (w == by_workspace_.end()) return out;
  for (auto i = w->second.upper_bound(after.value);
       i != w->second.end() && out.size() < limit; ++i)
    out.push_back(i->second);
  return out;
}

bool accounts::taken(account_id id) const {
  std::shared_lock lk{mu_};
  for (const auto& [ws, list] : by_workspace_)
    if (list.contains(id.value)) return true;
  return false;
}

std::vector<sender_account> accounts::all() const {
  std::shared_lock lk{mu_};
  std::vector<sender_account> out;
  for (const auto& [ws, list] : by_workspace_)
    for (const auto& [id, a] : list)
      out.push_back(a);
  return out;
}

} // namespace herald::api
