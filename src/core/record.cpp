#include "core/record.hpp"

#include <stdexcept>
#include <unordered_map>

#include "core/error.hpp"
#include "core/sha256.hpp"
#include "core/timestamp.hpp"

namespace dc {
namespace {

bool isBookkeeping(const std::string& key) { return key == "id" || key == "version" || key == "lastUpdated"; }

// Whether `changes` equals auditChanges(nothing, entity), without building it.
bool isCreationChanges(const Json& changes, const Json& entity) {
  if (!changes.is_object() || !entity.is_object()) return false;
  size_t expected = 0;
  for (auto it = entity.begin(); it != entity.end(); ++it) {
    if (isBookkeeping(it.key())) continue;
    auto c = changes.find(it.key());
    if (it.key() == "data") {
      const Json& data = entity::dataOf(entity);
      if (data.empty()) continue;  // an empty diff is left out
      ++expected;
      if (c == changes.end() || *c != data) return false;
      continue;
    }
    ++expected;
    if (c == changes.end() || *c != *it) return false;
  }
  return expected == changes.size();
}

}  // namespace

Json auditChanges(const std::optional<Json>& before, const Json& after) {
  Json changes = Json::object();
  if (!after.is_object()) return changes;
  const Json empty = Json::object();
  const Json& old = before && before->is_object() ? *before : empty;
  for (auto it = after.begin(); it != after.end(); ++it) {
    if (isBookkeeping(it.key())) continue;
    auto prev = old.find(it.key());
    if (it.key() == "data") {
      Json d = Json::object();
      const Json& oldData = entity::dataOf(old);
      const Json& newData = entity::dataOf(after);
      for (auto f = newData.begin(); f != newData.end(); ++f) {
        auto o = oldData.find(f.key());
        if (o == oldData.end() || *o != *f) d[f.key()] = *f;
      }
      for (auto o = oldData.begin(); o != oldData.end(); ++o)
        if (!newData.contains(o.key())) d[o.key()] = nullptr;
      if (!d.empty()) changes["data"] = std::move(d);
    } else if (prev == old.end() || *prev != *it) {
      changes[it.key()] = *it;
    }
  }
  for (auto o = old.begin(); o != old.end(); ++o)
    if (!isBookkeeping(o.key()) && !after.contains(o.key())) changes[o.key()] = nullptr;
  return changes;
}

Json RejectedEvent::toJson() const {
  return Json{{"event", event}, {"code", code}, {"message", message}, {"source", source}};
}

Record::Record() = default;
Record::~Record() = default;
Record::Record(Record&&) noexcept = default;
Record& Record::operator=(Record&&) noexcept = default;

bool Record::empty() const {
  return !clearEvents && !clearEntities && events.empty() && syncedGuids.empty() && audit.empty() && deletes.empty() &&
         puts.empty() && dupRemove.empty() && dupAdd.empty() && state.empty() && rejected.empty() &&
         unrejected.empty() && entitiesSynced.empty() && refs.empty() && everFlagged.empty() && pastData.empty();
}

// Hot parts (events, audit entries, entity puts) are written straight into the record, each
// document serialised once; an event is its canonical JSON (which the Merkle leaf hashes) plus its
// leaf digest "h" and syncLevel, so a replay neither re-serialises nor re-hashes it. Key table:
// docs/storage.md, 'Record format'.
std::string Record::encode() {
  std::string out;
  out.reserve(1024 * (events.size() + puts.size() + audit.size()) + 64);
  out += "{\"v\":";
  out += std::to_string(kRecordFormatVersion);
  auto key = [&](const char* k) {
    out += ",\"";
    out += k;
    out += "\":";
  };
  auto str = [&](const std::string& v) {
    if (!appendJsonString(out, v)) throw Error(ErrorCode::Storage, "cannot store text that is not valid UTF-8");
  };
  if (!events.empty()) {
    key("events");
    out += '[';
    leaves.clear();
    for (size_t i = 0; i < events.size(); ++i) {
      if (i) out += ',';
      std::string canonical = events[i].canonicalJson(true);
      leaves.push_back(sha256(canonical));
      out.append(canonical, 0, canonical.size() - 1);  // reopen the object
      out += ",\"h\":\"";
      out += toHex(leaves.back());
      out += "\",\"syncLevel\":";
      out += std::to_string(events[i].syncLevel);
      out += '}';
    }
    out += ']';
  }
  if (!audit.empty()) {
    // The audit entry of a created entity repeats the whole document: it is stored as a
    // reference to the entity's put and rebuilt from it on replay.
    std::unordered_map<std::string_view, size_t> putOf;
    for (size_t i = 0; i < puts.size(); ++i) putOf.emplace(puts[i].guid, i);
    key("audit");
    out += '[';
    for (size_t i = 0; i < audit.size(); ++i) {
      if (i) out += ',';
      auto put = putOf.find(audit[i].entityGuid);
      Json scratch;
      if (put != putOf.end() && isCreationChanges(audit[i].changes.view(scratch), puts[put->second].modified)) {
        audit[i].appendJson(out, "\"changesOfPut\":" + std::to_string(put->second));
      } else {
        audit[i].appendJson(out);
      }
    }
    out += ']';
  }
  if (!puts.empty()) {
    key("put");
    out += '[';
    for (size_t i = 0; i < puts.size(); ++i) {
      out += i ? ",{\"guid\":" : "{\"guid\":";
      str(puts[i].guid);
      out += ",\"modified\":";
      appendJson(out, puts[i].modified);
      out += '}';
    }
    out += ']';
  }
  // The rest is rare and small: built as a Json object and spliced in.
  Json j = Json::object();
  if (clearEvents) j["clearEvents"] = true;
  if (clearEntities) j["clearEntities"] = true;
  if (!syncedGuids.empty()) j["synced"] = {{"guids", syncedGuids}, {"level", syncedLevel}};
  if (!deletes.empty()) j["del"] = deletes;
  for (const auto& [a, b] : dupRemove) j["dupDel"].push_back({a, b});
  for (const auto& [a, b] : dupAdd) j["dupAdd"].push_back({a, b});
  for (const auto& [k, v] : state) j["state"][k] = v;
  for (const auto& [guid, r] : rejected) j["rejected"][guid] = r.toJson();
  if (!unrejected.empty()) j["unrejected"] = unrejected;
  if (!entitiesSynced.empty()) j["entitiesSynced"] = entitiesSynced;
  for (const auto& [guid, list] : refs) j["refs"][guid] = list;
  if (!everFlagged.empty()) j["everFlagged"] = everFlagged;
  for (const auto& [guid, data] : pastData) j["pastData"].push_back({guid, data});
  if (!j.empty()) {
    std::string rest = j.dump();
    out += ',';
    out.append(rest, 1, rest.size() - 2);
  }
  out += '}';
  return out;
}

// The record passed its checksum, so events are taken as stored (no re-validation); version 1
// records without "h" get their leaf computed.
Record Record::decode(Json&& j) {
  if (!j.is_object()) throw std::runtime_error("a record is not a JSON object");
  if (auto v = j.find("v"); v != j.end()) {
    if (!v->is_number_unsigned() || v->get<int>() < 1)
      throw std::runtime_error("bad record format version " + v->dump());
    if (v->get<int>() > kRecordFormatVersion)
      throw std::runtime_error("record format version " + v->dump() + " is newer than this library reads (" +
                               std::to_string(kRecordFormatVersion) + "): open the store with a newer version");
  }
  Record d;
  d.version = j.contains("v") ? j["v"].get<int>() : 1;
  d.clearEvents = j.value("clearEvents", false);
  d.clearEntities = j.value("clearEntities", false);
  auto list = [&](const char* key) -> Json& {
    static Json none = Json::array();
    auto it = j.find(key);
    return it == j.end() ? none : *it;
  };
  auto take = [](Json& obj, const char* key) -> std::string { return std::move(obj.at(key).get_ref<std::string&>()); };
  for (auto& e : list("events")) {
    Event ev;
    ev.guid = take(e, "guid");
    ev.entityGuid = take(e, "entityGuid");
    ev.type = take(e, "type");
    ev.data = std::move(e.at("data"));
    ev.timestamp = take(e, "timestamp");
    auto ms = parseTimestamp(ev.timestamp);
    if (!ms) throw std::runtime_error("event " + ev.guid + " has a bad timestamp");
    ev.timeMs = *ms;
    ev.userId = take(e, "userId");
    ev.syncLevel = e.value("syncLevel", static_cast<int>(LOCAL));
    Digest leaf{};
    auto h = e.find("h");
    if (h == e.end() || !h->is_string() || !fromHex(h->get_ref<const std::string&>(), leaf)) leaf = sha256(ev.canonicalJson());
    d.leaves.push_back(leaf);
    d.events.push_back(std::move(ev));
  }
  if (j.contains("synced")) {
    d.syncedGuids = j["synced"].at("guids").get<std::vector<std::string>>();
    d.syncedLevel = j["synced"].at("level").get<int>();
  }
  for (auto& p : list("put")) d.puts.push_back({take(p, "guid"), std::move(p.at("modified"))});
  for (auto& a : list("audit")) {
    AuditEntry entry;
    entry.guid = take(a, "guid");
    entry.timestamp = take(a, "timestamp");
    entry.userId = take(a, "userId");
    entry.action = take(a, "action");
    entry.eventGuid = take(a, "eventGuid");
    entry.entityGuid = take(a, "entityGuid");
    auto ofPut = a.find("changesOfPut");
    entry.changes = ofPut != a.end() ? auditChanges(std::nullopt, d.puts.at(ofPut->get<size_t>()).modified)
                                     : std::move(a.at("changes"));
    entry.signature = a.value("signature", "");
    d.audit.push_back(std::move(entry));
  }
  d.deletes = list("del").get<std::vector<std::string>>();
  for (const auto& pr : list("dupDel")) d.dupRemove.emplace_back(pr.at(0).get<std::string>(), pr.at(1).get<std::string>());
  for (const auto& pr : list("dupAdd")) d.dupAdd.emplace_back(pr.at(0).get<std::string>(), pr.at(1).get<std::string>());
  if (j.contains("state")) {
    for (auto& [k, v] : j["state"].items()) d.state.emplace_back(k, std::move(v));
  }
  if (j.contains("rejected")) {
    for (auto& [guid, r] : j["rejected"].items()) {
      d.rejected.emplace_back(guid, RejectedEvent{std::move(r.at("event")), r.value("code", ""), r.value("message", ""),
                                                  r.value("source", "")});
    }
  }
  d.unrejected = list("unrejected").get<std::vector<std::string>>();
  d.entitiesSynced = list("entitiesSynced").get<std::vector<std::string>>();
  d.everFlagged = list("everFlagged").get<std::vector<std::string>>();
  for (auto& pr : list("pastData")) d.pastData.emplace_back(pr.at(0).get<std::string>(), std::move(pr.at(1)));
  if (auto r = j.find("refs"); r != j.end()) {
    for (auto& [guid, l] : r->items()) d.refs.emplace_back(guid, l.get<std::vector<std::string>>());
  }
  return d;
}

}  // namespace dc
