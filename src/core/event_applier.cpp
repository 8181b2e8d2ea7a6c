#include "core/event_applier.hpp"

#include <algorithm>
#include <climits>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/duplicates.hpp"
#include "core/record.hpp"  // auditChanges
#include "core/sha256.hpp"
#include "core/timestamp.hpp"

namespace dc {
namespace {

using Appliers = std::map<std::string, EventApplier>;
using GuidPair = std::pair<std::string, std::string>;

const char* const kBuiltinTypes[] = {"create-individual", "update-individual", "create-group", "update-group",
                                     "add-member",        "remove-member",     "delete-entity", "resolve-duplicate"};
bool isBuiltin(const std::string& type) {
  return std::any_of(std::begin(kBuiltinTypes), std::end(kBuiltinTypes), [&](const char* t) { return type == t; });
}

constexpr const char* kCascadeAction = "cascade-delete-entity";
constexpr const char* kFlagAction = "flag-potential-duplicate";
constexpr const char* kClockKey = "device.hlc";  // survives clearEvents(): the clock must not go back

GuidPair unorderedPair(const std::string& a, const std::string& b) { return a < b ? GuidPair{a, b} : GuidPair{b, a}; }

// Potential-duplicate flags as seen at one point of an apply: a base (the committed set, or an
// enclosing view) plus staged changes. Events stage into a child view that is merged into the
// enclosing one only if the event succeeds, so a failed event leaves no flag behind.
class FlagView {
 public:
  FlagView(const std::set<GuidPair>* committed, const FlagView* parent) : committed_(committed), parent_(parent) {}

  bool has(const std::string& a, const std::string& b) const {
    GuidPair p = unorderedPair(a, b);
    if (added_.count(p)) return true;
    if (removed_.count(p) || cleared_.count(a) || cleared_.count(b)) return false;
    if (parent_) return parent_->has(a, b);
    return committed_ && (committed_->count({a, b}) || committed_->count({b, a}));
  }
  void add(const std::string& a, const std::string& b) {
    GuidPair p = unorderedPair(a, b);
    removed_.erase(p);
    added_.insert(p);
  }
  void remove(const std::string& a, const std::string& b) {
    GuidPair p = unorderedPair(a, b);
    added_.erase(p);
    removed_.insert(p);
  }
  void clearOf(const std::string& g) {
    cleared_.insert(g);
    for (auto it = added_.begin(); it != added_.end();) it = (it->first == g || it->second == g) ? added_.erase(it) : std::next(it);
  }
  // Clears first, then removals, then additions: the same result as the child's own sequence.
  void mergeInto(FlagView& outer) const {
    for (const auto& g : cleared_) outer.clearOf(g);
    for (const auto& p : removed_) outer.remove(p.first, p.second);
    for (const auto& p : added_) outer.add(p.first, p.second);
  }

 private:
  const std::set<GuidPair>* committed_;
  const FlagView* parent_;
  std::set<GuidPair> added_, removed_;
  std::set<std::string> cleared_;
};

// Where an apply runs: incremental (on top of the committed store) or inside a rebuild (on top of
// what the replay has staged so far, which the store cannot enumerate, so the replay keeps the
// group list and duplicate index itself).
struct ApplyEnv {
  const Store& store;
  const Appliers& appliers;
  const DuplicateIndex& duplicateBase;  // signatures of every entity not touched by this event
  FlagView& flags;
  const std::set<std::string>* rebuildGroups = nullptr;  // non-null in a rebuild: the live groups
  bool recordAudit = true;  // false when replaying an event whose audit entries already exist
  // Scoped replay (docs/convergence.md, 'Scoped replay'): the entities being rebuilt; the rest of
  // the store is read as committed. Null otherwise.
  const std::unordered_set<std::string>* scope = nullptr;
};

// Thrown (not a std::exception, so no event-level handler takes it) when a scoped replay finds
// that its result could depend on entities outside the scope: the caller replays everything.
struct ScopeExceeded {};

// Deterministic audit guid (UUID-shaped) so a replay produces the same entries everywhere.
std::string auditGuid(const std::string& eventGuid, const std::string& entityGuid, size_t seq) {
  std::string hex = toHex(sha256(eventGuid + '\n' + entityGuid + '\n' + std::to_string(seq)));
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' + hex.substr(16, 4) + '-' + hex.substr(20, 12);
}

using entity::dataOf;

int64_t versionOf(const std::optional<Json>& e) {
  if (!e) return 0;
  auto it = e->find("version");
  return it != e->end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// Content equality, ignoring the fields the applier itself maintains.
bool sameContent(Json a, Json b) {
  for (const char* k : {"version", "lastUpdated", "id"}) {
    a.erase(k);
    b.erase(k);
  }
  return a == b;
}

// The buffered effects of ONE event: entity changes, audit entries, flag changes. Reads see the
// buffer first, then the transaction. Nothing reaches the transaction unless the whole event
// succeeds (commitTo), which is what lets a rebuild skip a failing event inside one transaction.
// It is also the ApplierContext handed to custom appliers.
class EventScope final : public ApplierContext {
 public:
  EventScope(Transaction& tx, const Event& ev, ApplyEnv& env) : tx_(tx), ev_(ev), env_(env), flags_(nullptr, &env.flags) {
    refs_.insert(ev.entityGuid);
  }

  const Event& event() const { return ev_; }
  ApplyEnv& env() { return env_; }
  FlagView& flags() { return flags_; }
  const std::vector<std::string>& touched() const { return order_; }
  bool isTouched(const std::string& guid) const { return staged_.count(guid) > 0; }
  const std::optional<Json>& staged(const std::string& guid) const { return staged_.at(guid); }
  // True when the entity's `data` differs from what it was before this event (or it is new).
  bool dataChanged(const std::string& guid) const {
    const auto& now = staged_.at(guid);
    const auto& then = before_.at(guid);
    return now && (!then || dataOf(*then) != dataOf(*now));
  }

  // Every entity this event read or changed, its own included: its refs (Store::eventsReferencing).
  const std::set<std::string>& refs() const { return refs_; }

  std::optional<Json> getEntity(const std::string& guid) override {
    refs_.insert(guid);
    auto it = staged_.find(guid);
    return it != staged_.end() ? it->second : tx_.getEntity(guid);
  }

  // Stores a new state: id mirrors guid, name mirrors data.name, version + 1, lastUpdated = the
  // event's timestamp (never the wall clock: replicas must agree: docs/convergence.md).
  void save(const std::string& action, Json entity, const std::optional<Json>& changes = std::nullopt) {
    const std::string guid = entity.at("guid").get<std::string>();
    std::optional<Json> before = getEntity(guid);
    entity["id"] = guid;
    if (auto name = dataOf(entity).find("name"); name != dataOf(entity).end() && name->is_string()) entity["name"] = *name;
    entity["version"] = versionOf(before) + 1;
    entity["lastUpdated"] = ev_.timestamp;
    audit(action, guid, changes && changes->is_object() && !changes->empty() ? *changes : auditChanges(before, entity));
    stage(guid, std::move(before), std::move(entity));
  }

  void erase(const std::string& action, const std::string& guid) {
    std::optional<Json> before = getEntity(guid);
    if (!before) return;
    audit(action, guid, Json{{"deleted", true}});
    stage(guid, std::move(before), std::nullopt);
    clearFlags(guid);
  }

  void addFlag(const std::string& entityGuid, const std::string& duplicateGuid) {
    refs_.insert(entityGuid);
    refs_.insert(duplicateGuid);
    flags_.add(entityGuid, duplicateGuid);
    flagOps_.push_back({FlagOp::Add, entityGuid, duplicateGuid});
    audit(kFlagAction, entityGuid, Json{{"duplicateGuid", duplicateGuid}});
  }
  void removeFlag(const std::string& a, const std::string& b) {
    refs_.insert(a);
    refs_.insert(b);
    flags_.remove(a, b);
    flagOps_.push_back({FlagOp::Remove, a, b});
  }
  void clearFlags(const std::string& guid) {
    flags_.clearOf(guid);
    flagOps_.push_back({FlagOp::Clear, guid, {}});
  }

  // ApplierContext::saveEntity for custom appliers: the document is normalised so that whatever
  // a custom applier returns, stored entities keep the invariants of model.hpp.
  void saveEntity(const std::string& action, const std::optional<Json>& existing, const Json& modified,
                  const Json& changes) override {
    Json entity = normalizeCustom(modified, std::nullopt);
    save(action.empty() ? ev_.type : action, std::move(entity), changes);
  }

  Json normalizeCustom(const Json& doc, const std::optional<std::string>& defaultGuid) {
    if (!doc.is_object())
      throw Error(ErrorCode::InvalidForm, "Event applier for " + ev_.type + " produced an entity that is not an object");
    Json e = doc;
    auto g = e.find("guid");
    if ((g == e.end() || !g->is_string() || g->get_ref<const std::string&>().empty()) && defaultGuid) e["guid"] = *defaultGuid;
    g = e.find("guid");
    if (g == e.end() || !g->is_string() || g->get_ref<const std::string&>().empty())
      throw Error(ErrorCode::InvalidForm, "Event applier for " + ev_.type + " produced an entity without a guid");
    std::optional<Json> current = getEntity(g->get<std::string>());
    if (!e.contains("type")) e["type"] = current ? (*current)["type"] : Json(entity::kIndividual);
    if (e["type"] != entity::kIndividual && e["type"] != entity::kGroup)
      throw Error(ErrorCode::InvalidForm, "Event applier for " + ev_.type + " produced an entity of type " + e["type"].dump() +
                                              " (expected \"individual\" or \"group\")");
    if (!e.contains("data") || !e["data"].is_object()) e["data"] = Json::object();
    if (entity::isGroup(e) && (!e.contains("memberIds") || !e["memberIds"].is_array())) e["memberIds"] = Json::array();
    return e;
  }

  // Hands the buffered effects to the transaction (moved: the scope is done afterwards, only
  // touched() is still read).
  void commitTo(Transaction& tx) {
    for (const auto& guid : order_) {
      auto& e = staged_.at(guid);
      if (e) tx.putEntity(std::move(*e));
      else tx.deleteEntity(guid);
    }
    if (env_.recordAudit)
      for (auto& a : audits_) tx.addAudit(std::move(a));
    for (const auto& op : flagOps_) {
      switch (op.kind) {
        case FlagOp::Add: tx.addPotentialDuplicate(op.a, op.b); break;
        case FlagOp::Remove: tx.removePotentialDuplicate(op.a, op.b); break;
        case FlagOp::Clear: tx.removeDuplicatesOf(op.a); break;
      }
    }
    flags_.mergeInto(env_.flags);
  }

 private:
  struct FlagOp {
    enum Kind { Add, Remove, Clear } kind;
    std::string a, b;
  };

  void stage(const std::string& guid, std::optional<Json> before, std::optional<Json> after) {
    refs_.insert(guid);
    // try_emplace, not emplace: emplace may move `after` into a node it then discards when the
    // guid is already staged, and the assignment below would store a moved-from (null) document.
    if (staged_.try_emplace(guid, std::move(after)).second) {
      order_.push_back(guid);
      before_.emplace(guid, std::move(before));
    } else {
      staged_[guid] = std::move(after);
    }
  }

  void audit(const std::string& action, const std::string& entityGuid, Json changes) {
    if (!env_.recordAudit) return;
    AuditEntry a;
    a.guid = auditGuid(ev_.guid, entityGuid, audits_.size());
    a.timestamp = ev_.timestamp;
    a.userId = ev_.userId;
    a.action = action;
    a.eventGuid = ev_.guid;
    a.entityGuid = entityGuid;
    a.changes = std::move(changes);
    audits_.push_back(std::move(a));
  }

  Transaction& tx_;
  const Event& ev_;
  ApplyEnv& env_;
  FlagView flags_;
  std::unordered_map<std::string, std::optional<Json>> staged_;  // nullopt: deleted
  std::unordered_map<std::string, std::optional<Json>> before_;  // state before this event
  std::vector<std::string> order_;                               // first-touch order
  std::vector<AuditEntry> audits_;
  std::vector<FlagOp> flagOps_;
  std::set<std::string> refs_;
};

// ----- built-in appliers ----------------------------------------------------------------------

[[noreturn]] void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }

Json newEntity(const std::string& guid, const char* type) {
  Json e = entity::makeNew(guid, type);
  e["name"] = std::string(type == std::string(entity::kGroup) ? "Unnamed Group" : "Unnamed Individual");
  return e;
}

// Shallow merge of `data`; name and externalId follow data.
void mergeData(Json& entity, const Json& data) {
  Json& target = entity["data"];
  if (!target.is_object()) target = Json::object();
  for (auto it = data.begin(); it != data.end(); ++it) target[it.key()] = it.value();
  if (auto ext = data.find("externalId"); ext != data.end() && !ext->is_null()) entity["externalId"] = *ext;
}

enum class Kind { Individual, Group };

struct UpsertOptions {
  ErrorCode code;        // INVALID_FORM for the event's own entity, INVALID_MEMBER_DATA for members
  bool alwaysSave;       // the event's own entity counts as changed even when data is identical
  std::vector<std::string>& ancestors;  // groups being upserted above this one (cycle guard)
};

void upsertEntity(EventScope& s, const std::string& guid, const Json& data, Kind kind, UpsertOptions& opt);

// Creates or merges each member, appends new guids to memberIds. Returns true if memberIds grew.
bool addMembers(EventScope& s, Json& group, const Json& members, std::vector<std::string>& ancestors) {
  Json& ids = group["memberIds"];
  if (!ids.is_array()) ids = Json::array();
  std::unordered_set<std::string> present;
  for (const auto& id : ids)
    if (id.is_string()) present.insert(id.get<std::string>());
  bool grew = false;
  for (const auto& m : members) {
    auto g = m.is_object() ? m.find("guid") : m.end();
    if (!m.is_object() || g == m.end() || !g->is_string() || g->get_ref<const std::string&>().empty())
      fail(ErrorCode::InvalidMemberData, "Member GUID is required");
    const std::string guid = g->get<std::string>();
    if (std::find(ancestors.begin(), ancestors.end(), guid) != ancestors.end())
      fail(ErrorCode::InvalidMemberData, "Group " + guid + " cannot be a member of itself");
    auto t = m.find("type");
    if (t != m.end() && !(t->is_string() && (*t == entity::kIndividual || *t == entity::kGroup)))
      fail(ErrorCode::InvalidMemberData, "Member " + guid + " has an invalid type (expected \"individual\" or \"group\")");
    // Without a type, an existing member keeps its own kind.
    std::optional<Json> existing = s.getEntity(guid);
    bool asGroup = t != m.end() ? *t == entity::kGroup : existing && entity::isGroup(*existing);
    Json memberData = m;
    memberData.erase("guid");
    memberData.erase("type");
    UpsertOptions opt{ErrorCode::InvalidMemberData, false, ancestors};
    upsertEntity(s, guid, memberData, asGroup ? Kind::Group : Kind::Individual, opt);
    if (present.insert(guid).second) {
      ids.push_back(guid);
      grew = true;
    }
  }
  return grew;
}

// create/update of an individual or a group (members included, recursively for sub-groups). An
// existing entity is merged, never recreated (a fix, docs/convergence.md), and must be of the right kind.
void upsertEntity(EventScope& s, const std::string& guid, const Json& data, Kind kind, UpsertOptions& opt) {
  std::optional<Json> current = s.getEntity(guid);
  bool wantGroup = kind == Kind::Group;
  if (current && entity::isGroup(*current) != wantGroup)
    fail(opt.code, "Cannot apply " + s.event().type + " to " + guid + ": it is " +
                       (wantGroup ? "an individual, not a group" : "a group, not an individual"));
  Json e = current ? *current : newEntity(guid, wantGroup ? entity::kGroup : entity::kIndividual);

  if (wantGroup && data.contains("members")) {
    Json own = data;
    Json list = std::move(own["members"]);
    own.erase("members");  // members live in memberIds and their own entities, not in data
    if (!list.is_array() && !list.is_null()) fail(ErrorCode::InvalidMemberData, "Group members must be an array");
    mergeData(e, own);
    opt.ancestors.push_back(guid);
    if (list.is_array()) addMembers(s, e, list, opt.ancestors);
    opt.ancestors.pop_back();
  } else {
    mergeData(e, data);
  }
  if (opt.alwaysSave || !current || !sameContent(*current, e)) s.save(s.event().type, std::move(e));
}

std::optional<Json> requireGroup(EventScope& s, const std::string& guid) {
  std::optional<Json> g = s.getEntity(guid);
  if (!g || !entity::isGroup(*g)) fail(ErrorCode::InvalidGroup, "Group with ID " + guid + " not found or is not a group");
  return g;
}

// Groups that may list one of `guids` as a member. Incremental: the committed groups that do,
// plus everything this event staged. Rebuild: every live group of the replay.
std::vector<std::string> parentCandidates(EventScope& s, const std::unordered_set<std::string>& guids) {
  std::set<std::string> out(s.touched().begin(), s.touched().end());
  const auto* scope = s.env().scope;
  if (const auto* groups = s.env().rebuildGroups) out.insert(groups->begin(), groups->end());
  if (!s.env().rebuildGroups || scope) {
    // Committed groups (in a scoped replay: those outside the scope; a change to one makes it
    // part of the scope).
    for (const auto& [guid, pair] : s.env().store.entities()) {
      if (scope && scope->count(guid)) continue;
      auto ids = pair.modified.find("memberIds");
      if (ids == pair.modified.end() || !ids->is_array()) continue;
      for (const auto& id : *ids)
        if (id.is_string() && guids.count(id.get_ref<const std::string&>())) {
          out.insert(guid);
          break;
        }
    }
  }
  return {out.begin(), out.end()};
}

// Deletes `root` and everything below it, children first; then drops every deleted guid from
// every remaining group's memberIds (a fix, docs/convergence.md). `visited` makes cycles terminate.
void deleteCascade(EventScope& s, const std::string& root, const std::string& rootAction) {
  if (!s.getEntity(root)) return;  // deleting a missing entity is a no-op
  std::vector<std::string> order;  // post-order: children before their group
  std::unordered_set<std::string> visited;
  std::vector<std::pair<std::string, bool>> stack{{root, false}};
  while (!stack.empty()) {
    auto [guid, expanded] = std::move(stack.back());
    stack.pop_back();
    if (expanded) {
      order.push_back(guid);
      continue;
    }
    if (!visited.insert(guid).second) continue;
    std::optional<Json> e = s.getEntity(guid);
    if (!e) continue;
    stack.emplace_back(guid, true);
    std::vector<std::string> members = entity::memberIds(*e);
    for (auto it = members.rbegin(); it != members.rend(); ++it)
      if (!visited.count(*it)) stack.emplace_back(*it, false);
  }
  std::unordered_set<std::string> deleted(order.begin(), order.end());
  for (const auto& guid : order) s.erase(guid == root ? rootAction : kCascadeAction, guid);

  for (const auto& parent : parentCandidates(s, deleted)) {
    if (deleted.count(parent)) continue;
    std::optional<Json> g = s.getEntity(parent);
    if (!g || !entity::isGroup(*g)) continue;
    Json& ids = (*g)["memberIds"];
    if (!ids.is_array()) continue;
    size_t before = ids.size();
    Json kept = Json::array();
    for (auto& id : ids)
      if (!(id.is_string() && deleted.count(id.get_ref<const std::string&>()))) kept.push_back(std::move(id));
    if (kept.size() == before) continue;
    ids = std::move(kept);
    s.save(s.event().type, std::move(*g));
  }
}

void applyAddMember(EventScope& s, const Event& ev) {
  Json group = *requireGroup(s, ev.entityGuid);
  Json scratch;  // a stored event's data is text: parsed here (docs/storage.md, 'Memory')
  const Json& data = ev.data.view(scratch);
  auto members = data.find("members");
  if (members == data.end() || !members->is_array() || members->empty())
    fail(ErrorCode::InvalidMemberData, "add-member needs data.members: a non-empty array of members");
  std::vector<std::string> ancestors{ev.entityGuid};
  if (addMembers(s, group, *members, ancestors)) s.save(ev.type, std::move(group));
}

void applyRemoveMember(EventScope& s, const Event& ev) {
  Json scratch;
  const Json& data = ev.data.view(scratch);
  auto id = data.find("memberId");
  if (id == data.end() || !id->is_string() || id->get_ref<const std::string&>().empty())
    fail(ErrorCode::InvalidMemberData, "Member ID is required");
  const std::string memberId = id->get<std::string>();
  Json group = *requireGroup(s, ev.entityGuid);
  Json& ids = group["memberIds"];
  if (!ids.is_array()) return;
  auto it = std::find(ids.begin(), ids.end(), Json(memberId));
  if (it == ids.end()) return;  // not a member: nothing changes
  ids.erase(it);
  s.save(ev.type, std::move(group));
  // A removed sub-group goes with everything below it; a removed individual stays.
  if (std::optional<Json> member = s.getEntity(memberId); member && entity::isGroup(*member))
    deleteCascade(s, memberId, kCascadeAction);
}

void applyResolveDuplicate(EventScope& s, const Event& ev) {
  Json scratch;
  const Json& data = ev.data.view(scratch);
  auto list = data.find("duplicates");
  if (list != data.end() && !list->is_null()) {
    if (!list->is_array())
      fail(ErrorCode::InvalidForm, "resolve-duplicate needs data.duplicates: an array of {entityGuid, duplicateGuid}");
    for (const auto& d : *list) {
      PotentialDuplicate pair = PotentialDuplicate::fromJson(d);
      s.removeFlag(pair.entityGuid, pair.duplicateGuid);
    }
  }
  if (auto del = data.find("shouldDelete"); del != data.end() && del->is_boolean() && del->get<bool>())
    deleteCascade(s, ev.entityGuid, ev.type);
}

void applyCustom(EventScope& s, const Event& ev) {
  auto it = s.env().appliers.find(ev.type);
  if (it == s.env().appliers.end()) fail(ErrorCode::NoApplier, "No event applier found for event type: " + ev.type);
  std::optional<Json> current = s.getEntity(ev.entityGuid);
  std::optional<Json> result;
  try {
    result = it->second(current, ev.toJson(), s);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(ErrorCode::InvalidForm, "Event applier for " + ev.type + " failed: " + e.what());
  }
  if (!result || result->is_null()) return;
  Json e = s.normalizeCustom(*result, ev.entityGuid);
  // Returning the state the applier already saved through ctx (or an unchanged entity) is not a
  // second change.
  std::optional<Json> now = s.getEntity(e["guid"].get<std::string>());
  if (now && sameContent(*now, e)) return;
  s.save(ev.type, std::move(e));
}

void dispatch(EventScope& s, const Event& ev) {
  const std::string& t = ev.type;
  std::vector<std::string> ancestors;
  if (t == "create-individual" || t == "update-individual" || t == "create-group" || t == "update-group") {
    UpsertOptions opt{ErrorCode::InvalidForm, true, ancestors};
    Json scratch;
    upsertEntity(s, ev.entityGuid, ev.data.view(scratch), t.find("group") != std::string::npos ? Kind::Group : Kind::Individual, opt);
  } else if (t == "add-member") {
    applyAddMember(s, ev);
  } else if (t == "remove-member") {
    applyRemoveMember(s, ev);
  } else if (t == "delete-entity") {
    deleteCascade(s, ev.entityGuid, ev.type);
  } else if (t == "resolve-duplicate") {
    applyResolveDuplicate(s, ev);
  } else {
    applyCustom(s, ev);
  }
}

// Flags every entity whose data this event created or changed (members included; docs/convergence.md)
// against the index (entities the event did not touch) and the event's other entities.
void flagDuplicates(EventScope& s) {
  std::vector<std::pair<std::string, Signature>> live;  // this event's surviving entities
  for (const auto& g : s.touched())
    if (const auto& e = s.staged(g)) live.emplace_back(g, signatureOf(dataOf(*e)));
  for (const auto& [guid, sig] : live) {
    if (sig.empty() || !s.dataChanged(guid)) continue;
    if (const auto* scope = s.env().scope) {
      // A match outside the scope, with what an entity holds now or held before, could make the
      // flags differ from a full replay's: replay everything instead.
      for (const auto& m : s.env().store.duplicateIndex().findMatches(guid, sig))
        if (!scope->count(m)) throw ScopeExceeded{};
      for (const auto& m : s.env().store.pastData().findMatches({}, sig))
        if (!scope->count(m.substr(0, m.find('\x1f')))) throw ScopeExceeded{};
    }
    std::vector<std::string> matches;
    for (auto& m : s.env().duplicateBase.findMatches(guid, sig))
      if (!s.isTouched(m)) matches.push_back(std::move(m));
    for (const auto& [other, otherSig] : live)
      if (other != guid && isPotentialDuplicate(sig, otherSig)) matches.push_back(other);
    std::sort(matches.begin(), matches.end());
    for (const auto& m : matches)
      if (!s.flags().has(guid, m)) s.addFlag(guid, m);
  }
}

// Applies one event into `tx`, all or nothing; returns the entities it touched. `refs` receives
// the entities it read or changed, also when it fails.
std::vector<std::string> applyEvent(Transaction& tx, const Event& ev, ApplyEnv& env, std::set<std::string>* refs = nullptr) {
  EventScope scope(tx, ev, env);
  struct Out {
    EventScope& scope;
    std::set<std::string>* refs;
    ~Out() {
      if (refs) *refs = scope.refs();
    }
  } out{scope, refs};
  try {
    dispatch(scope, ev);
    flagDuplicates(scope);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // e.g. a JSON type error on a malformed entity document: still a clean, typed failure.
    fail(ErrorCode::InvalidForm, "Could not apply " + ev.type + " event " + ev.guid + ": " + e.what());
  }
  scope.commitTo(tx);
  return scope.touched();
}

// Refs worth journalling: an event's own entity is implied (docs/storage.md, 'Record format'), and
// refs the store already has for the event need no repeating.
void addRefs(Transaction& tx, const Store& store, const Event& ev, const std::set<std::string>& refs) {
  std::vector<std::string> extra;
  EventKey key = keyOf(ev);
  for (const auto& g : refs) {
    if (g == ev.entityGuid) continue;
    const auto* known = store.eventsReferencing(g);
    if (!known || !known->count(key)) extra.push_back(g);
  }
  if (!extra.empty() || store.eventLacksRefs(ev.guid)) tx.addRefs(ev.guid, std::move(extra));
}

// Applies `ev` on top of the committed store into `tx` (which holds nothing else of the store's
// entities). Throws the event's error with `tx` left as it was.
std::vector<std::string> applyIncrementally(Transaction& tx, Store& store, const Appliers& appliers, const Event& ev,
                                            std::set<std::string>* refs) {
  FlagView flags(&store.potentialDuplicates(), nullptr);
  ApplyEnv env{store, appliers, store.duplicateIndex(), flags};
  return applyEvent(tx, ev, env, refs);
}

using FailureFn = std::function<void(const Event&, const Error&)>;
using AppliedFn = std::function<void(const Event&, const std::vector<std::string>&)>;

struct ReplayItem {
  const Event* ev;
  bool incoming;
};
struct IncomingResult {
  const Event* ev;
  std::optional<Error> error;
  std::vector<std::string> touched;
};

// Replays `items` (in (timestamp, guid) order) into `tx`: every entity (full) or those of `scope`
// start empty. A stored event that fails is skipped (the same on every replica holding the same
// events); an incoming one is collected in `results`, and reported to `abortOnFailure` (which
// throws) at once. Audit entries are only written for incoming events. In a scoped replay an event
// that reads or changes an entity outside the scope stops it: returns false with those entities
// in `expand` (the caller widens the scope and starts again).
bool runReplay(Transaction& tx, Store& store, const Appliers& appliers, const std::vector<ReplayItem>& items,
               const std::unordered_set<std::string>* scope, std::unordered_set<std::string>& expand,
               std::vector<IncomingResult>& results, const FailureFn& abortOnFailure) {
  if (scope) tx.beginScopedRebuild(*scope);
  else tx.beginRebuild();
  DuplicateIndex index;  // signatures of the entities being rebuilt
  FlagView flags(scope ? &store.potentialDuplicates() : nullptr, nullptr);
  std::set<std::string> groups;
  for (const auto& item : items) {
    const Event& ev = *item.ev;
    ApplyEnv env{store, appliers, index, flags, &groups, item.incoming, scope};
    std::set<std::string> refs;
    std::vector<std::string> touched;
    std::optional<Error> error;
    try {
      touched = applyEvent(tx, ev, env, &refs);
    } catch (const Error& err) {
      error = err;
    }
    if (scope) {
      for (const auto& g : refs)
        if (!scope->count(g)) expand.insert(g);
      if (!expand.empty()) return false;
    }
    addRefs(tx, store, ev, refs);
    if (error) {
      if (item.incoming) {
        if (abortOnFailure) abortOnFailure(ev, *error);
        results.push_back({&ev, error, {}});
      }
      continue;
    }
    for (const auto& g : touched) {
      std::optional<Json> e = tx.getEntity(g);
      if (e) index.upsert(g, dataOf(*e));
      else index.remove(g);
      if (e && entity::isGroup(*e)) groups.insert(g);
      else groups.erase(g);
    }
    if (item.incoming) {
      results.push_back({&ev, std::nullopt, std::move(touched)});
    } else if (store.rejectedEvents().count(ev.guid)) {
      tx.removeRejected(ev.guid);  // it applies in its place now: no longer reported as rejected
    }
  }
  return true;
}

// Stored events (by key) merged with the sorted incoming ones.
std::vector<ReplayItem> mergeItems(const Store& store, const std::vector<EventKey>& storedKeys,
                                   const std::vector<const Event*>& sortedIncoming) {
  std::vector<ReplayItem> items;
  items.reserve(storedKeys.size() + sortedIncoming.size());
  const auto& log = store.events();
  const auto& byKey = store.eventsByKey();
  auto next = sortedIncoming.begin();
  for (const auto& k : storedKeys) {
    while (next != sortedIncoming.end() && keyOf(**next) < k) items.push_back({*next++, true});
    items.push_back({&log[byKey.at(k)], false});
  }
  while (next != sortedIncoming.end()) items.push_back({*next++, true});
  return items;
}

// Scoped replay (docs/convergence.md, 'Scoped replay'): re-applies only the entities the incoming
// events touch, those touched or read by the stored events that touch them, and so on, in
// (timestamp, guid) order. Gives up (false, `tx` empty) where its result could differ from a full
// replay's: events from before refs were recorded, entities that ever were in a duplicate pair,
// data matching an entity outside the scope.
bool scopedReplay(Transaction& tx, Store& store, const Appliers& appliers, const std::vector<const Event*>& sortedIncoming,
                  std::vector<IncomingResult>& results, const FailureFn& abortOnFailure) {
  if (store.hasEventsLackingRefs()) return false;
  std::unordered_set<std::string> scope;
  for (const Event* e : sortedIncoming) scope.insert(e->entityGuid);
  constexpr int kMaxWidenings = 16;
  for (int attempt = 0; attempt < kMaxWidenings; ++attempt) {
    // Closed over what the stored events touched or read before: an entity one of them created
    // may not be created any more.
    std::set<EventKey> keys;
    std::vector<std::string> pending(scope.begin(), scope.end());
    while (!pending.empty()) {
      std::string c = std::move(pending.back());
      pending.pop_back();
      if (store.everFlagged(c)) return false;
      const auto* refs = store.eventsReferencing(c);
      if (!refs) continue;
      for (const auto& k : *refs) {
        if (!keys.insert(k).second) continue;
        const Event& ev = store.events()[store.eventsByKey().at(k)];
        if (scope.insert(ev.entityGuid).second) pending.push_back(ev.entityGuid);
        if (const auto* more = store.refsOfEvent(ev.guid))
          for (const auto& g : *more)
            if (scope.insert(g).second) pending.push_back(g);
      }
    }
    if (keys.size() >= store.events().size()) return false;  // everything: the full replay is the same work
    std::vector<ReplayItem> items = mergeItems(store, {keys.begin(), keys.end()}, sortedIncoming);
    std::unordered_set<std::string> expand;
    results.clear();
    bool complete = false;
    try {
      complete = runReplay(tx, store, appliers, items, &scope, expand, results, abortOnFailure);
    } catch (const ScopeExceeded&) {
      tx.rollback();
      results.clear();
      return false;
    }
    if (complete) return true;
    tx.rollback();
    scope.insert(expand.begin(), expand.end());
  }
  results.clear();
  return false;
}

// Applies `incoming` (not yet stored, sorting before the log's end) in position: a scoped replay
// where it is exact, else every stored event again. Results go to the callbacks in (timestamp,
// guid) order; onFailure may throw to abort (the transaction is then to be dropped).
void replayInOrder(Transaction& tx, Store& store, const Appliers& appliers, const std::vector<const Event*>& incoming,
                   const FailureFn& onFailure, const AppliedFn& onApplied, bool abortOnFailure,
                   EventApplierService::ReplayCounts* counts = nullptr) {
  std::vector<const Event*> sorted = incoming;
  std::sort(sorted.begin(), sorted.end(), [](const Event* a, const Event* b) { return keyOf(*a) < keyOf(*b); });
  FailureFn abort = abortOnFailure ? onFailure : FailureFn{};
  std::vector<IncomingResult> results;
  if (sorted.empty() || !scopedReplay(tx, store, appliers, sorted, results, abort)) {
    std::vector<EventKey> all;
    all.reserve(store.eventsByKey().size());
    for (const auto& [k, _] : store.eventsByKey()) all.push_back(k);
    std::unordered_set<std::string> none;
    results.clear();
    runReplay(tx, store, appliers, mergeItems(store, all, sorted), nullptr, none, results, abort);
    if (counts) ++counts->full;
  } else if (counts) {
    ++counts->scoped;
  }
  for (auto& r : results) {
    if (r.error) {
      if (onFailure) onFailure(*r.ev, *r.error);
    } else {
      tx.addEvent(*r.ev);
      if (onApplied) onApplied(*r.ev, r.touched);
    }
  }
}

std::optional<Json> currentEntity(const Store& store, const std::string& guid) {
  const EntityPair* p = store.findEntity(guid);
  return p ? std::optional<Json>(p->modified) : std::nullopt;
}

// What is kept of a rejected event. A hostile one (nested deeper than any valid event can be) is
// replaced by a stub: copying, printing or re-reading it would recurse once per level, and the
// journal must stay readable.
Json keptBody(const Json& raw) {
  constexpr int kMaxKeptDepth = 128;  // valid events are limited to 100 levels of data
  if (jsonDepth(raw, kMaxKeptDepth) <= kMaxKeptDepth) return raw;
  Json stub = {{"omitted", "event nested too deeply to keep"}};
  if (auto g = raw.find("guid"); g != raw.end() && g->is_string()) stub["guid"] = *g;
  return stub;
}

RejectedEvent rejection(const Json& raw, const Error& err) { return RejectedEvent{keptBody(raw), err.codeName(), err.what(), "pull"}; }

// Key of a rejected event: its guid, or (for one too malformed to have one) a digest of it.
std::string rejectionKey(const Json& raw) {
  if (raw.is_object())
    if (auto g = raw.find("guid"); g != raw.end() && g->is_string() && !g->get_ref<const std::string&>().empty())
      return g->get<std::string>();
  return "invalid-" + toHex(sha256(keptBody(raw).dump(-1, ' ', false, Json::error_handler_t::replace))).substr(0, 32);
}

}  // namespace

EventApplierService::EventApplierService(EventStore& eventStore, EntityStore& entityStore)
    : events_(eventStore), entities_(entityStore) {}

std::optional<Json> EventApplierService::submitForm(const Json& form) { return submitEvent(Event::fromJson(form)); }
std::optional<Json> EventApplierService::submitForm(Json&& form) { return submitEvent(Event::fromJson(std::move(form))); }

std::optional<Json> EventApplierService::submitEvent(Event&& ev) {
  Store& store = events_.store();
  if (store.findEvent(ev.guid)) return currentEntity(store, ev.entityGuid);  // idempotent
  if (store.events().empty() || store.maxAppliedKey() < keyOf(ev)) {
    Transaction tx(store);
    std::set<std::string> refs;
    applyIncrementally(tx, store, appliers_, ev, &refs);
    addRefs(tx, store, ev, refs);
    std::string entityGuid = ev.entityGuid;
    tx.addEvent(std::move(ev));
    tx.commit();
    return currentEntity(store, entityGuid);
  } else {
    // Sorts before what is applied: replay in order. If the new event fails in its position it
    // is rejected with its error and the transaction (with the rebuild) is dropped.
    Transaction tx(store);
    replayInOrder(tx, store, appliers_, {&ev}, [](const Event&, const Error& err) { throw err; }, nullptr, true,
                  &replayCounts_);
    tx.commit();
    verifyReplay();
  }
  return currentEntity(store, ev.entityGuid);
}

std::vector<ApplyOutcome> EventApplierService::applyRemoteEvents(const std::vector<Json>& events, const Json& statePatch) {
  Store& store = events_.store();
  Store::WriteBatch batch(store);  // a page is one journal write, not one per event
  std::vector<ApplyOutcome> outcomes(events.size());
  std::vector<std::optional<Event>> parsed(events.size());
  std::vector<std::pair<std::string, RejectedEvent>> rejections;

  // Classify: invalid, already stored (or repeated in the batch), in order (applied one by one),
  // or late (sorts before something applied: one rebuild for all of them, at the end).
  std::vector<size_t> inOrder, late;
  std::unordered_set<std::string> seen;
  bool any = !store.events().empty();
  EventKey maxKey = store.maxAppliedKey();
  for (size_t i = 0; i < events.size(); ++i) {
    try {
      parsed[i] = Event::fromJson(events[i]);
    } catch (const Error& err) {
      outcomes[i].eventGuid = rejectionKey(events[i]);
      outcomes[i].error = err;
      rejections.emplace_back(outcomes[i].eventGuid, rejection(events[i], err));
      continue;
    }
    Event& ev = *parsed[i];
    ev.syncLevel = std::max(ev.syncLevel, static_cast<int>(REMOTE));  // it came from the server
    outcomes[i].eventGuid = ev.guid;
    if (store.findEvent(ev.guid) || !seen.insert(ev.guid).second) {
      outcomes[i].duplicate = true;
      continue;
    }
    if (!any || maxKey < keyOf(ev)) {
      inOrder.push_back(i);
      maxKey = keyOf(ev);
      any = true;
    } else {
      late.push_back(i);
    }
  }

  // A pulled event that fails in its position is still stored (with a rejection record): the
  // server holds it, so every replica must replay it in the same position, and an event that
  // arrived before one it depends on applies as soon as that one arrives (the replay puts both in
  // order). Only unparseable events stay out of the log.
  auto storeRejected = [&](Transaction& tx, size_t i, const Event& ev, const Error& err) {
    outcomes[i].error = err;
    tx.addEvent(ev);
    tx.addRejected(ev.guid, rejection(events[i], err));
  };
  // Rejections of unparseable events and the state patch are committed with the last
  // transaction of the call, so a page is durable together with its cursor.
  auto addTail = [&](Transaction& tx) {
    for (const auto& [key, r] : rejections) tx.addRejected(key, r);
    if (statePatch.is_object())
      for (auto it = statePatch.begin(); it != statePatch.end(); ++it) tx.setState(it.key(), it.value());
  };

  for (size_t i : inOrder) {
    const Event& ev = *parsed[i];
    Transaction tx(store);
    std::set<std::string> refs;
    try {
      outcomes[i].touchedEntities = applyIncrementally(tx, store, appliers_, ev, &refs);
      outcomes[i].applied = true;
      tx.addEvent(ev);
    } catch (const Error& err) {
      storeRejected(tx, i, ev, err);  // tx holds nothing of the failed apply
    }
    addRefs(tx, store, ev, refs);
    if (late.empty() && i == inOrder.back()) addTail(tx);
    tx.commit();
  }

  if (!late.empty()) {
    std::vector<const Event*> incoming;
    std::unordered_map<std::string, size_t> indexOf;
    for (size_t i : late) {
      incoming.push_back(&*parsed[i]);
      indexOf[parsed[i]->guid] = i;
    }
    Transaction tx(store);
    replayInOrder(
        tx, store, appliers_, incoming,
        [&](const Event& ev, const Error& err) { storeRejected(tx, indexOf.at(ev.guid), ev, err); },
        [&](const Event& ev, const std::vector<std::string>& touched) {
          auto& o = outcomes[indexOf.at(ev.guid)];
          o.applied = true;
          o.touchedEntities = touched;
        },
        false, &replayCounts_);
    addTail(tx);
    tx.commit();
    batch.finish();
    verifyReplay();
    return outcomes;
  } else if (inOrder.empty() && (!rejections.empty() || (statePatch.is_object() && !statePatch.empty()))) {
    Transaction tx(store);
    addTail(tx);
    tx.commit();
  }
  batch.finish();
  return outcomes;
}

void EventApplierService::rebuild() {
  Store& store = events_.store();
  Transaction tx(store);
  replayInOrder(tx, store, appliers_, {}, nullptr, nullptr, false);
  tx.commit();
}

// A full replay compared with what the store holds (after a scoped replay): any difference in
// entities or duplicate pairs is a bug. The full result is committed, then Error(INTERNAL) thrown.
void EventApplierService::verifyReplay() {
  if (!verifyReplays_) return;
  Store& store = events_.store();
  Transaction tx(store);
  replayInOrder(tx, store, appliers_, {}, nullptr, nullptr, false);
  std::vector<std::string> differing = tx.entityDifferences();
  if (differing.empty()) return;
  tx.commit();
  std::string list;
  for (size_t i = 0; i < differing.size() && i < 5; ++i) list += (i ? ", " : "") + differing[i];
  throw Error(ErrorCode::Internal, "a scoped replay differs from a full replay in " + std::to_string(differing.size()) +
                                       " entities or pairs (" + list + "); the full replay's result is kept");
}

void EventApplierService::registerEventApplier(const std::string& type, EventApplier applier) {
  if (type.empty()) throw Error(ErrorCode::InvalidForm, "An event applier needs a non-empty event type");
  if (isBuiltin(type)) throw Error(ErrorCode::InvalidForm, "Cannot replace the built-in event type: " + type);
  if (!applier) throw Error(ErrorCode::InvalidForm, "The event applier for " + type + " is empty");
  appliers_[type] = std::move(applier);
}

bool EventApplierService::hasEventApplier(const std::string& type) const { return isBuiltin(type) || appliers_.count(type); }

std::vector<std::string> EventApplierService::registeredTypes() const {
  std::vector<std::string> out;
  for (const auto& [type, _] : appliers_) out.push_back(type);
  return out;
}

std::string EventApplierService::nextLocalTimestamp(int64_t wallClockMs) {
  Store& store = events_.store();
  int64_t last = store.events().empty() ? INT64_MIN : store.maxAppliedKey().timeMs;
  if (auto saved = store.state(kClockKey); saved && saved->is_number_integer()) last = std::max(last, saved->get<int64_t>());
  int64_t t = last == INT64_MIN ? wallClockMs : std::max(wallClockMs, last + 1);
  static const int64_t kMax = *parseTimestamp("9999-12-31T23:59:59.999Z");
  t = std::clamp<int64_t>(t, 0, kMax);
  Transaction tx(store);
  tx.setState(kClockKey, t);
  tx.commit();
  return formatTimestamp(t);
}

}  // namespace dc
