#include "core/snapshot.hpp"

#include <algorithm>
#include <cstdio>

#include "core/error.hpp"
#include "core/journal.hpp"
#include "core/record.hpp"

namespace dc::snapshot {
namespace {
constexpr size_t kPartBytes = 256 * 1024;  // like journal segments: no big file for IDBFS to rewrite
constexpr size_t kItemsPerRecord = 256;

std::optional<uint32_t> digitsAt(const std::string& s, size_t pos, size_t n) {
  if (s.size() < pos + n) return std::nullopt;
  uint32_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(s[i] - '0');
  }
  return v;
}
}  // namespace

std::string manifestName(uint32_t segment) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "snapshot-%06u.manifest", segment);
  return buf;
}
std::string partName(uint32_t segment, uint32_t part) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "snapshot-%06u-%04u.part", segment, part);
  return buf;
}
std::optional<uint32_t> manifestSegment(const std::string& name) {
  if (name.size() != 24 || name.rfind("snapshot-", 0) != 0 || name.compare(15, 9, ".manifest") != 0) return std::nullopt;
  return digitsAt(name, 9, 6);
}
std::optional<uint32_t> partSegment(const std::string& name) {
  if (name.size() != 25 || name.rfind("snapshot-", 0) != 0 || name[15] != '-' || name.compare(20, 5, ".part") != 0 ||
      !digitsAt(name, 16, 4))
    return std::nullopt;
  return digitsAt(name, 9, 6);
}

size_t write(Storage& storage, const StoreState& st, uint32_t segment) {
  Json parts = Json::array();
  std::string buffer;
  size_t total = 0;
  auto flushPart = [&] {
    if (buffer.empty()) return;
    std::string name = partName(segment, static_cast<uint32_t>(parts.size() + 1));
    storage.replace(name, buffer);
    parts.push_back({{"name", name}, {"bytes", buffer.size()}, {"crc", journal::crc32(buffer)}});
    total += buffer.size();
    buffer.clear();
  };
  auto emit = [&](Record&& r) {
    if (r.empty()) return;
    buffer += journal::frame(r.encode());
    if (buffer.size() >= kPartBytes) flushPart();
  };

  // The event log in application order (the Merkle tree follows it), with each event's refs.
  for (size_t i = 0; i < st.events.size();) {
    Record r;
    for (size_t k = 0; k < kItemsPerRecord && i < st.events.size(); ++k, ++i) {
      const Event& e = st.events[i];
      r.events.push_back(e);
      auto refs = st.refsOfEvent.find(e.guid);
      if (refs != st.refsOfEvent.end() && !refs->second.empty()) r.refs.emplace_back(e.guid, refs->second);
    }
    emit(std::move(r));
  }
  for (size_t i = 0; i < st.audit.size();) {
    Record r;
    for (size_t k = 0; k < kItemsPerRecord && i < st.audit.size(); ++k, ++i) r.audit.push_back(st.audit[i]);
    emit(std::move(r));
  }
  // Entities, sorted for a deterministic snapshot. A changed entity is put twice: its `initial`
  // first (creating it), then `modified` (which makes the first the initial).
  std::vector<const EntityPair*> entities;
  entities.reserve(st.entities.size());
  for (const auto& [_, p] : st.entities) entities.push_back(&p);
  std::sort(entities.begin(), entities.end(), [](const EntityPair* a, const EntityPair* b) { return a->guid < b->guid; });
  for (size_t i = 0; i < entities.size();) {
    Record r;
    for (size_t k = 0; k < kItemsPerRecord && i < entities.size(); ++k, ++i) {
      const EntityPair& p = *entities[i];
      if (!p.initial.is_null()) r.puts.push_back({p.guid, p.initial});
      r.puts.push_back({p.guid, p.modified});
    }
    emit(std::move(r));
  }
  Record rest;
  for (const auto& pr : st.dups) rest.dupAdd.push_back(pr);
  for (const auto& [k, v] : st.state) rest.state.emplace_back(k, v);
  for (const auto& [g, r] : st.rejected) rest.rejected.emplace_back(g, r);
  rest.everFlagged.assign(st.everFlagged.begin(), st.everFlagged.end());
  std::sort(rest.everFlagged.begin(), rest.everFlagged.end());
  rest.pastData = st.pastDataList;
  emit(std::move(rest));
  flushPart();

  Json manifest = {{"v", kRecordFormatVersion}, {"segment", segment}, {"parts", parts}};
  std::string bytes = journal::frame(manifest.dump());
  storage.replace(manifestName(segment), bytes);
  return total + bytes.size();
}

bool load(Storage& storage, const std::string& manifestFile, StoreState& st, std::string& why) {
  auto data = storage.read(manifestFile);
  if (!data) {
    why = "missing";
    return false;
  }
  auto payload = journal::recordAt(*data, 0);
  if (!payload || journal::kHeaderBytes + payload->size() != data->size()) {
    why = "torn or damaged manifest";
    return false;
  }
  std::vector<std::string> parts;
  try {
    Json m = Json::parse(*payload);
    if (m.value("v", 0) > kRecordFormatVersion) throw Error(ErrorCode::Storage, "the snapshot " + manifestFile + " is of a newer format");
    for (const auto& p : m.at("parts")) {
      auto bytes = storage.read(p.at("name").get<std::string>());
      if (!bytes || bytes->size() != p.at("bytes").get<size_t>() || journal::crc32(*bytes) != p.at("crc").get<uint32_t>()) {
        why = "part " + p.at("name").get<std::string>() + " is missing, torn or damaged";
        return false;
      }
      parts.push_back(std::move(*bytes));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    why = std::string("unreadable manifest: ") + e.what();
    return false;
  }
  // Every byte is checksummed: a record that does not decode now is a bug or real damage.
  StoreState loaded;
  for (const auto& part : parts) {
    size_t pos = 0;
    while (pos < part.size()) {
      auto rec = journal::recordAt(part, pos);
      if (!rec) throw Error(ErrorCode::Storage, "the store is damaged: snapshot part of " + manifestFile + " is corrupt");
      try {
        loaded.apply(Record::decode(Json::parse(*rec)));
      } catch (const std::exception& e) {
        throw Error(ErrorCode::Storage, "the store is damaged: a record of snapshot " + manifestFile + " cannot be read (" + e.what() + ")");
      }
      pos += journal::kHeaderBytes + rec->size();
    }
  }
  st = std::move(loaded);
  return true;
}

}  // namespace dc::snapshot
