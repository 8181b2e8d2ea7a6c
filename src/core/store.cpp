#include "core/store.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>
#include <unordered_set>

#include "core/timestamp.hpp"

namespace dc {

Json RejectedEvent::toJson() const {
  return Json{{"event", event}, {"code", code}, {"message", message}, {"source", source}};
}

namespace {

constexpr size_t kSegmentBytes = 256 * 1024;      // rotate so a flush never rewrites a big file
constexpr uint32_t kMaxRecordBytes = 1u << 30;     // sanity bound when reading a length header
constexpr size_t kHeaderBytes = 8;                 // [u32 length][u32 crc32], little-endian
const char* const kAuditPushedKey = "auditPushedCount";

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): a checksum against torn and corrupt
// records, not a security measure. Slicing-by-8 (eight bytes per step, 8 KiB of tables): every
// record byte is summed on write and again on open. zlib is not available in the wasm build.
uint32_t crc32(std::string_view bytes) {
  static const auto table = [] {
    std::array<std::array<uint32_t, 256>, 8> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint32_t lo = c ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    uint32_t hi = uint32_t(p[4]) | uint32_t(p[5]) << 8 | uint32_t(p[6]) << 16 | uint32_t(p[7]) << 24;
    c = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
        table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^ table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
  }
  for (; n > 0; ++p, --n) c = table[0][(c ^ *p) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint32_t getU32(std::string_view data, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<unsigned char>(data[pos + i])) << (8 * i);
  return v;
}

std::string segmentName(uint32_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "journal-%06u.log", n);
  return buf;
}
std::optional<uint32_t> segmentNumber(const std::string& name) {
  const std::string prefix = "journal-", suffix = ".log";
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(std::stoul(digits));
}

// A complete, checksummed record at `pos`, or nullopt.
std::optional<std::string_view> recordAt(std::string_view data, size_t pos) {
  if (data.size() - pos < kHeaderBytes) return std::nullopt;
  uint32_t len = getU32(data, pos), crc = getU32(data, pos + 4);
  if (len < 2 || len > kMaxRecordBytes || len > data.size() - pos - kHeaderBytes) return std::nullopt;
  std::string_view payload = data.substr(pos + kHeaderBytes, len);
  if (crc32(payload) != crc) return std::nullopt;
  return payload;
}

// Whether a valid record starts anywhere after a bad one. An interrupted append leaves nothing
// valid behind it; a valid record behind a bad one means the bad one was damaged after it was
// written. Payloads are JSON objects, which rejects almost every offset before the CRC.
bool validRecordAfter(std::string_view data, size_t badPos) {
  for (size_t q = badPos + 1; q + kHeaderBytes < data.size(); ++q) {
    uint32_t len = getU32(data, q);
    if (len < 2 || len > data.size() - q - kHeaderBytes) continue;
    if (data[q + kHeaderBytes] != '{' || data[q + kHeaderBytes + len - 1] != '}') continue;
    if (recordAt(data, q)) return true;
  }
  return false;
}

Error storageError(const std::string& message) { return Error(ErrorCode::Storage, message); }

std::optional<std::string> externalIdOf(const Json& entity) {
  auto it = entity.find("externalId");
  if (it != entity.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) return it->get<std::string>();
  return std::nullopt;
}
std::pair<std::string, std::string> unordered(const std::string& a, const std::string& b) {
  return a < b ? std::make_pair(a, b) : std::make_pair(b, a);
}

// What the audit log records for a newly created entity: every member but the bookkeeping ones,
// `data` only when it has fields (the applier's diff against nothing).
bool skippedInCreation(const std::string& key, const Json& value) {
  return key == "id" || key == "version" || key == "lastUpdated" || (key == "data" && (!value.is_object() || value.empty()));
}
Json creationChanges(const Json& entity) {
  Json changes = Json::object();
  if (!entity.is_object()) return changes;
  for (auto it = entity.begin(); it != entity.end(); ++it)
    if (!skippedInCreation(it.key(), *it)) changes[it.key()] = *it;
  return changes;
}
// Whether `changes` equals creationChanges(entity), without building it.
bool isCreationChanges(const Json& changes, const Json& entity) {
  if (!changes.is_object() || !entity.is_object()) return false;
  size_t expected = 0;
  for (auto it = entity.begin(); it != entity.end(); ++it) {
    if (skippedInCreation(it.key(), *it)) continue;
    ++expected;
    auto c = changes.find(it.key());
    if (c == changes.end() || *c != *it) return false;
  }
  return expected == changes.size();
}

// One journal record: the effect of a Transaction or of one outside-a-transaction operation.
// Commit and replay both go through decode-free apply() of the same Delta, so the state after a
// reopen is by construction the state before it.
struct Delta {
  bool clearEvents = false;
  bool clearEntities = false;
  std::vector<Event> events;
  std::vector<Digest> leaves;  // Merkle leaf of each event, filled by encode() or decode()
  std::vector<std::string> syncedGuids;
  int syncedLevel = LOCAL;
  std::vector<AuditEntry> audit;
  std::vector<std::string> deletes;
  // An entity new to the store gets initial = modified (its first committed state, docs/convergence.md);
  // an existing one keeps its initial. Deciding this at apply time keeps records small.
  struct Put {
    std::string guid;
    Json modified;
  };
  std::vector<Put> puts;
  std::vector<std::pair<std::string, std::string>> dupRemove;  // either orientation
  std::vector<std::pair<std::string, std::string>> dupAdd;
  std::vector<std::pair<std::string, Json>> state;  // null deletes the key
  std::vector<std::pair<std::string, RejectedEvent>> rejected;
  std::vector<std::string> unrejected;  // rejections withdrawn: the event applies now
  std::vector<std::string> entitiesSynced;

  bool empty() const {
    return !clearEvents && !clearEntities && events.empty() && syncedGuids.empty() && audit.empty() &&
           deletes.empty() && puts.empty() && dupRemove.empty() && dupAdd.empty() && state.empty() &&
           rejected.empty() && unrejected.empty() && entitiesSynced.empty();
  }

  // Journal record text. Hot parts (events, audit entries, entity puts) are written straight
  // into the record, each document serialised once; an event is its canonical JSON (which the
  // Merkle leaf hashes) plus its leaf digest "h" and syncLevel, so a replay neither re-serialises
  // nor re-hashes it. Fills `leaves`. Invalid UTF-8 throws: it could not be read back.
  std::string encode() {
    std::string out;
    out.reserve(1024 * (events.size() + puts.size() + audit.size()) + 64);
    out += '{';
    bool first = true;
    auto key = [&](const char* k) {
      if (!first) out += ',';
      first = false;
      out += '"';
      out += k;
      out += "\":";
    };
    auto str = [&](const std::string& v) {
      if (!appendJsonString(out, v)) throw storageError("cannot store text that is not valid UTF-8");
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
        if (put != putOf.end() && isCreationChanges(audit[i].changes, puts[put->second].modified)) {
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
    if (!j.empty()) {
      std::string rest = j.dump();
      if (!first) out += ',';
      out.append(rest, 1, rest.size() - 2);
    }
    out += '}';
    return out;
  }

  // Reads a record back, moving the documents out of the parsed tree. The record passed its
  // checksum, so events are taken as stored (no re-validation); older records without "h" get
  // their leaf computed.
  static Delta decode(Json&& j) {
    Delta d;
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
      entry.changes = ofPut != a.end() ? creationChanges(d.puts.at(ofPut->get<size_t>()).modified) : std::move(a.at("changes"));
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
    return d;
  }
};

}  // namespace

struct Store::Impl {
  std::shared_ptr<Storage> storage;
  uint32_t segment = 1;
  size_t segmentSize = 0;
  bool broken = false;  // a failed append could not be undone: refuse further writes
  // Write batch (Store::WriteBatch): framed records held back and appended in one write.
  int batchDepth = 0;
  std::string batchBytes;
  size_t batchStart = 0;  // segment size before the held-back records
  size_t recoveredTail = 0;

  std::vector<Event> events;
  std::unordered_map<std::string, size_t> eventIndex;
  std::map<EventKey, size_t> byKey;
  std::set<size_t> outbox;
  MerkleTree merkle;

  std::vector<AuditEntry> audit;
  std::unordered_set<std::string> auditGuids;
  std::unordered_map<std::string, std::vector<size_t>> auditByEntity;

  std::unordered_map<std::string, EntityPair> entities;
  std::unordered_map<std::string, std::set<std::string>> byExternalId;
  std::set<std::pair<std::string, std::string>> dups;
  DuplicateIndex dupIndex;

  std::map<std::string, Json> state;
  std::map<std::string, RejectedEvent> rejected;

  bool hasDuplicatePair(const std::string& a, const std::string& b) const {
    return dups.count({a, b}) || dups.count({b, a});
  }

  void unindexEntity(const std::string& guid, const Json& modified) {
    if (auto ext = externalIdOf(modified)) {
      auto it = byExternalId.find(*ext);
      if (it != byExternalId.end()) {
        it->second.erase(guid);
        if (it->second.empty()) byExternalId.erase(it);
      }
    }
  }

  // Applies a record to memory. Only container operations: it cannot fail half-way for a reason
  // other than running out of memory.
  void apply(Delta&& d) {
    if (d.clearEvents) {
      events.clear();
      eventIndex.clear();
      byKey.clear();
      outbox.clear();
      merkle.clear();
      audit.clear();
      auditGuids.clear();
      auditByEntity.clear();
      rejected.clear();
      for (auto it = state.begin(); it != state.end();) {
        it = it->first.rfind(kDeviceStatePrefix, 0) == 0 ? std::next(it) : state.erase(it);
      }
    }
    if (d.clearEntities) {
      entities.clear();
      byExternalId.clear();
      dups.clear();
      dupIndex.clear();
    }
    for (size_t k = 0; k < d.events.size(); ++k) {
      Event& e = d.events[k];
      if (eventIndex.count(e.guid)) continue;
      size_t i = events.size();
      merkle.append(k < d.leaves.size() ? d.leaves[k] : sha256(e.canonicalJson()));
      eventIndex.emplace(e.guid, i);
      byKey.emplace(keyOf(e), i);
      if (e.syncLevel == LOCAL) outbox.insert(i);
      events.push_back(std::move(e));
    }
    for (const auto& guid : d.syncedGuids) {
      auto it = eventIndex.find(guid);
      if (it == eventIndex.end()) continue;
      events[it->second].syncLevel = d.syncedLevel;
      if (d.syncedLevel == LOCAL) {
        outbox.insert(it->second);
      } else {
        outbox.erase(it->second);
      }
    }
    for (auto& a : d.audit) {
      if (!auditGuids.insert(a.guid).second) continue;
      auditByEntity[a.entityGuid].push_back(audit.size());
      audit.push_back(std::move(a));
    }
    for (const auto& guid : d.deletes) {
      auto it = entities.find(guid);
      if (it == entities.end()) continue;
      unindexEntity(guid, it->second.modified);
      entities.erase(it);
      dupIndex.remove(guid);
    }
    for (auto& p : d.puts) {
      auto it = entities.find(p.guid);
      if (it == entities.end()) {
        it = entities.emplace(p.guid, EntityPair{p.guid, Json(), Json()}).first;  // initial: same as modified
      } else {
        unindexEntity(p.guid, it->second.modified);
        // The first change since creation or confirmation: the old state becomes `initial`.
        if (it->second.initial.is_null()) it->second.initial = std::move(it->second.modified);
      }
      it->second.modified = std::move(p.modified);
      if (auto ext = externalIdOf(it->second.modified)) byExternalId[*ext].insert(p.guid);
      dupIndex.upsert(p.guid, entity::dataOf(it->second.modified));
    }
    for (const auto& [a, b] : d.dupRemove) {
      dups.erase({a, b});
      dups.erase({b, a});
    }
    for (auto& pr : d.dupAdd) {
      if (!hasDuplicatePair(pr.first, pr.second)) dups.insert(std::move(pr));
    }
    for (auto& [k, v] : d.state) {
      if (v.is_null()) {
        state.erase(k);
      } else {
        state[k] = std::move(v);
      }
    }
    for (auto& [guid, r] : d.rejected) rejected[guid] = std::move(r);
    for (const auto& guid : d.unrejected) rejected.erase(guid);
    for (const auto& guid : d.entitiesSynced) {
      auto it = entities.find(guid);
      if (it != entities.end()) it->second.initial = Json();  // same as modified, held once
    }
  }

  // Appends one record to the journal. On failure the journal is put back to its previous
  // length, so a later record never lands behind a half-written one.
  void write(Delta& d) {
    if (broken) throw storageError("the store's journal could not be repaired after a failed write; reopen the store");
    std::string payload;
    try {
      payload = d.encode();
    } catch (const Json::exception& e) {
      throw storageError(std::string("cannot store the change: ") + e.what());  // e.g. invalid UTF-8
    }
    if (payload.size() > kMaxRecordBytes) throw storageError("transaction too large to store");
    std::string record;
    record.reserve(kHeaderBytes + payload.size());
    putU32(record, static_cast<uint32_t>(payload.size()));
    putU32(record, crc32(payload));
    record += payload;
    if (segmentSize >= kSegmentBytes) {
      drainBatch();  // a segment is complete before the next one starts
      ++segment;
      segmentSize = 0;
    }
    if (batchDepth > 0) {
      if (batchBytes.empty()) batchStart = segmentSize;
      batchBytes += record;
      segmentSize += record.size();
      return;
    }
    std::string name = segmentName(segment);
    try {
      storage->append(name, record);
    } catch (const std::exception& e) {
      undoPartialAppend(name);
      throw storageError(std::string("cannot write to the store: ") + e.what());
    }
    segmentSize += record.size();
  }

  // Appends the records a write batch has held back. They are already applied in memory, so a
  // failure cannot be undone there: the journal is cut back to before them and the store refuses
  // further writes until reopened (which reloads what is on disk).
  void drainBatch() {
    if (batchBytes.empty()) return;
    std::string name = segmentName(segment);
    std::string bytes = std::move(batchBytes);
    batchBytes.clear();
    try {
      storage->append(name, bytes);
    } catch (const std::exception& e) {
      segmentSize = batchStart;
      undoPartialAppend(name);
      broken = true;
      throw storageError(std::string("cannot write to the store: ") + e.what() + "; reopen the store");
    }
  }

  void undoPartialAppend(const std::string& name) noexcept {
    try {
      storage->truncate(name, segmentSize);
      return;
    } catch (...) {
    }
    try {
      auto current = storage->read(name);  // absent or untouched files need no repair
      if (!current || current->size() == segmentSize) return;
    } catch (...) {
    }
    broken = true;
  }

  void commit(Delta&& d) {
    if (d.empty()) return;
    write(d);
    apply(std::move(d));
  }

  void replay() {
    std::vector<std::pair<uint32_t, std::string>> segments;
    for (const auto& name : storage->list()) {
      if (auto n = segmentNumber(name)) segments.emplace_back(*n, name);
    }
    std::sort(segments.begin(), segments.end());
    for (size_t i = 1; i < segments.size(); ++i) {
      if (segments[i].first != segments[i - 1].first + 1) {
        throw storageError("the store is damaged: journal segment " + segmentName(segments[i - 1].first + 1) +
                           " is missing");
      }
    }
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string& name = segments[i].second;
      auto data = storage->read(name);
      if (!data) throw storageError("cannot read journal segment " + name);
      std::string_view bytes = *data;
      size_t pos = 0;
      while (pos < bytes.size()) {
        auto payload = recordAt(bytes, pos);
        if (!payload) break;
        try {
          apply(Delta::decode(Json::parse(*payload)));
        } catch (const std::exception& e) {
          // The checksum matched, so this is not a torn write; dropping it would lose data silently.
          throw storageError("the store is damaged: record at byte " + std::to_string(pos) + " of " + name +
                             " cannot be read (" + e.what() + ")");
        }
        pos += kHeaderBytes + payload->size();
      }
      bool last = i + 1 == segments.size();
      if (pos < bytes.size()) {
        if (!last || validRecordAfter(bytes, pos)) {
          throw storageError("the store is damaged: journal segment " + name + " is corrupt at byte " +
                             std::to_string(pos) + " and complete records follow it");
        }
        storage->truncate(name, pos);  // torn tail of an interrupted append
        recoveredTail = bytes.size() - pos;
      }
      if (last) {
        segment = segments[i].first;
        segmentSize = pos;
      }
    }
  }
};

Store::Store() : impl_(std::make_unique<Impl>()) {}
Store::~Store() = default;

std::shared_ptr<Store> Store::open(std::shared_ptr<Storage> storage) {
  auto store = std::make_shared<Store>();
  store->impl_->storage = std::move(storage);
  try {
    store->impl_->replay();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw storageError(std::string("cannot open the store: ") + e.what());
  }
  return store;
}

const std::vector<Event>& Store::events() const { return impl_->events; }
const Event* Store::findEvent(const std::string& guid) const {
  auto it = impl_->eventIndex.find(guid);
  return it == impl_->eventIndex.end() ? nullptr : &impl_->events[it->second];
}
const std::vector<AuditEntry>& Store::auditLog() const { return impl_->audit; }
const EntityPair* Store::findEntity(const std::string& guid) const {
  auto it = impl_->entities.find(guid);
  return it == impl_->entities.end() ? nullptr : &it->second;
}
const std::unordered_map<std::string, EntityPair>& Store::entities() const { return impl_->entities; }
const std::set<std::pair<std::string, std::string>>& Store::potentialDuplicates() const { return impl_->dups; }
const DuplicateIndex& Store::duplicateIndex() const { return impl_->dupIndex; }
std::optional<Json> Store::state(const std::string& key) const {
  auto it = impl_->state.find(key);
  if (it == impl_->state.end()) return std::nullopt;
  return it->second;
}
const std::map<std::string, RejectedEvent>& Store::rejectedEvents() const { return impl_->rejected; }
const MerkleTree& Store::merkle() const { return impl_->merkle; }
size_t Store::merkleIndexOf(const std::string& eventGuid) const {
  return impl_->eventIndex.at(eventGuid);  // leaf i is events()[i]: the tree follows application order
}
EventKey Store::maxAppliedKey() const {
  return impl_->byKey.empty() ? EventKey{} : impl_->byKey.rbegin()->first;
}
size_t Store::auditPushedCount() const {
  auto v = state(kAuditPushedKey);
  return v && v->is_number_unsigned() ? v->get<size_t>() : 0;
}
const std::map<EventKey, size_t>& Store::eventsByKey() const { return impl_->byKey; }
const std::set<size_t>& Store::outbox() const { return impl_->outbox; }
bool Store::hasAudit(const std::string& auditGuid) const { return impl_->auditGuids.count(auditGuid) > 0; }
std::vector<const AuditEntry*> Store::auditOfEntity(const std::string& entityGuid) const {
  std::vector<const AuditEntry*> out;
  auto it = impl_->auditByEntity.find(entityGuid);
  if (it != impl_->auditByEntity.end()) {
    for (size_t i : it->second) out.push_back(&impl_->audit[i]);
  }
  return out;
}
const EntityPair* Store::findEntityByExternalId(const std::string& externalId) const {
  auto it = impl_->byExternalId.find(externalId);
  return it == impl_->byExternalId.end() ? nullptr : findEntity(*it->second.begin());
}
size_t Store::recoveredTailBytes() const { return impl_->recoveredTail; }

Storage& Store::storage() { return *impl_->storage; }
void Store::flush(FlushCallback done) {
  if (impl_->batchDepth == 0) {
    try {
      impl_->drainBatch();
    } catch (const Error& e) {
      return done(e);
    }
  }
  impl_->storage->flush(std::move(done));
}

Store::WriteBatch::WriteBatch(Store& store) : store_(store) { ++store_.impl_->batchDepth; }
Store::WriteBatch::~WriteBatch() {
  if (!finished_) {
    try {
      finish();
    } catch (...) {  // already reported by finish() when it is called; the store is marked broken
    }
  }
}
void Store::WriteBatch::finish() {
  if (finished_) return;
  finished_ = true;
  if (--store_.impl_->batchDepth == 0) store_.impl_->drainBatch();
}

void Store::markEventsSynced(const std::vector<std::string>& guids, int level) {
  Delta d;
  d.syncedLevel = level;
  for (const auto& g : guids) {
    const Event* e = findEvent(g);
    if (e && e->syncLevel != level) d.syncedGuids.push_back(g);
  }
  impl_->commit(std::move(d));
}

void Store::markEntitiesSynced(const std::vector<std::string>& guids) {
  Delta d;
  for (const auto& g : guids) {
    const EntityPair* p = findEntity(g);
    if (p && !p->initial.is_null() && p->initial != p->modified) d.entitiesSynced.push_back(g);
  }
  impl_->commit(std::move(d));
}

void Store::setAuditPushedCount(size_t n) {
  Delta d;
  d.state.emplace_back(kAuditPushedKey, n);
  impl_->commit(std::move(d));
}

void Store::clearEvents() {
  Delta d;
  d.clearEvents = true;
  impl_->commit(std::move(d));
}

void Store::clearEntities() {
  Delta d;
  d.clearEntities = true;
  impl_->commit(std::move(d));
}

// ---------------------------------------------------------------------------------------------

struct Transaction::Impl {
  Store::Impl& store;
  bool rebuild = false;
  std::unordered_map<std::string, std::optional<Json>> entities;  // nullopt: deleted
  std::vector<std::string> touched;
  std::unordered_set<std::string> touchedSet;
  std::vector<Event> events;
  std::unordered_set<std::string> eventGuids;
  std::vector<AuditEntry> audit;
  // Keyed by the unordered pair; value = orientation to store, nullopt = remove.
  std::map<std::pair<std::string, std::string>, std::optional<std::pair<std::string, std::string>>> dups;
  std::map<std::string, Json> state;
  std::map<std::string, std::optional<RejectedEvent>> rejected;  // nullopt: withdraw the rejection

  explicit Impl(Store::Impl& s) : store(s) {}

  void touch(const std::string& guid) {
    if (touchedSet.insert(guid).second) touched.push_back(guid);
  }

  // The staged result expressed as differences from the committed store. Moves the staged
  // documents out: reset() follows.
  Delta takeDelta() {
    Delta d;
    d.events = std::move(events);
    d.audit = std::move(audit);
    for (auto& [k, v] : state) d.state.emplace_back(k, std::move(v));
    for (auto& [g, r] : rejected) {
      if (r) d.rejected.emplace_back(g, std::move(*r));
      else if (store.rejected.count(g)) d.unrejected.push_back(g);
    }

    std::vector<std::string> guids = touched;
    if (rebuild) {
      // Everything not re-put during the rebuild is gone; sorted for a deterministic record.
      std::vector<std::string> dropped;
      for (const auto& [g, _] : store.entities) {
        if (!entities.count(g)) dropped.push_back(g);
      }
      std::sort(dropped.begin(), dropped.end());
      d.deletes = std::move(dropped);
    }
    for (const auto& g : guids) {
      auto staged = entities.find(g);
      if (staged == entities.end()) continue;  // touched before beginRebuild() and not since
      auto base = store.entities.find(g);
      if (!staged->second) {
        if (base != store.entities.end()) d.deletes.push_back(g);
      } else if (base == store.entities.end() || base->second.modified != *staged->second) {
        d.puts.push_back({g, std::move(*staged->second)});
      }
    }

    for (const auto& [key, v] : dups) {
      bool inBase = store.hasDuplicatePair(key.first, key.second);
      if (v && !inBase) d.dupAdd.push_back(*v);
      if (!v && inBase) d.dupRemove.push_back(key);
    }
    if (rebuild) {
      for (const auto& pr : store.dups) {
        auto it = dups.find(unordered(pr.first, pr.second));
        if (it == dups.end()) d.dupRemove.push_back(pr);  // staged removals were handled above
      }
    }
    return d;
  }

  void reset() {
    rebuild = false;
    entities.clear();
    touched.clear();
    touchedSet.clear();
    events.clear();
    eventGuids.clear();
    audit.clear();
    dups.clear();
    state.clear();
    rejected.clear();
  }
};

Transaction::Transaction(Store& store) : impl_(std::make_unique<Impl>(*store.impl_)) {}
Transaction::~Transaction() = default;

std::optional<Json> Transaction::getEntity(const std::string& guid) const {
  auto it = impl_->entities.find(guid);
  if (it != impl_->entities.end()) return it->second;
  if (impl_->rebuild) return std::nullopt;
  auto base = impl_->store.entities.find(guid);
  if (base == impl_->store.entities.end()) return std::nullopt;
  return base->second.modified;
}

void Transaction::putEntity(const Json& entity) { putEntity(Json(entity)); }

void Transaction::putEntity(Json&& entity) {
  auto it = entity.find("guid");
  if (it == entity.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw std::invalid_argument("putEntity: entity has no guid");
  }
  const std::string guid = it->get_ref<const std::string&>();
  impl_->touch(guid);
  impl_->entities[guid] = std::move(entity);
}

void Transaction::deleteEntity(const std::string& guid) {
  impl_->touch(guid);
  impl_->entities[guid] = std::nullopt;
}

bool Transaction::hasEvent(const std::string& guid) const {
  return impl_->eventGuids.count(guid) || impl_->store.eventIndex.count(guid);
}

void Transaction::addEvent(const Event& event) { addEvent(Event(event)); }

void Transaction::addEvent(Event&& event) {
  if (hasEvent(event.guid)) return;  // a repeated guid is a no-op
  impl_->eventGuids.insert(event.guid);
  impl_->events.push_back(std::move(event));
}

void Transaction::addAudit(const AuditEntry& entry) { impl_->audit.push_back(entry); }
void Transaction::addAudit(AuditEntry&& entry) { impl_->audit.push_back(std::move(entry)); }

void Transaction::addPotentialDuplicate(const std::string& entityGuid, const std::string& duplicateGuid) {
  if (entityGuid == duplicateGuid) return;
  auto& staged = impl_->dups[unordered(entityGuid, duplicateGuid)];
  if (!staged) staged = std::make_pair(entityGuid, duplicateGuid);  // like the store: first orientation wins
}

void Transaction::removePotentialDuplicate(const std::string& a, const std::string& b) {
  impl_->dups[unordered(a, b)] = std::nullopt;
}

void Transaction::removeDuplicatesOf(const std::string& guid) {
  if (!impl_->rebuild) {
    for (const auto& [a, b] : impl_->store.dups) {
      if (a == guid || b == guid) impl_->dups[unordered(a, b)] = std::nullopt;
    }
  }
  for (auto& [key, v] : impl_->dups) {
    if (key.first == guid || key.second == guid) v = std::nullopt;
  }
}

void Transaction::setState(const std::string& key, const Json& value) { impl_->state[key] = value; }

void Transaction::addRejected(const std::string& eventGuid, const RejectedEvent& rejected) {
  impl_->rejected[eventGuid] = rejected;
}

void Transaction::removeRejected(const std::string& eventGuid) { impl_->rejected[eventGuid] = std::nullopt; }

void Transaction::beginRebuild() {
  impl_->rebuild = true;
  impl_->entities.clear();
  impl_->dups.clear();
}

const std::vector<std::string>& Transaction::touchedEntities() const { return impl_->touched; }

void Transaction::commit() {
  Delta d = impl_->takeDelta();
  impl_->reset();
  impl_->store.commit(std::move(d));
}

}  // namespace dc
