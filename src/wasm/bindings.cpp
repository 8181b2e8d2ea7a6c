// The embind surface of the engine: one translation unit, handle-based, JSON at the boundary.
//
// Shape (js/ wraps all of it; users never see these handles):
//   validateEvent(json)            -> Result           (module function, synchronous)
//   completeFlush(id, code, msg)                       (called by flush_glue.js)
//   Engine: one open store with its EventStore, EntityStore and EventApplierService.
//   SyncHandle: one InternalSyncManager over an Engine, with the fetch transport and JS clock.
//
// Result convention: every bound entry point returns the JSON text of its value (a JS string) or
// an error object {ok: false, code, message, status?}; JS tells them apart with typeof. A bare
// string is one embind crossing, where an {ok, json} object took nine per call. C++ exceptions are
// caught here and never reach JS (in Emscripten 3.1.6 a thrown C++ exception arrives in JS as a
// bare number: docs/toolchain.md, 'C++ exceptions at the boundary').
// Whole batches cross as one JSON string, never one embind call per event.
//
// Asynchronous operations (flush, submitForm, sync, login) take a JS callback `cb(result)`; the
// JS layer turns it into a Promise. JS functions called from C++ (appliers, hooks, callbacks)
// must never throw: a JS exception unwinding through wasm frames would skip C++ destructors
// (a Transaction would not roll back). The JS layer wraps every such function in try/catch.
#include <emscripten/bind.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/entity_store.hpp"
#include "core/error.hpp"
#include "core/event_applier.hpp"
#include "core/event_store.hpp"
#include "core/json.hpp"
#include "core/model.hpp"
#include "core/search.hpp"
#include "core/storage.hpp"
#include "core/store.hpp"
#include "sync/sync_manager.hpp"
#include "wasm/platform.hpp"

using emscripten::val;

namespace dc::wasm {
namespace {

// ---------------------------------------------------------------------------------------------
// Results

std::string dumpJson(const Json& value) {
  // `replace`: text from JS is valid UTF-8, but a stored value must never make a read throw.
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

val okResult(const Json& value) { return val(dumpJson(value)); }

// Messages are for people; a message quoting a hostile 1 MB value is cut in the middle.
std::string boundedMessage(const std::string& message) {
  constexpr size_t kMax = 600;
  if (message.size() <= kMax) return message;
  size_t head = kMax - 200;
  while (head > 0 && (static_cast<unsigned char>(message[head]) & 0xC0) == 0x80) --head;  // UTF-8 boundary
  size_t tail = message.size() - 150;
  while (tail < message.size() && (static_cast<unsigned char>(message[tail]) & 0xC0) == 0x80) ++tail;
  return message.substr(0, head) + " [... " + std::to_string(tail - head) + " bytes ...] " + message.substr(tail);
}

val errorResult(const std::string& code, const std::string& message, int httpStatus = 0) {
  val r = val::object();
  r.set("ok", false);
  r.set("code", code);
  r.set("message", boundedMessage(message));
  if (httpStatus) r.set("status", httpStatus);
  return r;
}

val errorResult(const Error& e) { return errorResult(e.codeName(), e.what(), e.httpStatus()); }

// The error Result of the exception being handled (call inside a catch block only): the one
// mapping from C++ exceptions to error codes, for single Results and batch items alike.
struct CaughtError {
  std::string code;
  std::string message;
  int httpStatus = 0;
};
CaughtError caughtError() {
  try {
    throw;
  } catch (const Error& e) {
    return {e.codeName(), e.what(), e.httpStatus()};
  } catch (const Json::exception& e) {
    // A JSON value of the wrong shape that slipped past validation: the caller's input.
    return {"INVALID_FORM", std::string("Invalid input: ") + e.what()};
  } catch (const std::bad_alloc&) {
    return {"STORAGE", "Out of memory"};
  } catch (const std::exception& e) {
    return {"INTERNAL", std::string("Internal engine error: ") + e.what()};
  } catch (...) {
    return {"INTERNAL", "Internal engine error"};
  }
}

// Runs f (returning Json) and converts every exception into an error Result.
template <class F>
val guarded(F&& f) {
  try {
    return okResult(f());
  } catch (...) {
    CaughtError e = caughtError();
    return errorResult(e.code, e.message, e.httpStatus);
  }
}

// One item of a batch Result (a JSON array, one crossing for the whole batch):
// {"v": value} or {"e": {"code", "message", "status"?}}, appended to out.
template <class F>
void appendBatchItem(std::string& out, F&& f) {
  size_t mark = out.size();
  try {
    out += "{\"v\":";
    appendJson(out, f(), true);
    out += '}';
  } catch (...) {
    out.resize(mark);
    CaughtError e = caughtError();
    out += "{\"e\":{\"code\":";
    appendJsonString(out, e.code);
    out += ",\"message\":";
    if (!appendJsonString(out, boundedMessage(e.message))) out += "\"(message not valid UTF-8)\"";
    if (e.httpStatus) out += ",\"status\":" + std::to_string(e.httpStatus);
    out += "}}";
  }
}

// Splits the batch texts the JS layer joins with '\n' (JSON.stringify never emits a raw newline).
std::vector<std::string_view> batchParts(const std::string& joined) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t nl = joined.find('\n', start);
    parts.emplace_back(std::string_view(joined).substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return parts;
}

// "INVALID_FORM" -> ErrorCode::InvalidForm (errors reported by JS appliers); unknown -> fallback.
ErrorCode errorCodeFromName(const std::string& name, ErrorCode fallback) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::Closed); ++i)
    if (name == errorCodeName(static_cast<ErrorCode>(i))) return static_cast<ErrorCode>(i);
  return fallback;
}

template <class T>
Json toJsonArray(const std::vector<T>& items) {
  Json array = Json::array();
  for (const auto& item : items) array.push_back(item.toJson());
  return array;
}

template <class T>
Json toJsonOrNull(const std::optional<T>& item) {
  return item ? item->toJson() : Json(nullptr);
}

template <class T>
std::vector<T> fromJsonArray(const std::string& text, const char* what) {
  Json array = parseJson(text, what);
  if (!array.is_array()) throw Error(ErrorCode::InvalidForm, std::string(what) + " must be an array");
  std::vector<T> items;
  items.reserve(array.size());
  for (const auto& j : array) items.push_back(T::fromJson(j));
  return items;
}

std::vector<std::string> stringArray(const std::string& text, const char* what) {
  Json array = parseJson(text, what);
  if (!array.is_array()) throw Error(ErrorCode::InvalidForm, std::string(what) + " must be an array of strings");
  std::vector<std::string> out;
  for (const auto& j : array) {
    if (!j.is_string()) throw Error(ErrorCode::InvalidForm, std::string(what) + " must be an array of strings");
    out.push_back(j.get<std::string>());
  }
  return out;
}

Json proofToJson(const std::vector<ProofStep>& proof) {
  Json array = Json::array();
  for (const auto& step : proof) array.push_back({{"hash", step.hash}, {"siblingOnLeft", step.siblingOnLeft}});
  return array;
}

std::vector<ProofStep> proofFromJson(const std::string& text) {
  Json array = parseJson(text, "proof");
  if (!array.is_array()) throw Error(ErrorCode::InvalidForm, "proof must be an array of {hash, siblingOnLeft}");
  std::vector<ProofStep> proof;
  for (const auto& j : array) {
    if (!j.is_object() || !j.contains("hash") || !j["hash"].is_string())
      throw Error(ErrorCode::InvalidForm, "proof must be an array of {hash, siblingOnLeft}");
    proof.push_back({j["hash"].get<std::string>(), j.value("siblingOnLeft", false)});
  }
  return proof;
}

// ---------------------------------------------------------------------------------------------
// Flush glue: the core's PlatformFlush hook -> Module.dcFlush (flush_glue.js) -> completeFlush.
// Callbacks wait in a registry keyed by id because JS cannot hold a C++ std::function.

std::map<int, FlushCallback>& pendingFlushes() {
  static std::map<int, FlushCallback> pending;
  return pending;
}

// Bound entry point called by flush_glue.js: the flush's continuations (a sync's finish, a
// write's completion) run under it, so it has the same guard as every other entry point.
void completeFlush(int id, std::string code, std::string message) {
  runContinuation("a flush completion", [&] {
    auto it = pendingFlushes().find(id);
    if (it == pendingFlushes().end()) return;
    FlushCallback done = std::move(it->second);
    pendingFlushes().erase(it);
    if (code.empty()) done(std::nullopt);
    else done(Error(ErrorCode::Storage, message));
  });
}

// kind: "idbfs" (utime + FS.syncfs on the mount) or "nodefs" (fsync the real files).
PlatformFlush jsPlatformFlush(std::string kind, std::string mountPath) {
  return [kind = std::move(kind), mountPath = std::move(mountPath)](const std::vector<std::string>& files,
                                                                     FlushCallback done) {
    static int nextId = 1;
    int id = nextId++;
    pendingFlushes()[id] = std::move(done);
    val list = val::array();
    for (const auto& name : files) list.call<void>("push", name);
    val::module_property("dcFlush")(kind, mountPath, list, id);
  };
}

// ---------------------------------------------------------------------------------------------
// Engine: one open store.

class SyncHandle;

class Engine {
 public:
  // kind: "memory" | "directory"; flushKind for directories: "idbfs" | "nodefs" | "native".
  val open(std::string kind, std::string path, std::string flushKind) {
    return guarded([&] {
      if (store_) throw Error(ErrorCode::StoreLocked, "This engine already has an open store");
      std::shared_ptr<Storage> storage;
      if (kind == "memory") storage = openMemoryStorage();
      else if (kind == "directory")
        storage = openDirectoryStorage(path, flushKind == "native" ? PlatformFlush{} : jsPlatformFlush(flushKind, path));
      else throw Error(ErrorCode::Storage, "Unknown storage kind: " + kind);
      store_ = Store::open(std::move(storage));
      store_->setCommitObserver([this](const CommitNotice& notice) { noteCommit(notice); });
      memory_ = kind == "memory";
      events_ = std::make_unique<EventStore>(store_);
      entities_ = std::make_unique<EntityStore>(store_);
      applier_ = std::make_unique<EventApplierService>(*events_, *entities_);
      return Json(nullptr);
    });
  }

  // Frees the store and every sync manager over it; later calls answer CLOSED.
  void close();

  bool isOpen() const { return store_ != nullptr; }

  // Group commit: cb(result) once everything committed so far is durable.
  void flush(val cb) {
    if (!store_) return (void)cb(errorResult(closedError()));
    store_->flush([cb](std::optional<Error> error) mutable { cb(error ? errorResult(*error) : okResult(nullptr)); });
  }

  // --- EventStore ---
  val getAllEvents() { return guarded([&] { return toJsonArray(events().getAllEvents()); }); }
  val getEvent(std::string guid) { return guarded([&] { return toJsonOrNull(events().getEvent(guid)); }); }
  val isEventExisted(std::string guid) { return guarded([&] { return Json(events().isEventExisted(guid)); }); }
  val getEventsSince(std::string ts) { return guarded([&] { return toJsonArray(events().getEventsSince(ts)); }); }
  val getEventsSincePagination(std::string cursor, double limit) {
    return guarded([&] {
      if (!(limit >= 1)) throw Error(ErrorCode::InvalidForm, "limit must be a positive number");
      auto page = events().getEventsSincePagination(cursor, static_cast<size_t>(limit));
      return Json{{"events", toJsonArray(page.events)},
                  {"nextCursor", page.nextCursor ? Json(*page.nextCursor) : Json(nullptr)}};
    });
  }
  val getUnsyncedEvents() { return guarded([&] { return toJsonArray(events().getUnsyncedEvents()); }); }
  val getUnsyncedEventsCount() { return guarded([&] { return Json(events().getUnsyncedEventsCount()); }); }
  val updateEventSyncLevel(std::string guidsJson, int level) {
    return guarded([&] {
      if (level < LOCAL || level > EXTERNAL) throw Error(ErrorCode::InvalidForm, "syncLevel must be 0, 1 or 2");
      events().updateEventSyncLevel(stringArray(guidsJson, "event guids"), level);
      return Json(nullptr);
    });
  }
  val getAuditTrailByEntityGuid(std::string guid) {
    return guarded([&] { return toJsonArray(events().getAuditTrailByEntityGuid(guid)); });
  }
  val getAuditLogsSince(std::string ts) { return guarded([&] { return toJsonArray(events().getAuditLogsSince(ts)); }); }
  val saveAuditLogs(std::string json) {
    return guarded([&] {
      events().saveAuditLogs(fromJsonArray<AuditEntry>(json, "audit logs"));
      return Json(nullptr);
    });
  }
  val getMerkleRoot() { return guarded([&] { return Json(events().getMerkleRoot()); }); }
  val getProof(std::string eventJson) {
    return guarded([&] { return proofToJson(events().getProof(Event::fromJson(parseJson(eventJson, "event")))); });
  }
  val verifyEvent(std::string eventJson, std::string proofJson) {
    return guarded([&] {
      return Json(events().verifyEvent(Event::fromJson(parseJson(eventJson, "event")), proofFromJson(proofJson)));
    });
  }
  // name: "lastRemoteSync" | "lastLocalSync" | "lastPullExternalSync" | "lastPushExternalSync".
  val getWatermark(std::string name) {
    return guarded([&] {
      auto& s = events();
      if (name == "lastRemoteSync") return Json(s.getLastRemoteSyncTimestamp());
      if (name == "lastLocalSync") return Json(s.getLastLocalSyncTimestamp());
      if (name == "lastPullExternalSync") return Json(s.getLastPullExternalSyncTimestamp());
      if (name == "lastPushExternalSync") return Json(s.getLastPushExternalSyncTimestamp());
      throw Error(ErrorCode::InvalidForm, "Unknown sync watermark: " + name);
    });
  }
  val setWatermark(std::string name, std::string ts) {
    return guarded([&] {
      auto& s = events();
      if (name == "lastRemoteSync") s.setLastRemoteSyncTimestamp(ts);
      else if (name == "lastLocalSync") s.setLastLocalSyncTimestamp(ts);
      else if (name == "lastPullExternalSync") s.setLastPullExternalSyncTimestamp(ts);
      else if (name == "lastPushExternalSync") s.setLastPushExternalSyncTimestamp(ts);
      else throw Error(ErrorCode::InvalidForm, "Unknown sync watermark: " + name);
      return Json(nullptr);
    });
  }
  val getSyncStateValue(std::string key) {
    return guarded([&] {
      auto v = events().getSyncState(key);
      return v ? *v : Json(nullptr);
    });
  }
  val setSyncStateValue(std::string key, std::string valueJson) {
    return guarded([&] {
      events().setSyncState(key, parseJson(valueJson, "sync state value"));
      return Json(nullptr);
    });
  }
  val getRejectedEvents() { return guarded([&] { return toJsonArray(events().getRejectedEvents()); }); }
  val clearEvents() {
    return guarded([&] {
      events().clearStore();
      return Json(nullptr);
    });
  }

  // --- EntityStore ---
  val getEntity(std::string guid) { return guarded([&] { return toJsonOrNull(entities().getEntity(guid)); }); }
  // Several entities in one crossing (group members for EntityDataManager.getEntity); null for missing.
  val getEntities(std::string guidsJson) {
    return guarded([&] {
      Json out = Json::array();
      for (const auto& guid : stringArray(guidsJson, "entity guids")) out.push_back(toJsonOrNull(entities().getEntity(guid)));
      return out;
    });
  }
  val getEntityByExternalId(std::string id) {
    return guarded([&] { return toJsonOrNull(entities().getEntityByExternalId(id)); });
  }
  val getAllEntities() { return guarded([&] { return toJsonArray(entities().getAllEntities()); }); }
  val searchEntities(std::string criteriaJson) {
    return guarded([&] { return toJsonArray(entities().searchEntities(parseJson(criteriaJson, "search criteria"))); });
  }
  val getModifiedEntitiesSince(std::string ts) {
    return guarded([&] { return toJsonArray(entities().getModifiedEntitiesSince(ts)); });
  }
  val markEntityAsSynced(std::string guid) {
    return guarded([&] {
      entities().markEntityAsSynced(guid);
      return Json(nullptr);
    });
  }
  val markAllEntitiesAsSynced() {
    return guarded([&] {
      entities().markAllEntitiesAsSynced();
      return Json(nullptr);
    });
  }
  val deleteEntity(std::string guid) {
    return guarded([&] {
      entities().deleteEntity(guid);
      return Json(nullptr);
    });
  }
  val savePotentialDuplicates(std::string json) {
    return guarded([&] {
      entities().savePotentialDuplicates(fromJsonArray<PotentialDuplicate>(json, "potential duplicates"));
      return Json(nullptr);
    });
  }
  val getPotentialDuplicates() { return guarded([&] { return toJsonArray(entities().getPotentialDuplicates()); }); }
  val resolvePotentialDuplicates(std::string json) {
    return guarded([&] {
      entities().resolvePotentialDuplicates(fromJsonArray<PotentialDuplicate>(json, "potential duplicates"));
      return Json(nullptr);
    });
  }
  val clearEntities() {
    return guarded([&] {
      entities().clearStore();
      return Json(nullptr);
    });
  }

  // --- EventApplierService ---
  // Applies the form, then answers once it is durable (group commit: concurrent submits share
  // flushes). fillTimestamp: a missing timestamp comes from the engine's hybrid logical clock.
  // Returns the Result at once when there is nothing to wait for (an error, or a memory store,
  // whose flush is a no-op: the flush request and the callback cost more than the answer);
  // otherwise returns undefined and calls cb(result) once durable.
  val submitForm(std::string formJson, bool fillTimestamp, double wallClockMs, val cb) {
    val applied = guarded([&] {
      Json form = parseJson(formJson, "Form submission");
      if (fillTimestamp && form.is_object() && (!form.contains("timestamp") || form["timestamp"].is_null()))
        form["timestamp"] = applier().nextLocalTimestamp(static_cast<int64_t>(wallClockMs));
      auto entity = applier().submitForm(std::move(form));
      return entity ? *entity : Json(nullptr);
    });
    if (!applied.isString() || memory_) return applied;
    store_->flush([cb, applied](std::optional<Error> error) mutable { cb(error ? errorResult(*error) : applied); });
    return val::undefined();
  }
  // Submits of one JS turn in one call (js/submit-batch.js): formsText holds the forms' JSON
  // texts joined with '\n', fill one '1'/'0' per form (fill a missing timestamp from the
  // clock). Each form is its own transaction (a bad form fails alone), the batch is one journal
  // write (Store::WriteBatch) and one flush. Result: a JSON array, one {"v": entity|null} or
  // {"e": {code, message}} per form; returned at once for a memory store or when the write
  // failed, else undefined and cb(result) once durable.
  val submitFormBatch(std::string formsText, std::string fill, double wallClockMs, val cb) {
    if (!store_) return errorResult(closedError());
    std::vector<std::string_view> parts = batchParts(formsText);
    if (parts.size() != fill.size()) return errorResult("INTERNAL", "submitFormBatch: one fill flag per form");
    std::string out = "[";
    std::optional<Error> writeError;
    try {
      Store::WriteBatch batch(*store_);
      for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += ',';
        appendBatchItem(out, [&] {
          Json form = parseJson(parts[i], "Form submission");
          if (fill[i] == '1' && form.is_object() && (!form.contains("timestamp") || form["timestamp"].is_null()))
            form["timestamp"] = applier().nextLocalTimestamp(static_cast<int64_t>(wallClockMs));
          auto entity = applier().submitForm(std::move(form));
          return entity ? std::move(*entity) : Json(nullptr);
        });
      }
      batch.finish();
    } catch (const Error& e) {
      writeError = e;  // the batch's write failed: nothing of it is durable
    } catch (const std::bad_alloc&) {
      writeError = Error(ErrorCode::Storage, "Out of memory");
    }
    if (writeError) return errorResult(*writeError);
    out += ']';
    if (memory_) return val(out);
    store_->flush([cb, out = std::move(out)](std::optional<Error> error) mutable {
      cb(error ? errorResult(*error) : val(out));
    });
    return val::undefined();
  }
  // fn(entityJson, formJson) -> JSON text of the new entity or "null", {error: {code, message}},
  // or {thenable: true} (the JS wrapper saw a Promise). See jsApplier below.
  val registerEventApplier(std::string type, val fn) {
    return guarded([&] {
      if (type.empty()) throw Error(ErrorCode::InvalidForm, "Event applier type must be a non-empty string");
      applier().registerEventApplier(type, jsApplier(type, fn));
      return Json(nullptr);
    });
  }
  val hasEventApplier(std::string type) { return guarded([&] { return Json(applier().hasEventApplier(type)); }); }
  val registeredTypes() { return guarded([&] { return Json(applier().registeredTypes()); }); }
  val rebuild() {
    return guarded([&] {
      applier().rebuild();
      return Json(nullptr);
    });
  }
  // ctx.getEntity / ctx.saveEntity of a running custom applier.
  val applierGetEntity(std::string guid) {
    return guarded([&] {
      auto entity = context().getEntity(guid);
      return entity ? *entity : Json(nullptr);
    });
  }
  val applierSaveEntity(std::string action, std::string existingJson, std::string modifiedJson, std::string changesJson) {
    return guarded([&] {
      Json existing = parseJson(existingJson, "existing entity");
      Json modified = parseJson(modifiedJson, "modified entity");
      if (!modified.is_object()) throw Error(ErrorCode::InvalidForm, "saveEntity: modified must be an entity object");
      context().saveEntity(action, existing.is_null() ? std::nullopt : std::optional<Json>(existing), modified,
                           parseJson(changesJson, "changes"));
      return Json(nullptr);
    });
  }

  // --- change sets and live queries (store.onChange / store.watch in js/changes.js) ---
  // Commits are collected into change sets, one per source in commit order ("local": a call
  // from JS; "sync": a sync response being applied; "rebuild": a rebuild's replacement of the
  // entities). fn() is called once when a set starts after the last takeChanges(); the JS side
  // then takes them on a microtask, so a pulled page arrives as one set. null stops collecting.
  val setChangeListener(val fn) {
    changeListener_ = fn;
    notified_ = false;
    pending_.clear();
    return okResult(nullptr);
  }
  // [{source, entityGuids, eventGuids, cleared, watches: [ids of watches the set can affect]}]
  val takeChanges() {
    return guarded([&] {
      notified_ = false;
      Json out = Json::array();
      std::vector<Pending> sets = std::move(pending_);
      pending_.clear();
      for (auto& set : sets) {
        Json affected = Json::array();
        for (auto& [id, watch] : watches_) {
          if (watchAffected(watch, set)) affected.push_back(id);
        }
        out.push_back({{"source", set.source},
                       {"entityGuids", std::move(set.entities)},
                       {"eventGuids", std::move(set.events)},
                       {"cleared", set.cleared},
                       {"watches", std::move(affected)}});
      }
      return out;
    });
  }
  // A watch remembers which entities matched its criteria, so a later change set can be
  // checked in O(changed entities): it affects the watch when a changed entity matched before
  // or matches now. -> id.
  val watchOpen(std::string criteriaJson) {
    return guarded([&] {
      requireOpen();
      Watch watch{parseJson(criteriaJson, "search criteria"), {}};
      if (!watch.criteria.is_array()) throw Error(ErrorCode::InvalidForm, "search criteria must be an array of {field: condition}");
      validateSearchCriteria(watch.criteria);
      for (const auto& [guid, pair] : store_->entities()) {
        if (matchesCriteria(pair.modified, watch.criteria)) watch.matching.insert(guid);
      }
      int id = nextWatchId_++;
      watches_.emplace(id, std::move(watch));
      return Json(id);
    });
  }
  void watchClose(int id) { watches_.erase(id); }
  // A watch's page, sorted from the entities known to match it (no scan of the whole store).
  // Exact right after takeChanges(); before it the next change set triggers another refresh.
  val watchPage(int id, double limit, double offset, std::string sortField, bool descending) {
    return guarded([&] {
      auto it = watches_.find(id);
      if (it == watches_.end()) throw Error(ErrorCode::InvalidForm, "This watch was stopped");
      std::vector<std::string> guids(it->second.matching.begin(), it->second.matching.end());
      auto result = entities().pageOf(guids, pageRequest(limit, offset, sortField, descending));
      return Json{{"items", toJsonArray(result.items)}, {"total", result.total}};
    });
  }
  // A sorted page of the entities matching criteria ([] = all): {items, total}.
  val searchPage(std::string criteriaJson, double limit, double offset, std::string sortField, bool descending) {
    return guarded([&] {
      auto result = entities().searchEntitiesPage(parseJson(criteriaJson, "search criteria"),
                                                  pageRequest(limit, offset, sortField, descending));
      return Json{{"items", toJsonArray(result.items)}, {"total", result.total}};
    });
  }
  static PageRequest pageRequest(double limit, double offset, const std::string& sortField, bool descending) {
    if (!(limit >= 0) || !(offset >= 0) || limit > 9e15 || offset > 9e15)
      throw Error(ErrorCode::InvalidForm, "limit and offset must be non-negative integers");
    return PageRequest{static_cast<size_t>(limit), static_cast<size_t>(offset), sortField.empty() ? "guid" : sortField,
                       descending};
  }
  // The source commits are attributed to while a sync continuation runs (see SyncHandle).
  std::shared_ptr<std::string> sourceCell() { return source_; }

  EventStore& events() { return (requireOpen(), *events_); }
  EntityStore& entities() { return (requireOpen(), *entities_); }
  EventApplierService& applier() { return (requireOpen(), *applier_); }
  std::set<SyncHandle*>& syncHandles() { return syncHandles_; }

 private:
  static Error closedError() { return Error(ErrorCode::Closed, "The store is closed"); }
  void requireOpen() const {
    if (!store_) throw closedError();
  }
  ApplierContext& context() {
    if (!context_) throw Error(ErrorCode::InvalidForm, "ctx.getEntity/saveEntity may only be called while an applier runs");
    return *context_;
  }

  EventApplier jsApplier(const std::string& type, val fn) {
    return [this, type, fn](const std::optional<Json>& entity, const Json& form,
                            ApplierContext& ctx) -> std::optional<Json> {
      // Nested appliers (an applier's saveEntity cannot start another, but keep it exact).
      ApplierContext* outer = context_;
      context_ = &ctx;
      struct Restore {
        Engine* self;
        ApplierContext* outer;
        ~Restore() { self->context_ = outer; }
      } restore{this, outer};
      val out = fn(entity ? dumpJson(*entity) : std::string("null"), dumpJson(form));
      if (out.isString()) {
        Json result = parseJson(out.as<std::string>(), "custom event applier result");
        if (result.is_null()) return std::nullopt;
        if (!result.is_object())
          throw Error(ErrorCode::InvalidForm, "Event applier for type " + type + " must return an entity object or null");
        return result;
      }
      if (out["thenable"].as<bool>())
        throw Error(ErrorCode::InvalidForm, "Event applier for type " + type +
                                                " returned a Promise: event appliers must be synchronous and deterministic");
      val error = out["error"];
      throw Error(errorCodeFromName(error["code"].as<std::string>(), ErrorCode::InvalidForm),
                  error["message"].as<std::string>());
    };
  }

  struct Pending {
    std::string source;
    std::vector<std::string> entities, events;
    std::unordered_set<std::string> seenEntities, seenEvents;
    bool cleared = false;
  };
  struct Watch {
    Json criteria;
    std::unordered_set<std::string> matching;
  };

  void noteCommit(const CommitNotice& notice) {
    if (changeListener_.isNull() || changeListener_.isUndefined()) return;
    std::string source = notice.rebuild ? "rebuild" : *source_;
    if (pending_.empty() || pending_.back().source != source) pending_.push_back(Pending{source, {}, {}, {}, {}, false});
    Pending& set = pending_.back();
    for (const auto& g : notice.entityGuids)
      if (set.seenEntities.insert(g).second) set.entities.push_back(g);
    for (const auto& g : notice.eventGuids)
      if (set.seenEvents.insert(g).second) set.events.push_back(g);
    set.cleared = set.cleared || notice.cleared;
    if (!notified_) {
      notified_ = true;
      changeListener_();  // the JS side only schedules a microtask: it cannot throw into here
    }
  }

  bool watchAffected(Watch& watch, const Pending& set) {
    bool affected = false;
    if (set.cleared) {
      watch.matching.clear();
      for (const auto& [guid, pair] : store_->entities()) {
        if (matchesCriteria(pair.modified, watch.criteria)) watch.matching.insert(guid);
      }
      return true;
    }
    for (const auto& guid : set.entities) {
      bool was = watch.matching.count(guid) > 0;
      const EntityPair* pair = store_->findEntity(guid);
      bool now = pair && matchesCriteria(pair->modified, watch.criteria);
      if (now && !was) watch.matching.insert(guid);
      if (was && !now) watch.matching.erase(guid);
      affected = affected || was || now;
    }
    return affected;
  }

  val changeListener_ = val::null();
  bool notified_ = false;
  std::vector<Pending> pending_;
  std::map<int, Watch> watches_;
  int nextWatchId_ = 1;
  std::shared_ptr<std::string> source_ = std::make_shared<std::string>("local");

  std::shared_ptr<Store> store_;
  std::unique_ptr<EventStore> events_;
  std::unique_ptr<EntityStore> entities_;
  std::unique_ptr<EventApplierService> applier_;
  ApplierContext* context_ = nullptr;
  bool memory_ = false;  // memory storage: durable as soon as committed
  std::set<SyncHandle*> syncHandles_;
};

// ---------------------------------------------------------------------------------------------
// SyncHandle: an InternalSyncManager with the fetch transport and the JS clock.

// Commits made while a sync continuation runs are attributed to "sync" (calls from JS are "local").
class SourceScope {
 public:
  explicit SourceScope(std::shared_ptr<std::string> cell) : cell_(std::move(cell)), outer_(*cell_) { *cell_ = "sync"; }
  ~SourceScope() { *cell_ = outer_; }
  SourceScope(const SourceScope&) = delete;
  SourceScope& operator=(const SourceScope&) = delete;

 private:
  std::shared_ptr<std::string> cell_;
  std::string outer_;
};

// What ends the running operation when an exception escapes a continuation (set once the manager
// exists; see runContinuation in src/wasm/platform.hpp).
using EscapeHandler = std::shared_ptr<std::function<void(const Error&)>>;

// The JS transport, with each response handled under a SourceScope and the continuation boundary.
class SyncSourceTransport : public Transport {
 public:
  SyncSourceTransport(std::unique_ptr<Transport> inner, std::shared_ptr<std::string> cell, EscapeHandler onEscape)
      : inner_(std::move(inner)), cell_(std::move(cell)), onEscape_(std::move(onEscape)) {}
  void send(const HttpRequest& request, ResponseCallback done) override {
    inner_->send(request, [cell = cell_, onEscape = onEscape_, done = std::move(done)](HttpResponse response) mutable {
      SourceScope scope(cell);
      runContinuation("a sync response handler", [&] { done(std::move(response)); },
                      [&](const Error& e) { if (*onEscape) (*onEscape)(e); });
    });
  }
  void abortAll() override { inner_->abortAll(); }

 private:
  std::unique_ptr<Transport> inner_;
  std::shared_ptr<std::string> cell_;
  EscapeHandler onEscape_;
};

// The JS clock, with each timer of the sync manager run under the continuation boundary.
class GuardedClock : public Clock {
 public:
  GuardedClock(std::unique_ptr<Clock> inner, EscapeHandler onEscape) : inner_(std::move(inner)), onEscape_(std::move(onEscape)) {}
  int64_t nowMs() override { return inner_->nowMs(); }
  void setTimeout(int64_t delayMs, std::function<void()> fn) override { inner_->setTimeout(delayMs, wrap(std::move(fn))); }
  TimerId setTimer(int64_t delayMs, std::function<void()> fn) override { return inner_->setTimer(delayMs, wrap(std::move(fn))); }
  void clearTimer(TimerId id) override { inner_->clearTimer(id); }

 private:
  std::function<void()> wrap(std::function<void()> fn) {
    return [onEscape = onEscape_, fn = std::move(fn)] {
      runContinuation("a sync timer", fn, [&](const Error& e) { if (*onEscape) (*onEscape)(e); });
    };
  }
  std::unique_ptr<Clock> inner_;
  EscapeHandler onEscape_;
};

SyncCallback resultCallback(val cb) {
  return [cb](std::optional<Error> error, Json result) mutable { cb(error ? errorResult(*error) : okResult(result)); };
}

SyncOptions syncOptionsFromJson(const Json& j, SyncOptions o) {
  if (!j.is_object()) throw Error(ErrorCode::InvalidForm, "sync options must be an object");
  auto size = [&](const char* key, size_t& field) {
    if (j.contains(key)) field = j[key].get<size_t>();
  };
  size("pushChunkSize", o.pushChunkSize);
  size("pullLimit", o.pullLimit);
  if (j.contains("maxAttempts")) o.maxAttempts = j["maxAttempts"].get<int>();
  if (j.contains("backoffBaseMs")) o.backoffBaseMs = j["backoffBaseMs"].get<int64_t>();
  if (j.contains("requestTimeoutMs")) o.requestTimeoutMs = j["requestTimeoutMs"].get<int>();
  if (j.contains("tokenRefreshMarginMs")) o.tokenRefreshMarginMs = j["tokenRefreshMarginMs"].get<int64_t>();
  size("maxResponseBytes", o.maxResponseBytes);
  return o;
}

Json syncOptionsToJson(const SyncOptions& o) {
  return {{"pushChunkSize", o.pushChunkSize},       {"pullLimit", o.pullLimit},
          {"maxAttempts", o.maxAttempts},           {"backoffBaseMs", o.backoffBaseMs},
          {"requestTimeoutMs", o.requestTimeoutMs}, {"tokenRefreshMarginMs", o.tokenRefreshMarginMs},
          {"maxResponseBytes", o.maxResponseBytes}};
}

class SyncHandle {
 public:
  explicit SyncHandle(Engine& engine) : engine_(&engine) { engine.syncHandles().insert(this); }
  ~SyncHandle() {
    *alive_ = false;
    if (engine_) engine_->syncHandles().erase(this);
    // Requests still in flight complete (CLOSED) while the clock they use still exists.
    close();
    manager_.reset();
    transport_.reset();
    clock_.reset();
  }

  val init(std::string url, std::string token, std::string configId, std::string optionsJson) {
    return guarded([&] {
      if (!engine_) throw Error(ErrorCode::Closed, "The store is closed");
      SyncOptions options = syncOptionsFromJson(parseJson(optionsJson, "sync options"), SyncOptions{});
      source_ = engine_->sourceCell();
      auto onEscape = std::make_shared<std::function<void(const Error&)>>();
      transport_ = std::make_unique<SyncSourceTransport>(makeJsTransport(), source_, onEscape);
      clock_ = std::make_unique<GuardedClock>(makeJsClock(), onEscape);
      manager_ = std::make_unique<InternalSyncManager>(engine_->events(), engine_->entities(), engine_->applier(), url,
                                                       token, configId.empty() ? "default" : configId, *transport_,
                                                       *clock_, options);
      // The manager outlives no continuation that can reach this: detach() resets it first.
      *onEscape = [manager = manager_.get(), alive = alive_](const Error& e) {
        if (*alive) manager->failRunning(e);
      };
      return Json(nullptr);
    });
  }

  // The engine is closing: the manager goes first, it holds references into the stores.
  void detach() {
    *alive_ = false;
    manager_.reset();
    engine_ = nullptr;
  }

  bool isSyncing() const { return manager_ && manager_->isSyncing(); }
  // The store is closing: requests in flight are aborted, their operations end with CLOSED.
  void close() {
    if (manager_) manager_->close();
  }
  void login(std::string email, std::string password, val cb) {
    run(cb, [&](SyncCallback done) { manager().login(email, password, std::move(done)); });
  }
  void sync(val cb) {
    run(cb, [&](SyncCallback done) { manager().sync(std::move(done)); });
  }
  void pushToRemote(val cb) {
    run(cb, [&](SyncCallback done) { manager().pushToRemote(std::move(done)); });
  }
  void pullFromRemote(val cb) {
    run(cb, [&](SyncCallback done) { manager().pullFromRemote(std::move(done)); });
  }
  val setAuthToken(std::string token) {
    return guarded([&] {
      manager().setAuthToken(token);
      return Json(nullptr);
    });
  }
  val hasAuthToken() { return guarded([&] { return Json(manager().hasAuthToken()); }); }
  val logout() {
    return guarded([&] {
      manager().logout();
      return Json(nullptr);
    });
  }
  val getUnsyncedEventsCount() { return guarded([&] { return Json(manager().getUnsyncedEventsCount()); }); }
  val hasUnsyncedEvents() { return guarded([&] { return Json(manager().hasUnsyncedEvents()); }); }
  val checkIfDuplicatesExist() { return guarded([&] { return Json(manager().checkIfDuplicatesExist()); }); }
  val getSyncState() { return guarded([&] { return manager().getSyncState(); }); }
  val getOptions() { return guarded([&] { return syncOptionsToJson(manager().options()); }); }
  val setOptions(std::string json) {
    return guarded([&] {
      manager().setOptions(syncOptionsFromJson(parseJson(json, "sync options"), manager().options()));
      return Json(nullptr);
    });
  }

  // fn(progressJson); null/undefined removes it.
  val setProgressCallback(val fn) {
    return guarded([&] {
      if (fn.isNull() || fn.isUndefined()) manager().setProgressCallback({});
      else manager().setProgressCallback([fn](const Json& progress) { fn(dumpJson(progress)); });
      return Json(nullptr);
    });
  }
  // fn(reason, answerId): JS later calls answerAuth(answerId, answerJson) exactly once.
  val setAuthRequiredHook(val fn) {
    return guarded([&] {
      if (fn.isNull() || fn.isUndefined()) return manager().setAuthRequiredHook({}), Json(nullptr);
      manager().setAuthRequiredHook([this, fn](const std::string& reason, AuthRespond respond) {
        int id = nextAnswerId_++;
        authAnswers_[id] = std::move(respond);
        fn(reason, id);
      });
      return Json(nullptr);
    });
  }
  val answerAuth(int id, std::string answerJson) {
    return guarded([&] {
      auto it = authAnswers_.find(id);
      if (it == authAnswers_.end()) throw Error(ErrorCode::Unauthorized, "This authentication request was already answered");
      AuthRespond respond = std::move(it->second);
      authAnswers_.erase(it);
      std::optional<SourceScope> scope;
      if (source_) scope.emplace(source_);
      Json answer = nullptr;
      try {
        answer = parseJson(answerJson, "auth hook answer");
      } catch (const Error&) {
        // An unusable answer counts as "give up" (UNAUTHORIZED) rather than leaving the sync hanging.
      }
      respond(answer);
      return Json(nullptr);
    });
  }
  // fn(conflictJson) -> JSON text of a form to submit, or "null" for the default order.
  val setConflictResolver(val fn) {
    return guarded([&] {
      if (fn.isNull() || fn.isUndefined()) return manager().setConflictResolver({}), Json(nullptr);
      manager().setConflictResolver([fn](const Json& conflict) -> std::optional<Json> {
        Json choice = parseJson(fn(dumpJson(conflict)).as<std::string>(), "conflict resolver result");
        if (choice.is_null()) return std::nullopt;
        return choice;
      });
      return Json(nullptr);
    });
  }

 private:
  InternalSyncManager& manager() {
    if (!manager_) throw Error(ErrorCode::Closed, engine_ ? "The sync manager is not initialised" : "The store is closed");
    return *manager_;
  }
  // Starts an async operation; a synchronous throw becomes the callback's error.
  template <class Start>
  void run(val cb, Start&& start) {
    std::optional<SourceScope> scope;
    if (source_) scope.emplace(source_);
    val failed = guarded([&] {
      start(resultCallback(cb));
      return Json(nullptr);
    });
    if (!failed.isString()) cb(failed);
  }

  Engine* engine_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once the manager is gone
  std::shared_ptr<std::string> source_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<InternalSyncManager> manager_;
  std::map<int, AuthRespond> authAnswers_;
  int nextAnswerId_ = 1;
};

void Engine::close() {
  for (SyncHandle* handle : syncHandles_) handle->close();
  for (SyncHandle* handle : syncHandles_) handle->detach();
  syncHandles_.clear();
  changeListener_ = val::null();
  pending_.clear();
  watches_.clear();
  applier_.reset();
  entities_.reset();
  events_.reset();
  store_.reset();
}

// ---------------------------------------------------------------------------------------------
// Module functions

// The reference server's validator: dc::Event::fromJson on one JSON text.
// "<normalised event JSON>" or {ok: false, code: "INVALID_FORM", message}.
val validateEvent(std::string json) {
  return guarded([&] { return Event::fromJson(parseJson(json, "Event")).toJson(); });
}

// The reference server's validator for a whole push batch in one crossing: eventsText is a
// JSON array of events. -> JSON array, one {"v": {"timestamp", "syncLevel"}} (what
// validation normalises; every other field of the normalised event is the input's, unchanged:
// js/api.js validateEvents builds the event from them) or {"e": {code, message}} per element,
// in order; an error Result when the text is not a JSON array.
val validateEvents(std::string eventsText) {
  try {
    Json events = parseJson(eventsText, "Events", 513);  // each element keeps validateEvent's 512 levels
    if (!events.is_array()) throw Error(ErrorCode::InvalidForm, "Events must be a JSON array");
    std::string out = "[";
    out.reserve(events.size() * 64 + 2);
    for (size_t i = 0; i < events.size(); ++i) {
      if (i) out += ',';
      appendBatchItem(out, [&] {
        Event ev = Event::fromJson(std::move(events[i]));
        return Json{{"timestamp", std::move(ev.timestamp)}, {"syncLevel", ev.syncLevel}};
      });
    }
    out += ']';
    return val(out);
  } catch (...) {
    CaughtError e = caughtError();
    return errorResult(e.code, e.message, e.httpStatus);
  }
}

// Bytes of the wasm heap handed out by malloc and not yet freed (dlmalloc's mallinfo), for the
// benchmarks' heap-per-event figures (HEAP8.length only grows, in large steps).
double heapInUse() { return static_cast<double>(mallinfo().uordblks); }

}  // namespace
}  // namespace dc::wasm

EMSCRIPTEN_BINDINGS(datacollect) {
  using namespace emscripten;
  using dc::wasm::Engine;
  using dc::wasm::SyncHandle;

  function("validateEvent", &dc::wasm::validateEvent);
  function("validateEvents", &dc::wasm::validateEvents);
  function("heapInUse", &dc::wasm::heapInUse);
  function("completeFlush", &dc::wasm::completeFlush);

  class_<Engine>("Engine")
      .constructor<>()
      .function("open", &Engine::open)
      .function("close", &Engine::close)
      .function("isOpen", &Engine::isOpen)
      .function("flush", &Engine::flush)
      .function("getAllEvents", &Engine::getAllEvents)
      .function("getEvent", &Engine::getEvent)
      .function("isEventExisted", &Engine::isEventExisted)
      .function("getEventsSince", &Engine::getEventsSince)
      .function("getEventsSincePagination", &Engine::getEventsSincePagination)
      .function("getUnsyncedEvents", &Engine::getUnsyncedEvents)
      .function("getUnsyncedEventsCount", &Engine::getUnsyncedEventsCount)
      .function("updateEventSyncLevel", &Engine::updateEventSyncLevel)
      .function("getAuditTrailByEntityGuid", &Engine::getAuditTrailByEntityGuid)
      .function("getAuditLogsSince", &Engine::getAuditLogsSince)
      .function("saveAuditLogs", &Engine::saveAuditLogs)
      .function("getMerkleRoot", &Engine::getMerkleRoot)
      .function("getProof", &Engine::getProof)
      .function("verifyEvent", &Engine::verifyEvent)
      .function("getWatermark", &Engine::getWatermark)
      .function("setWatermark", &Engine::setWatermark)
      .function("getSyncStateValue", &Engine::getSyncStateValue)
      .function("setSyncStateValue", &Engine::setSyncStateValue)
      .function("getRejectedEvents", &Engine::getRejectedEvents)
      .function("clearEvents", &Engine::clearEvents)
      .function("getEntity", &Engine::getEntity)
      .function("getEntities", &Engine::getEntities)
      .function("getEntityByExternalId", &Engine::getEntityByExternalId)
      .function("getAllEntities", &Engine::getAllEntities)
      .function("searchEntities", &Engine::searchEntities)
      .function("getModifiedEntitiesSince", &Engine::getModifiedEntitiesSince)
      .function("markEntityAsSynced", &Engine::markEntityAsSynced)
      .function("markAllEntitiesAsSynced", &Engine::markAllEntitiesAsSynced)
      .function("deleteEntity", &Engine::deleteEntity)
      .function("savePotentialDuplicates", &Engine::savePotentialDuplicates)
      .function("getPotentialDuplicates", &Engine::getPotentialDuplicates)
      .function("resolvePotentialDuplicates", &Engine::resolvePotentialDuplicates)
      .function("clearEntities", &Engine::clearEntities)
      .function("submitForm", &Engine::submitForm)
      .function("submitFormBatch", &Engine::submitFormBatch)
      .function("registerEventApplier", &Engine::registerEventApplier)
      .function("hasEventApplier", &Engine::hasEventApplier)
      .function("registeredTypes", &Engine::registeredTypes)
      .function("rebuild", &Engine::rebuild)
      .function("applierGetEntity", &Engine::applierGetEntity)
      .function("applierSaveEntity", &Engine::applierSaveEntity)
      .function("setChangeListener", &Engine::setChangeListener)
      .function("takeChanges", &Engine::takeChanges)
      .function("watchOpen", &Engine::watchOpen)
      .function("watchClose", &Engine::watchClose)
      .function("watchPage", &Engine::watchPage)
      .function("searchPage", &Engine::searchPage);

  class_<SyncHandle>("SyncHandle")
      .constructor<Engine&>()
      .function("init", &SyncHandle::init)
      .function("isSyncing", &SyncHandle::isSyncing)
      .function("close", &SyncHandle::close)
      .function("login", &SyncHandle::login)
      .function("sync", &SyncHandle::sync)
      .function("pushToRemote", &SyncHandle::pushToRemote)
      .function("pullFromRemote", &SyncHandle::pullFromRemote)
      .function("setAuthToken", &SyncHandle::setAuthToken)
      .function("hasAuthToken", &SyncHandle::hasAuthToken)
      .function("logout", &SyncHandle::logout)
      .function("getUnsyncedEventsCount", &SyncHandle::getUnsyncedEventsCount)
      .function("hasUnsyncedEvents", &SyncHandle::hasUnsyncedEvents)
      .function("checkIfDuplicatesExist", &SyncHandle::checkIfDuplicatesExist)
      .function("getSyncState", &SyncHandle::getSyncState)
      .function("getOptions", &SyncHandle::getOptions)
      .function("setOptions", &SyncHandle::setOptions)
      .function("setProgressCallback", &SyncHandle::setProgressCallback)
      .function("setAuthRequiredHook", &SyncHandle::setAuthRequiredHook)
      .function("answerAuth", &SyncHandle::answerAuth)
      .function("setConflictResolver", &SyncHandle::setConflictResolver);
}
