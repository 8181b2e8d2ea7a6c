#pragma once
// Data model (types in js/index.d.ts): events (FormSubmission), entities (EntityDoc), pairs, audit entries,
// potential duplicates. Entities stay JSON documents because custom appliers shape them freely.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace dc {

enum SyncLevel : int { LOCAL = 0, REMOTE = 1, EXTERNAL = 2 };

struct Event {
  std::string guid;
  std::string entityGuid;
  std::string type;
  // Immutable once stored: the store keeps it compact (text) and parses it where it is read.
  FrozenJson data;
  std::string timestamp;  // normalised "YYYY-MM-DDTHH:MM:SS.mmmZ"
  int64_t timeMs = 0;     // parsed timestamp, for ordering
  std::string userId;
  int syncLevel = LOCAL;

  // Wire/API shape {guid, entityGuid, type, data, timestamp, userId, syncLevel}.
  Json toJson() const;
  // The same document written as JSON text onto `out` (no copy of `data`). Throws
  // Json::type_error on invalid UTF-8.
  void appendJson(std::string& out) const;
  // Canonical form hashed by the Merkle tree: keys sorted, local-only fields (syncLevel) left out.
  // Invalid UTF-8 becomes U+FFFD, or throws Json::type_error with strictUtf8 (for storing).
  std::string canonicalJson(bool strictUtf8 = false) const;
  // Validates as the original does (order and messages exact) and normalises the timestamp.
  // Throws dc::Error(INVALID_FORM, ...). syncLevel defaults to LOCAL when absent.
  static Event fromJson(const Json& form);
  static Event fromJson(Json&& form);  // the same; `data` is moved out once the form is valid

 private:
  static Event fromForm(const Json& form, Json* owned);

 public:
};

// Total order (docs/convergence.md, 'Event order'): (timestamp, guid).
struct EventKey {
  int64_t timeMs = 0;
  std::string guid;
  // Spelled out: Emscripten 3.1.6's libc++ has no operator<=> for std::string, so a defaulted
  // <=> is deleted there.
  friend bool operator==(const EventKey& a, const EventKey& b) { return a.timeMs == b.timeMs && a.guid == b.guid; }
  friend bool operator!=(const EventKey& a, const EventKey& b) { return !(a == b); }
  friend bool operator<(const EventKey& a, const EventKey& b) {
    return a.timeMs != b.timeMs ? a.timeMs < b.timeMs : a.guid < b.guid;
  }
  friend bool operator>(const EventKey& a, const EventKey& b) { return b < a; }
  friend bool operator<=(const EventKey& a, const EventKey& b) { return !(b < a); }
  friend bool operator>=(const EventKey& a, const EventKey& b) { return !(a < b); }
};
inline EventKey keyOf(const Event& e) { return {e.timeMs, e.guid}; }

// Entity documents: {id, guid, externalId?, name?, type, version, data, lastUpdated} and
// memberIds for groups. Helpers below keep the invariants (id == guid, name mirrors data.name).
namespace entity {
inline constexpr const char* kIndividual = "individual";
inline constexpr const char* kGroup = "group";
Json makeNew(const std::string& guid, const std::string& type);  // version 0, empty data
bool isGroup(const Json& e);
std::vector<std::string> memberIds(const Json& e);
const Json& dataOf(const Json& e);  // e.data, or an empty object when absent or not an object
}  // namespace entity

struct EntityPair {
  std::string guid;
  // State last confirmed by the server (or the first local state). Inside the store a null
  // `initial` means "the same as modified", the usual case (unchanged since created or
  // confirmed), so the document is held once; EntityStore hands out copies with it filled in.
  Json initial;
  Json modified;  // current state
  const Json& initialState() const { return initial.is_null() ? modified : initial; }
  EntityPair filled() const {
    EntityPair p = *this;
    if (p.initial.is_null()) p.initial = p.modified;
    return p;
  }
  Json toJson() const;
  static EntityPair fromJson(const Json& j);
};

struct AuditEntry {
  std::string guid;
  std::string timestamp;  // the causing event's timestamp
  std::string userId;
  std::string action;     // event type, "cascade-delete-entity", "flag-potential-duplicate"
  std::string eventGuid;
  std::string entityGuid;
  FrozenJson changes;     // immutable; compact (text) once stored
  std::string signature;  // may stay ""
  Json toJson() const;
  // toJson() as text, without copying `changes`; `changesMember` (e.g. `"changesOfPut":0`)
  // replaces the "changes" member when given (the journal's compact form).
  void appendJson(std::string& out, std::string_view changesMember = {}) const;
  static AuditEntry fromJson(const Json& j);
  static AuditEntry fromJson(Json&& j);  // moves `changes` out
};

struct PotentialDuplicate {
  std::string entityGuid;     // the newer entity
  std::string duplicateGuid;  // the existing one it resembles
  Json toJson() const;
  static PotentialDuplicate fromJson(const Json& j);
};

}  // namespace dc
