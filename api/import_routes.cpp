// The import of leads into a sequence: POST /v1/sequences/{id}/leads, a JSON
// array or NDJSON lines. Each valid lead is stored (once per workspace, by
// its external_id) and enrolled (once per sequence); each invalid one is
// listed with its index and why.

#include <atomic>
#include <deque>
#include <future>
#include <mutex>
#include <unordered_set>

#include "actors/runtime.hpp"
#include "api/handlers.hpp"
#include "engine/hash.hpp"
#include "engine/zones.hpp"
#include "storage/keys.hpp"

namespace herald::api {

namespace {

constexpr size_t max_external_id_bytes = 256;
constexpr size_t max_email_bytes = 254;
constexpr size_t max_url_bytes = 512;
constexpr size_t max_fields = 50;
constexpr size_t max_field_key_bytes = 64;
constexpr size_t max_field_value_bytes = 2000;
// Leads are written and enrolled in batches of this many: an import holds
// at most one batch in memory beyond its body.
constexpr size_t batch_size = 1000;
// An NDJSON line longer than this is rejected (API.md: 1 MiB per line).
constexpr size_t max_line_bytes = size_t{1} << 20;
// At most this many rejected leads are listed (with rejected_total beyond).
constexpr size_t max_listed_rejections = 1000;

bool plausible_email(std::string_view s) {
  auto at = s.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == std::string_view::npos &&
         s.find(' ') == std::string_view::npos &&
         s.find('.', at + 1) != std::string_view::npos;
}

bool plausible_linkedin(std::string_view s) {
  return (s.starts_with("https://") || s.starts_with("http://")) &&
         s.find("linkedin.com/") != std::string_view::npos &&
         s.find(' ') == std::string_view::npos;
}

// One lead of an import, checked; the field that is wrong otherwise.
std::variant<lead, field_error> read_lead(simdjson::dom::element v) {
  simdjson::dom::object obj;
  if (v.get(obj)) return field_error{"", "a lead must be a JSON object"};
  lead l;
  std::string why;
  bool has_external = false;
  for (auto f : obj) {
    std::string_view key = f.key;
    std::string k{key};
    auto text = [&](size_t max, bool may_be_empty) {
      return string_field(f.value, max, may_be_empty, why);
    };
    if (key == "external_id") {
      auto s = text(max_external_id_bytes, false);
      if (!s) return field_error{k, k + " " + why};
      l.external_id = std::move(*s);
      has_external = true;
    } else if (key == "email") {
      auto s = text(max_email_bytes, true);
      if (!s) return field_error{k, k + " " + why};
      if (!s->empty() && !plausible_email(*s))
        return field_error{k, "email is not an address"};
      l.email = std::move(*s);
    } else if (key == "linkedin_url") {
      auto s = text(max_url_bytes, true);
      if (!s) return field_error{k, k + " " + why};
      if (!s->empty() && !plausible_linkedin(*s))
        return field_error{k, "linkedin_url is not a LinkedIn profile URL"};
      l.linkedin_url = std::move(*s);
    } else if (key == "first_name" || key == "last_name" || key == "company") {
      auto s = text(max_name_bytes, true);
      if (!s) return field_error{k, k + " " + why};
      (key == "first_name"  ? l.first_name
       : key == "last_name" ? l.last_name
                            : l.company) = std::move(*s);
    } else if (key == "timezone") {
      auto s = text(max_zone_bytes, true);
      if (!s) return field_error{k, k + " " + why};
      if (!s->empty() && find_zone(*s) == nullptr)
        return field_error{k, "unknown time zone '" + *s + "'"};
      l.timezone = std::move(*s);
    } else if (key == "fields") {
      simdjson::dom::object fields;
      if (f.value.get(fields))
        return field_error{k, "fields must be an object of strings"};
      for (auto g : fields) {
        std::string name{std::string_view{g.key}};
        auto p = "fields." + name;
        if (l.fields.size() == max_fields)
          return field_error{k, "at most " + std::to_string(max_fields) +
                                  " fields"};
        if (name.empty() || name.size() > max_field_key_bytes)
          return field_error{p, "a field's name is 1 to " +
                                  std::to_string(max_field_key_bytes) +
                                  " bytes"};
        auto value = string_field(g.value, max_field_value_bytes, true, why);
        if (!value) return field_error{p, p + " " + why};
        l.fields.emplace_back(std::move(name), std::move(*value));
      }
    } else {
      return field_error{k, "unknown field '" + k + "'"};
    }
  }
  if (!has_external)
    return field_error{"external_id", "external_id is required"};
  if (l.email.empty() && l.linkedin_url.empty())
    return field_error{"email", "a lead needs an email or a linkedin_url"};
  return l;
}

// The sender of `pool` for lead `l`: spread by a hash of the lead's id.
account_id pick_sender(const std::vector<account_id>& pool, lead_id l) {
  if (pool.empty()) return {};
  return pool[splitmix64(l.value) % pool.size()];
}

} // namespace

// One import: leads taken one at a time (an NDJSON line, an element of a
// JSON array), written and enrolled in batches. A batch's leads and index
// entries go to the group commit with its enrollments (runtime::enroll_all),
// which enter the directory under the hold of its lock that queues the
// entries, before an event can find them; their first snapshots queue behind
// the batch, which the group commit writes first, so a recovered enrollment
// is always indexed. The writer thread inserts the
// batches handed over (a few at most) while this one reads and checks the
// next; the answer waits for all of them. Imports take turns on import_mu_
// piece by piece of a streamed body, and each piece ends with its batches
// handed over: an import taking its turn after another's first waits for
// the other's last batch (turn()), since it reads what that one wrote.
class service::importer final : public lead_stream {
 public:
  importer(service& s, const request& req, workspace_id ws, sequence seq)
    : s_(s), head_(req.method(), req.target(), req.version()), ws_(ws),
      seq_(std::move(seq)) {
    head_.keep_alive(req.keep_alive());
  }

  // An import left before its end (the connection closed): what it handed
  // over is durable before another import reads.
  ~importer() override {
    std::lock_guard lk{s_.import_mu_};
    try {
      wait_written();
    } catch (const std::exception&) {
      // Nothing to answer any more; the storage error shows elsewhere.
    }
    // Another importer may come to live at this address.
    if (s_.import_tail_owner_ == this) s_.import_tail_owner_ = nullptr;
  }

  void feed(std::string_view bytes) override {
    auto lk = turn();
    while (!bytes.empty() && !failed_) {
      auto nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        keep(bytes);
        break;
      }
      auto piece = bytes.substr(0, nl);
      bytes.remove_prefix(nl + 1);
      if (partial_.empty() && !overlong_) {
        line(piece);
      } else {
        keep(piece);
        end_partial();
      }
    }
    flush();
  }

  response finish() override {
    auto lk = turn();
    if (!partial_.empty() || overlong_) end_partial();
    flush();
    wait_written();
    if (failed_) return std::move(*failed_);
    json::object out{{"enrolled", enrolled_},
                     {"duplicates", duplicates_},
                     {"rejected", std::move(rejected_)}};
    if (rejections_ > max_listed_rejections)
      out["rejected_total"] = rejections_;
    return answer(head_, http::status::ok, out);
  }

  // A JSON array's elements, each with its index.
  void take_all(simdjson::dom::array leads) {
    auto lk = turn();
    for (auto v : leads) {
      if (failed_) break;
      take(index_++, v);
    }
    flush();
    wait_written();
  }

 private:
  // At most this many batches are handed over and not known durable.
  static constexpr size_t max_in_flight = 4;

  // The leads taken and not yet looked up (a refused one has no lead).
  struct pending {
    size_t index = 0;
    std::shared_ptr<lead> l;
    field_error why;
    std::string code;
    std::string ext_key;
    std::string ext_value;        // its entry, when known
    std::string blocked_by;       // the do-not-contact entry naming the lead
    std::optional<lead_id> known; // the lead stored under its external id
    bool member = false;          // known, and in the sequence already
  };

  // import_mu_, once the batches another import handed over are durable.
  std::unique_lock<std::mutex> turn() {
    std::unique_lock lk{s_.import_mu_};
    if (s_.import_tail_owner_ != this && s_.import_tail_.valid()) {
      await(s_.import_tail_);
      s_.import_tail_ = {};
      s_.import_tail_owner_ = nullptr;
    }
    return lk;
  }

  void await(const std::shared_future<bool>& f) const {
    if (s_.drive_)
      while (f.wait_for(std::chrono::seconds{0}) != std::future_status::ready)
        s_.drive_();
    f.wait();
  }

  // A piece of a line whose end has not come yet.
  void keep(std::string_view piece) {
    if (overlong_) return;
    if (partial_.size() + piece.size() > max_line_bytes) {
      overlong_ = true;
      std::string{}.swap(partial_);
      return;
    }
    partial_.append(piece);
  }

  void end_partial() {
    if (overlong_)
      refuse(index_++,
             {"", "the line is longer than " + std::to_string(max_line_bytes) +
                    " bytes"},
             "line_too_long");
    else
      line(partial_);
    overlong_ = false;
    partial_.clear();
  }

  void line(std::string_view text) {
    auto index = index_++;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) return;
    simdjson::dom::element v;
    if (auto err = json_parser().parse(text.data(), text.size()).get(v))
      refuse(
        index,
        {"", std::string{"not valid JSON: "} + simdjson::error_message(err)},
        "invalid_json");
    else
      take(index, v);
  }

  void reject(size_t index, const field_error& e, std::string code) {
    if (++rejections_ > max_listed_rejections) return;
    json::object err{{"code", std::move(code)}, {"message", e.message}};
    if (!e.field.empty()) err["field"] = e.field;
    rejected_.emplace_back(
      json::object{{"index", index}, {"error", std::move(err)}});
  }

  // A lead refused for what it is, listed in its turn among the batch's.
  void refuse(size_t index, field_error why, std::string code) {
    auto& p = pending_.emplace_back();
    p.index = index;
    p.why = std::move(why);
    p.code = std::move(code);
    if (pending_.size() >= batch_size) flush();
  }

  void take(size_t index, simdjson::dom::element v) {
    auto read = read_lead(v);
    if (auto* e = std::get_if<field_error>(&read))
      return refuse(index, std::move(*e), "invalid_field");
    auto l = std::make_shared<lead>(std::move(std::get<lead>(read)));
    l->workspace = ws_;
    auto& p = pending_.emplace_back();
    p.index = index;
    p.l = std::move(l);
    if (pending_.size() >= batch_size) flush();
  }

  // The pending leads' storage entries, read in batches: whether the
  // do-not-contact list names them, the leads known by their external ids,
  // and whether those are in the sequence already. False when storage
  // failed.
  bool look_up() {
    std::vector<std::string_view> emails;
    std::vector<std::string> ext_keys;
    emails.reserve(pending_.size());
    ext_keys.reserve(pending_.size());
    for (const auto& p : pending_)
      if (p.l) {
        emails.push_back(p.l->email);
        ext_keys.push_back(storage::key::lead_external(ws_, p.l->external_id));
      }
    auto blocked = s_.blocked(ws_, emails);
    auto known = s_.db_.get_many(storage::cf::leads, ext_keys);
    if (!blocked || !known) return false;
    std::vector<std::string> member_keys;
    size_t i = 0;
    for (auto& p : pending_) {
      if (!p.l) continue;
      p.blocked_by = std::move((*blocked)[i]);
      if (auto& stored = (*known)[i]) {
        auto x = storage::key::parse_lead_external(*stored);
        if (!x) return false; // not what an import writes: storage is broken
        p.known = x->lead;
        p.ext_value = std::move(*stored);
      }
      p.ext_key = std::move(ext_keys[i]);
      if (p.known)
        member_keys.push_back(
          storage::key::sequence_lead(ws_, seq_.id, *p.known));
      ++i;
    }
    auto members = s_.db_.get_many(storage::cf::leads, member_keys);
    if (!members) return false;
    i = 0;
    for (auto& p : pending_)
      if (p.l && p.known) p.member = (*members)[i++].has_value();
    return true;
  }

  // The pending leads in their order: each refused, a duplicate, or stored
  // and enrolled.
  void settle() {
    if (pending_.empty()) return;
    if (!look_up()) return fail();
    for (auto& p : pending_) {
      if (!p.l) {
        reject(p.index, p.why, std::move(p.code));
        continue;
      }
      if (!p.blocked_by.empty()) {
        reject(p.index,
               {"email", "the lead is on the do-not-contact list (" +
                           p.blocked_by + ")"},
               "do_not_contact");
        continue;
      }
      // Not found in storage while its batch's write is under way.
      if (p.member || in_batch_.contains(p.l->external_id) ||
          handed_over_.contains(std::string_view{p.l->external_id})) {
        ++duplicates_;
        continue;
      }
      enroll(p);
    }
    pending_.clear();
  }

  void enroll(pending& p) {
    auto& l = p.l;
    l->id = p.known ? *p.known : lead_id{s_.ids_.next()};
    enrollment e;
    e.id = enrollment_id{s_.ids_.next()};
    // The lead's entries; its external id's lists its enrollments too. It is
    // put whole, what was read and the new id: imports take turns, and a lead
    // of this one's batches in flight is a duplicate, so nothing else changes
    // it meanwhile (and a merge alone, without the lead's id, is never there
    // to misread).
    auto entry = storage::key::lead_enrollments_entry(e.id);
    if (p.known) {
      writes_.put(storage::cf::leads, p.ext_key, p.ext_value + entry);
    } else {
      writes_.put(storage::cf::leads, storage::key::lead(ws_, l->id),
                  storage::encode(*l));
      writes_.put(storage::cf::leads, p.ext_key,
                  storage::key::lead_external_value(l->id, e.id));
      if (!l->email.empty())
        writes_.put(storage::cf::leads,
                    storage::key::lead_email(ws_, l->email, l->id), {});
    }
    e.workspace = ws_;
    e.sequence = seq_.id;
    e.lead = l->id;
    e.email_sender = pick_sender(seq_.senders.email, l->id);
    e.linkedin_sender = pick_sender(seq_.senders.linkedin, l->id);
    writes_.put(storage::cf::leads,
                storage::key::sequence_lead(ws_, seq_.id, l->id),
                to_string(e.id));
    // The lead's index entry (its company's leads are found by their email
    // entries), durable before this answers: an event that follows at once must
    // find the enrollment (enroll() is told they are written). A new lead's
    // entry is put whole: a read of an entry made of merges alone searches
    // every level for more.
    if (p.known)
      writes_.merge(storage::cf::leads,
                    storage::key::lead_enrollments(ws_, l->id), entry);
    else
      writes_.put(storage::cf::leads,
                  storage::key::lead_enrollments(ws_, l->id), entry);
    in_batch_.insert(l->external_id);
    batch_.emplace_back(e, std::move(l));
  }

  // Hands the batch's leads and memberships to the group commit, and enrolls
  // its leads.
  void flush() {
    if (!failed_) settle();
    if (writes_.empty() || failed_) return;
    auto done = std::make_shared<std::promise<bool>>();
    handed batch{done->get_future().share(), {}};
    // The batch's entries are queued with its enrollments, which are in the
    // directory before an event can find them.
    enrolled_ += s_.engine_.enroll_all(
      batch_, std::move(writes_),
      [done, bad = write_failed_](const storage::status& ok) {
        if (!ok) *bad = true;
        done->set_value(static_cast<bool>(ok));
      });
    writes_ = {};
    s_.import_tail_ = batch.written;
    s_.import_tail_owner_ = this;
    batch_.clear();
    batch.ids.reserve(in_batch_.size());
    while (!in_batch_.empty())
      batch.ids.push_back(
        std::move(in_batch_.extract(in_batch_.begin()).value()));
    // The views point into the strings, which stay where they are while
    // their batch is in flight.
    auto& held = in_flight_.emplace_back(std::move(batch));
    for (const auto& id : held.ids)
      handed_over_.insert(id);
    retire(max_in_flight);
  }

  // Forgets the batches known durable, waiting for the oldest while more
  // than `keep` are in flight.
  void retire(size_t keep) {
    while (!in_flight_.empty()) {
      auto& oldest = in_flight_.front();
      if (in_flight_.size() > keep)
        await(oldest.written);
      else if (oldest.written.wait_for(std::chrono::seconds{0}) !=
               std::future_status::ready)
        break;
      for (const auto& id : oldest.ids)
        handed_over_.erase(id);
      in_flight_.pop_front();
    }
    if (*write_failed_) fail();
  }

  // Waits until every batch handed over is durable.
  void wait_written() { retire(0); }

  void fail() {
    if (!failed_) failed_ = storage_failed(head_);
    writes_ = {};
    pending_.clear();
    batch_.clear();
    in_batch_.clear();
  }

  service& s_;
  request head_; // the request's line, for the answer; no body
  workspace_id ws_;
  sequence seq_;
  size_t index_ = 0;
  uint64_t enrolled_ = 0, duplicates_ = 0, rejections_ = 0;
  json::array rejected_;
  std::string partial_;
  bool overlong_ = false;
  std::vector<pending> pending_;
  std::vector<std::pair<enrollment, std::shared_ptr<const lead>>> batch_;
  // The external ids enrolled by the batch not yet written: their storage
  // entries do not exist yet, so a second occurrence is found here.
  std::unordered_set<std::string> in_batch_;
  storage::write_set writes_;
  // The batches handed over and not yet known durable, oldest first, with
  // their external ids, which storage cannot show yet; whether any failed.
  struct handed {
    std::shared_future<bool> written;
    std::vector<std::string> ids;
  };
  std::deque<handed> in_flight_;
  std::unordered_set<std::string_view> handed_over_;
  std::shared_ptr<std::atomic<bool>> write_failed_ =
    std::make_shared<std::atomic<bool>>(false);
  std::optional<response> failed_;
};

std::variant<response, std::unique_ptr<service::importer>>
service::begin_import(const call& c) {
  auto seq = find_named(campaigns_, c);
  if (!seq) return not_found(c.req, "sequence");
  if (seq->status == sequence_status::draft)
    return error(c.req, http::status::conflict, "sequence_not_launched",
                 "launch the sequence before enrolling leads: an enrollment "
                 "starts at once");
  return std::make_unique<importer>(*this, c.req, c.ws, std::move(*seq));
}

service::opened_import service::stream_import(const call& c) {
  auto begun = begin_import(c);
  if (auto* refused = std::get_if<response>(&begun)) return std::move(*refused);
  return std::unique_ptr<lead_stream>{
    std::move(std::get<std::unique_ptr<importer>>(begun))};
}

// An import whose whole body is at hand (the server streams large NDJSON
// bodies through open_import() instead).
response service::import_leads(const call& c) {
  auto begun = begin_import(c);
  if (auto* refused = std::get_if<response>(&begun)) return std::move(*refused);
  auto& import = *std::get<std::unique_ptr<importer>>(begun);
  auto media = media_type(c.req);
  bool ndjson = media == "application/x-ndjson";
  if (!ndjson && media != "application/json")
    return error(c.req, http::status::unsupported_media_type,
                 "unsupported_media_type",
                 "leads come as application/json (an array) or "
                 "application/x-ndjson (one per line)");
  if (ndjson && c.req.body().size() > options_.max_import_bytes)
    return error(c.req, http::status::payload_too_large, "body_too_large",
                 "the import is larger than " +
                   std::to_string(options_.max_import_bytes) + " bytes");
  if (ndjson) {
    import.feed(c.req.body());
    return import.finish();
  }
  if (c.req.body().size() > options_.max_body_bytes)
    return error(c.req, http::status::payload_too_large, "body_too_large",
                 "the body is larger than " +
                   std::to_string(options_.max_body_bytes) +
                   " bytes (send large imports as application/x-ndjson)");
  simdjson::dom::element doc;
  simdjson::dom::array arr;
  if (auto err = json_parser().parse(c.req.body()).get(doc))
    return error(c.req, http::status::bad_request, "invalid_json",
                 std::string{"the body is not valid JSON: "} +
                   simdjson::error_message(err));
  if (doc.get(arr))
    return error(c.req, http::status::bad_request, "invalid_json",
                 "the body must be a JSON array of leads");
  import.take_all(arr);
  return import.finish();
}

} // namespace herald::api