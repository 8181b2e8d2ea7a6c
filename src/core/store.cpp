#include "core/store.hpp"

#include <stdexcept>

#include "core/store_impl.hpp"

namespace dc {

namespace {
const char* const kAuditPushedKey = "auditPushedCount";
Error storageError(const std::string& message) { return Error(ErrorCode::Storage, message); }
}  // namespace

void Store::Impl::commit(Record&& d) {
  if (d.empty()) return;
  CommitNotice notice = observer ? st.noticeOf(d, committingRebuild) : CommitNotice{};
  std::string payload;
  try {
    payload = d.encode();
  } catch (const Json::exception& e) {
    throw storageError(std::string("cannot store the change: ") + e.what());  // e.g. invalid UTF-8
  }
  journal.append(payload);
  st.apply(std::move(d));
  if (observer && (notice.cleared || !notice.entityGuids.empty() || !notice.eventGuids.empty())) observer(notice);
}

void Store::Impl::replay() {
  journal.replay(1, [this](std::string_view payload) { st.apply(Record::decode(Json::parse(payload))); });
}

Store::Store() : impl_(std::make_unique<Impl>()) {}
Store::~Store() = default;

std::shared_ptr<Store> Store::open(std::shared_ptr<Storage> storage) {
  auto store = std::make_shared<Store>();
  store->impl_->journal.attach(std::move(storage));
  try {
    store->impl_->replay();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw storageError(std::string("cannot open the store: ") + e.what());
  }
  return store;
}

const std::vector<Event>& Store::events() const { return impl_->st.events; }
const Event* Store::findEvent(const std::string& guid) const {
  auto it = impl_->st.eventIndex.find(guid);
  return it == impl_->st.eventIndex.end() ? nullptr : &impl_->st.events[it->second];
}
const std::vector<AuditEntry>& Store::auditLog() const { return impl_->st.audit; }
const EntityPair* Store::findEntity(const std::string& guid) const {
  auto it = impl_->st.entities.find(guid);
  return it == impl_->st.entities.end() ? nullptr : &it->second;
}
const std::unordered_map<std::string, EntityPair>& Store::entities() const { return impl_->st.entities; }
const std::set<std::pair<std::string, std::string>>& Store::potentialDuplicates() const { return impl_->st.dups; }
const DuplicateIndex& Store::duplicateIndex() const { return impl_->st.dupIndex; }
std::optional<Json> Store::state(const std::string& key) const {
  auto it = impl_->st.state.find(key);
  if (it == impl_->st.state.end()) return std::nullopt;
  return it->second;
}
const std::map<std::string, RejectedEvent>& Store::rejectedEvents() const { return impl_->st.rejected; }
const MerkleTree& Store::merkle() const { return impl_->st.merkle; }
size_t Store::merkleIndexOf(const std::string& eventGuid) const {
  return impl_->st.eventIndex.at(eventGuid);  // leaf i is events()[i]: the tree follows application order
}
EventKey Store::maxAppliedKey() const {
  return impl_->st.byKey.empty() ? EventKey{} : impl_->st.byKey.rbegin()->first;
}
size_t Store::auditPushedCount() const {
  auto v = state(kAuditPushedKey);
  return v && v->is_number_unsigned() ? v->get<size_t>() : 0;
}
const std::map<EventKey, size_t>& Store::eventsByKey() const { return impl_->st.byKey; }
const std::set<size_t>& Store::outbox() const { return impl_->st.outbox; }
bool Store::hasAudit(const std::string& auditGuid) const { return impl_->st.auditGuids.count(auditGuid) > 0; }
std::vector<const AuditEntry*> Store::auditOfEntity(const std::string& entityGuid) const {
  std::vector<const AuditEntry*> out;
  auto it = impl_->st.auditByEntity.find(entityGuid);
  if (it != impl_->st.auditByEntity.end()) {
    for (size_t i : it->second) out.push_back(&impl_->st.audit[i]);
  }
  return out;
}
const EntityPair* Store::findEntityByExternalId(const std::string& externalId) const {
  auto it = impl_->st.byExternalId.find(externalId);
  return it == impl_->st.byExternalId.end() ? nullptr : findEntity(*it->second.begin());
}
const std::set<EventKey>* Store::eventsReferencing(const std::string& entityGuid) const {
  auto it = impl_->st.refsByEntity.find(entityGuid);
  return it == impl_->st.refsByEntity.end() ? nullptr : &it->second;
}
const std::vector<std::string>* Store::refsOfEvent(const std::string& eventGuid) const {
  auto it = impl_->st.refsOfEvent.find(eventGuid);
  return it == impl_->st.refsOfEvent.end() ? nullptr : &it->second;
}
bool Store::hasEventsLackingRefs() const { return !impl_->st.eventsLackingRefs.empty(); }
bool Store::eventLacksRefs(const std::string& eventGuid) const { return impl_->st.eventsLackingRefs.count(eventGuid) > 0; }
bool Store::everFlagged(const std::string& entityGuid) const { return impl_->st.everFlagged.count(entityGuid) > 0; }
const DuplicateIndex& Store::pastData() const { return impl_->st.pastData; }
size_t Store::recoveredTailBytes() const { return impl_->journal.recoveredTailBytes(); }

Storage& Store::storage() { return impl_->journal.storage(); }
void Store::setCommitObserver(CommitObserver observer) { impl_->observer = std::move(observer); }
void Store::flush(FlushCallback done) {
  if (!impl_->journal.batching()) {
    try {
      impl_->journal.drainBatch();
    } catch (const Error& e) {
      return done(e);
    }
  }
  impl_->journal.storage().flush(std::move(done));
}

Store::WriteBatch::WriteBatch(Store& store) : store_(store) { store_.impl_->journal.beginBatch(); }
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
  store_.impl_->journal.endBatch();
}

void Store::markEventsSynced(const std::vector<std::string>& guids, int level) {
  Record d;
  d.syncedLevel = level;
  for (const auto& g : guids) {
    const Event* e = findEvent(g);
    if (e && e->syncLevel != level) d.syncedGuids.push_back(g);
  }
  impl_->commit(std::move(d));
}

void Store::markEntitiesSynced(const std::vector<std::string>& guids) {
  Record d;
  for (const auto& g : guids) {
    const EntityPair* p = findEntity(g);
    if (p && !p->initial.is_null() && p->initial != p->modified) d.entitiesSynced.push_back(g);
  }
  impl_->commit(std::move(d));
}

void Store::setAuditPushedCount(size_t n) {
  Record d;
  d.state.emplace_back(kAuditPushedKey, n);
  impl_->commit(std::move(d));
}

void Store::clearEvents() {
  Record d;
  d.clearEvents = true;
  impl_->commit(std::move(d));
}

void Store::clearEntities() {
  Record d;
  d.clearEntities = true;
  impl_->commit(std::move(d));
}

}  // namespace dc
