#pragma once
// Shared by the applier/search/duplicate suites: an in-memory store with the API views and an
// EventApplierService, plus helpers to build forms with distinct guids and increasing timestamps.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/entity_store.hpp"
#include "core/error.hpp"
#include "core/event_applier.hpp"
#include "core/event_store.hpp"
#include "core/store.hpp"
#include "core/storage.hpp"
#include "core/timestamp.hpp"

namespace dctest {

using dc::Json;

struct Engine {
  std::shared_ptr<dc::Storage> storage = dc::openMemoryStorage();  // kept so a test can reopen the journal
  std::shared_ptr<dc::Store> store = dc::Store::open(storage);
  dc::EventStore events{store};
  dc::EntityStore entities{store};
  dc::EventApplierService service{events, entities};
  int seq = 0;
  int64_t clockMs = *dc::parseTimestamp("2024-05-01T10:00:00.000Z");

  // A valid form; guid "ev-<n>" and a timestamp one second after the previous form's.
  Json form(const std::string& type, const std::string& entityGuid, const Json& data) {
    ++seq;
    clockMs += 1000;
    return Json{{"guid", "ev-" + std::to_string(seq)}, {"entityGuid", entityGuid}, {"type", type},
                {"data", data}, {"timestamp", dc::formatTimestamp(clockMs)}, {"userId", "user-1"}};
  }
  std::optional<Json> submit(const std::string& type, const std::string& entityGuid, const Json& data) {
    return service.submitForm(form(type, entityGuid, data));
  }
  // Current (`modified`) state; fails the test when absent.
  Json entity(const std::string& guid) const {
    auto p = entities.getEntity(guid);
    if (!p) throw std::runtime_error("no entity " + guid);
    return p->modified;
  }
  bool exists(const std::string& guid) const { return entities.getEntity(guid).has_value(); }
  // Every entity's current state, one JSON document: replicas must agree byte for byte.
  std::string dumpEntities() const {
    Json all = Json::object();
    for (const auto& p : entities.getAllEntities()) all[p.guid] = p.modified;
    return all.dump();
  }
};

// Runs fn and returns the dc::Error it throws (test fails if it throws nothing or something else).
inline dc::Error errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const dc::Error& e) {
    return e;
  }
  throw std::runtime_error("expected a dc::Error");
}

inline Json member(const std::string& guid, const std::string& name, const char* type = "individual") {
  return Json{{"guid", guid}, {"name", name}, {"type", type}};
}

}  // namespace dctest
