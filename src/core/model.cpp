#include "core/model.hpp"

#include "core/error.hpp"
#include "core/timestamp.hpp"

namespace dc {
namespace {

[[noreturn]] void invalidForm(const std::string& message) { throw Error(ErrorCode::InvalidForm, message); }

// A required, non-empty string field of a form. Missing, null and "" are "missing" (the
// original's `!form.x` test); any other type is named as a wrong type rather than coerced.
std::string requireString(const Json& form, const char* key, const std::string& missingMessage,
                          const std::string& label) {
  auto it = form.find(key);
  if (it == form.end() || it->is_null()) invalidForm(missingMessage);
  if (!it->is_string()) invalidForm("Form submission " + label + " must be a string, got " + it->type_name());
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty()) invalidForm(missingMessage);
  return s;
}

// Shown inside error messages: bounded, so a 1 MB bad value does not become a 1 MB message.
std::string excerpt(const Json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, Json::error_handler_t::replace);
  return s.size() > 64 ? s.substr(0, 64) + "..." : s;
}

// Deeper data could be stored but not read back (stores re-parse with a depth limit) and would
// make the recursive JSON printer a stack risk, so it is refused up front.
constexpr int kMaxDataDepth = 100;

// Optional string member of a record read back from storage or a server.
std::string optString(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void requireObject(const Json& j, const char* what) {
  if (!j.is_object()) invalidForm(std::string(what) + " must be a JSON object, got " + j.type_name());
}

}  // namespace

Json Event::toJson() const {
  return Json{{"guid", guid},           {"entityGuid", entityGuid}, {"type", type},          {"data", data.value()},
              {"timestamp", timestamp}, {"userId", userId},         {"syncLevel", syncLevel}};
}

std::string Event::canonicalJson(bool strictUtf8) const {
  // Written field by field in nlohmann's sorted key order, byte-identical to dumping the Json
  // object (the slow path below) without copying `data`; `replace` keeps hashing total even for
  // bad UTF-8.
  std::string out;
  out.reserve(256);
  out += "{\"data\":";
  data.append(out, !strictUtf8);
  bool ok = true;
  for (auto [key, value] : {std::pair<const char*, const std::string*>{",\"entityGuid\":", &entityGuid},
                            {",\"guid\":", &guid},
                            {",\"timestamp\":", &timestamp},
                            {",\"type\":", &type},
                            {",\"userId\":", &userId}}) {
    out += key;
    ok = ok && appendJsonString(out, *value);
  }
  out += '}';
  if (ok) return out;
  Json j{{"guid", guid}, {"entityGuid", entityGuid}, {"type", type},
         {"data", data.value()}, {"timestamp", timestamp},   {"userId", userId}};
  return j.dump(-1, ' ', false, strictUtf8 ? Json::error_handler_t::strict : Json::error_handler_t::replace);
}

void Event::appendJson(std::string& out) const {
  std::string canonical = canonicalJson(true);
  out.append(canonical, 0, canonical.size() - 1);  // reopen the object: syncLevel is not canonical
  out += ",\"syncLevel\":";
  out += std::to_string(syncLevel);
  out += '}';
}

// Validates `form` first and only then copies `data` (or moves it out of `owned`, the same form):
// a hostile form is never copied whole (a 10,000-level copy recurses past wasm's stack).
Event Event::fromJson(const Json& form) { return fromForm(form, nullptr); }
Event Event::fromJson(Json&& form) { return fromForm(form, &form); }

Event Event::fromForm(const Json& form, Json* owned) {
  if (!form.is_object()) invalidForm(std::string("Form submission must be a JSON object, got ") + form.type_name());
  Event e;
  // Validation order (the original's): guid, entityGuid, type, data, timestamp, userId.
  e.guid = requireString(form, "guid", "Form submission is missing a GUID", "GUID");
  e.entityGuid = requireString(form, "entityGuid", "Form submission is missing an entity GUID", "entity GUID");
  e.type = requireString(form, "type", "Form submission is missing a type", "type");

  auto data = form.find("data");
  if (data == form.end() || !data->is_object() || data->empty()) invalidForm("Form submission has no data");
  if (jsonDepth(*data, kMaxDataDepth) > kMaxDataDepth)
    invalidForm("Form submission data is nested more than " + std::to_string(kMaxDataDepth) + " levels deep");

  auto ts = form.find("timestamp");
  if (ts == form.end() || ts->is_null() || (ts->is_string() && ts->get_ref<const std::string&>().empty()))
    invalidForm("Form submission is missing a timestamp");
  std::optional<int64_t> ms;
  if (ts->is_string()) ms = parseTimestamp(ts->get_ref<const std::string&>());
  if (!ms)
    invalidForm("Form submission has an invalid timestamp: \"" + excerpt(*ts) +
                "\" (expected ISO-8601, e.g. 2024-05-01T10:00:00.000Z)");
  e.timeMs = *ms;
  e.timestamp = formatTimestamp(*ms);

  e.userId = requireString(form, "userId", "Form submission is missing a user ID", "user ID");

  auto level = form.find("syncLevel");
  if (level != form.end() && !level->is_null()) {
    if (!level->is_number_integer() || level->get<int64_t>() < LOCAL || level->get<int64_t>() > EXTERNAL)
      invalidForm("Form submission has an invalid syncLevel: " + excerpt(*level) + " (expected 0, 1 or 2)");
    e.syncLevel = level->get<int>();
  }
  if (owned) e.data = std::move((*owned)["data"]);  // last: a form that fails validation is left whole
  else e.data = *data;
  return e;
}

namespace entity {

Json makeNew(const std::string& guid, const std::string& type) {
  Json e{{"id", guid}, {"guid", guid}, {"type", type}, {"version", 0}, {"data", Json::object()}, {"lastUpdated", ""}};
  if (type == kGroup) e["memberIds"] = Json::array();
  return e;
}

const Json& dataOf(const Json& e) {
  static const Json kEmpty = Json::object();
  auto it = e.find("data");
  return it != e.end() && it->is_object() ? *it : kEmpty;
}

bool isGroup(const Json& e) {
  auto it = e.find("type");
  return it != e.end() && it->is_string() && it->get_ref<const std::string&>() == kGroup;
}

std::vector<std::string> memberIds(const Json& e) {
  std::vector<std::string> ids;
  auto it = e.find("memberIds");
  if (it == e.end() || !it->is_array()) return ids;
  for (const auto& id : *it)
    if (id.is_string()) ids.push_back(id.get<std::string>());
  return ids;
}

}  // namespace entity

Json EntityPair::toJson() const { return Json{{"guid", guid}, {"initial", initialState()}, {"modified", modified}}; }

EntityPair EntityPair::fromJson(const Json& j) {
  requireObject(j, "Entity pair");
  EntityPair p;
  p.guid = optString(j, "guid");
  p.initial = j.value("initial", Json());
  p.modified = j.value("modified", Json());
  if (p.guid.empty() && p.modified.is_object()) p.guid = optString(p.modified, "guid");
  if (p.guid.empty()) invalidForm("Entity pair is missing a guid");
  return p;
}

Json AuditEntry::toJson() const {
  return Json{{"guid", guid},           {"timestamp", timestamp},   {"userId", userId},
              {"action", action},       {"eventGuid", eventGuid},   {"entityGuid", entityGuid},
              {"changes", changes.value()},     {"signature", signature}};
}

void AuditEntry::appendJson(std::string& out, std::string_view changesMember) const {
  auto field = [&](const char* key, const std::string& value) {
    out += key;
    if (!appendJsonString(out, value)) Json(value).dump();  // throws type_error 316, like dump()
  };
  field("{\"action\":", action);
  if (changesMember.empty()) {
    out += ",\"changes\":";
    changes.append(out);
  } else {
    out += ',';
    out += changesMember;
  }
  field(",\"entityGuid\":", entityGuid);
  field(",\"eventGuid\":", eventGuid);
  field(",\"guid\":", guid);
  field(",\"signature\":", signature);
  field(",\"timestamp\":", timestamp);
  field(",\"userId\":", userId);
  out += '}';
}

AuditEntry AuditEntry::fromJson(const Json& j) { return fromJson(Json(j)); }

AuditEntry AuditEntry::fromJson(Json&& j) {
  requireObject(j, "Audit log entry");
  AuditEntry a;
  a.guid = optString(j, "guid");
  if (a.guid.empty()) invalidForm("Audit log entry is missing a guid");
  a.timestamp = optString(j, "timestamp");
  if (auto norm = normalizeTimestamp(a.timestamp)) a.timestamp = *norm;
  a.userId = optString(j, "userId");
  a.action = optString(j, "action");
  a.eventGuid = optString(j, "eventGuid");
  a.entityGuid = optString(j, "entityGuid");
  if (auto c = j.find("changes"); c != j.end()) a.changes = std::move(*c);  // as received, even when not an object
  else a.changes = Json::object();
  a.signature = optString(j, "signature");
  return a;
}

Json PotentialDuplicate::toJson() const { return Json{{"entityGuid", entityGuid}, {"duplicateGuid", duplicateGuid}}; }

PotentialDuplicate PotentialDuplicate::fromJson(const Json& j) {
  requireObject(j, "Potential duplicate");
  PotentialDuplicate d{optString(j, "entityGuid"), optString(j, "duplicateGuid")};
  if (d.entityGuid.empty() || d.duplicateGuid.empty())
    invalidForm("Potential duplicate needs both entityGuid and duplicateGuid");
  return d;
}

}  // namespace dc
