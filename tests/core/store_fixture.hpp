#pragma once
// Shared by the store suites: temp directories, storage back-ends that can be reopened, an opened
// store with its API views, and small builders for events, entities and audit entries. The store
// suites drive Transaction directly so they do not depend on the event applier.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/entity_store.hpp"
#include "core/event_store.hpp"
#include "core/storage.hpp"
#include "core/store.hpp"
#include "core/timestamp.hpp"

namespace storetest {

using dc::Json;

// A fresh directory under $TMPDIR (or /tmp), removed with its files on destruction.
struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/dc-store-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path = buf.data();
  }
  ~TempDir() {
    try {
      auto storage = dc::openDirectoryStorage(path);
      for (const auto& name : storage->list()) storage->remove(name);
      ::rmdir(path.c_str());
    } catch (...) {  // leave the directory behind rather than abort a test run
    }
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
inline size_t fileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
}

// Back-ends for the shared behaviour suite. reopen() gives storage over the same files, as a
// restarted process would see them.
struct MemoryBackend {
  static constexpr const char* name = "memory";
  std::shared_ptr<dc::Storage> storage = dc::openMemoryStorage();
  std::shared_ptr<dc::Storage> reopen() { return storage; }
};
struct DirectoryBackend {
  static constexpr const char* name = "directory";
  TempDir dir;
  std::shared_ptr<dc::Storage> storage = dc::openDirectoryStorage(dir.path);
  std::shared_ptr<dc::Storage> reopen() { return storage = dc::openDirectoryStorage(dir.path); }
};

struct Opened {
  std::shared_ptr<dc::Store> store;
  dc::EventStore events;
  dc::EntityStore entities;
  explicit Opened(std::shared_ptr<dc::Storage> storage)
      : store(dc::Store::open(std::move(storage))), events(store), entities(store) {}
};

inline std::string ts(int second, int ms = 0) {
  return dc::formatTimestamp(*dc::parseTimestamp("2024-05-01T10:00:00.000Z") + second * 1000 + ms);
}

inline dc::Event makeEvent(const std::string& guid, const std::string& timestamp, const std::string& entityGuid = "e1",
                           Json data = Json{{"name", "x"}}) {
  return dc::Event::fromJson(Json{{"guid", guid}, {"entityGuid", entityGuid}, {"type", "create-individual"},
                                  {"data", std::move(data)}, {"timestamp", timestamp}, {"userId", "user-1"}});
}

inline Json individual(const std::string& guid, Json data, const std::string& lastUpdated, int version = 1) {
  Json e = dc::entity::makeNew(guid, dc::entity::kIndividual);
  if (data.contains("name")) e["name"] = data["name"];
  if (data.contains("externalId")) e["externalId"] = data["externalId"];
  e["data"] = std::move(data);
  e["version"] = version;
  e["lastUpdated"] = lastUpdated;
  return e;
}

inline dc::AuditEntry audit(const std::string& guid, const dc::Event& cause) {
  dc::AuditEntry a;
  a.guid = guid;
  a.timestamp = cause.timestamp;
  a.userId = cause.userId;
  a.action = cause.type;
  a.eventGuid = cause.guid;
  a.entityGuid = cause.entityGuid;
  a.changes = cause.data;
  return a;
}

// What the applier does for a simple upsert: event + entity + audit entry, one record.
inline void applyUpsert(dc::Store& store, const dc::Event& e, int version = 1) {
  dc::Transaction tx(store);
  tx.addEvent(e);
  tx.putEntity(individual(e.entityGuid, e.data.value(), e.timestamp, version));
  tx.addAudit(audit("audit-" + e.guid, e));
  tx.commit();
}

// Everything a store holds, as one JSON document: two stores hold the same data iff equal.
inline Json snapshot(const dc::Store& s) {
  Json j = Json::object();
  for (const auto& e : s.events()) j["events"].push_back(e.toJson());
  for (const auto& a : s.auditLog()) j["audit"].push_back(a.toJson());
  std::map<std::string, Json> entities;
  for (const auto& [g, p] : s.entities()) entities[g] = p.toJson();
  j["entities"] = entities;
  j["duplicates"] = s.potentialDuplicates();
  for (const auto& [g, r] : s.rejectedEvents()) j["rejected"][g] = r.toJson();
  j["merkleRoot"] = s.merkle().rootHex();
  j["outbox"] = s.outbox();
  return j;
}

// Counts platform flushes; completes them at once, or later when `manual` is set.
struct FlushProbe {
  int calls = 0;
  int inFlight = 0;
  int maxInFlight = 0;
  bool manual = false;
  std::optional<dc::Error> failWith;
  std::vector<std::vector<std::string>> dirtyLists;
  std::vector<dc::FlushCallback> waiting;

  dc::PlatformFlush hook() {
    return [this](const std::vector<std::string>& dirty, dc::FlushCallback done) {
      ++calls;
      dirtyLists.push_back(dirty);
      ++inFlight;
      maxInFlight = std::max(maxInFlight, inFlight);
      waiting.push_back(std::move(done));
      if (!manual) completeOne();
    };
  }
  void completeOne() {
    auto done = std::move(waiting.front());
    waiting.erase(waiting.begin());
    --inFlight;
    done(failWith);
  }
};

// Wraps a Storage; append can be made to fail, optionally after writing half of the bytes (what a
// full disk does).
struct FailingStorage : dc::Storage {
  std::shared_ptr<dc::Storage> inner;
  bool failAppend = false;
  bool writeHalfFirst = false;
  size_t appends = 0;        // successful append calls
  size_t appendedBytes = 0;
  explicit FailingStorage(std::shared_ptr<dc::Storage> s) : inner(std::move(s)) {}
  std::vector<std::string> list() override { return inner->list(); }
  std::optional<std::string> read(const std::string& n) override { return inner->read(n); }
  void append(const std::string& n, std::string_view bytes) override {
    if (failAppend) {
      if (writeHalfFirst) inner->append(n, bytes.substr(0, bytes.size() / 2));
      throw std::runtime_error("simulated: no space left on device");
    }
    inner->append(n, bytes);
    ++appends;
    appendedBytes += bytes.size();
  }
  void replace(const std::string& n, std::string_view bytes) override { inner->replace(n, bytes); }
  void truncate(const std::string& n, size_t size) override { inner->truncate(n, size); }
  void remove(const std::string& n) override { inner->remove(n); }
  void flush(dc::FlushCallback done) override { inner->flush(std::move(done)); }
  bool flushPending() const override { return inner->flushPending(); }
};

}  // namespace storetest
