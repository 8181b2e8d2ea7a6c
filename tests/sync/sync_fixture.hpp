#pragma once
// A client replica (store + applier + sync manager over a FakeTransport) and helpers that run
// the event loop until an operation completes.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "core/timestamp.hpp"
#include "fake_server.hpp"
#include "sync/sync_manager.hpp"

namespace dc::test {

struct Outcome {
  bool done = false;
  std::optional<Error> error;
  Json result;
  std::string code() const { return error ? error->codeName() : "OK"; }
};

inline SyncCallback capture(Outcome& out) {
  return [&out](std::optional<Error> e, Json r) {
    out.done = true;
    out.error = std::move(e);
    out.result = std::move(r);
  };
}

struct Client {
  FakeClock& clock;
  std::string userId;
  std::shared_ptr<Store> store;
  EventStore events;
  EntityStore entities;
  EventApplierService applier;
  FakeTransport transport;
  std::unique_ptr<InternalSyncManager> sync;
  int counter = 0;

  Client(FakeServer& server, FakeClock& clk, std::string user, SyncOptions opts = fastOptions(),
         std::string configId = "default")
      : clock(clk),
        userId(std::move(user)),
        store(Store::open(openMemoryStorage())),
        events(store),
        entities(store),
        applier(events, entities),
        transport(server, clk) {
    sync = std::make_unique<InternalSyncManager>(events, entities, applier, server.baseUrl, server.issueToken(userId),
                                                 configId, transport, clock, opts);
  }

  // Backoff and timeouts are virtual, but keep them small so simulated time stays readable.
  static SyncOptions fastOptions() {
    SyncOptions o;
    o.backoffBaseMs = 100;
    o.requestTimeoutMs = 2000;
    return o;
  }

  std::string newGuid(const char* what = "e") { return userId + "-" + what + "-" + std::to_string(++counter); }

  // Submits a form with a fresh guid and an HLC timestamp; returns the event guid.
  std::string submit(const std::string& type, const std::string& entityGuid, Json data,
                     std::optional<std::string> timestamp = std::nullopt) {
    std::string guid = newGuid();
    Json form{{"guid", guid},
              {"entityGuid", entityGuid},
              {"type", type},
              {"data", std::move(data)},
              {"timestamp", timestamp ? *timestamp : applier.nextLocalTimestamp(clock.nowMs())},
              {"userId", userId}};
    applier.submitForm(form);
    return guid;
  }

  Outcome run(void (InternalSyncManager::*op)(SyncCallback)) {
    Outcome out;
    ((*sync).*op)(capture(out));
    clock.runUntilIdle();
    return out;
  }
  Outcome syncNow() { return run(&InternalSyncManager::sync); }
  Outcome pushNow() { return run(&InternalSyncManager::pushToRemote); }
  Outcome pullNow() { return run(&InternalSyncManager::pullFromRemote); }

  size_t countEvent(const std::string& guid) const {
    size_t n = 0;
    for (const auto& e : events.getAllEvents()) n += e.guid == guid;
    return n;
  }
};

// Every entity's current document, sorted by guid, as one comparable string.
inline std::string entitiesSnapshot(const Client& c) {
  Json all = Json::array();
  for (const auto& pair : c.entities.getAllEntities()) all.push_back(pair.modified);
  return all.dump();
}

inline std::vector<std::string> eventGuids(const Client& c) {
  std::vector<std::string> guids;
  for (const auto& e : c.events.getAllEvents()) guids.push_back(e.guid);
  std::sort(guids.begin(), guids.end());
  return guids;
}

inline size_t countOnServer(FakeServer& server, const std::string& guid) {
  size_t n = 0;
  for (const auto& e : server.events()) n += e.value("guid", "") == guid;
  return n;
}

}  // namespace dc::test
