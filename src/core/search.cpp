#include "core/search.hpp"

#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <unordered_map>

#include "core/error.hpp"

namespace dc {
namespace {

[[noreturn]] void badCriteria(const std::string& message) { throw Error(ErrorCode::InvalidForm, message); }

// Top-level entity fields (EntityDoc in js/index.d.ts); any other field is a path into `data`.
bool isEntityField(const std::string& f) {
  static const char* const kFields[] = {"id", "guid", "externalId", "name", "type", "version", "data", "lastUpdated", "memberIds"};
  for (const char* k : kFields)
    if (f == k) return true;
  return false;
}

// The value a field names, or nullptr when absent. "a.b.c" walks objects (and arrays by index).
const Json* resolveField(const Json& entity, const std::string& field) {
  if (isEntityField(field)) {
    auto it = entity.find(field);
    return it == entity.end() ? nullptr : &*it;
  }
  auto data = entity.find("data");
  if (data == entity.end()) return nullptr;
  const Json* cur = &*data;
  std::string_view rest = field;
  if (rest.substr(0, 5) == "data.") rest.remove_prefix(5);
  while (cur) {
    size_t dot = rest.find('.');
    std::string key(rest.substr(0, dot));
    if (cur->is_object()) {
      auto it = cur->find(key);
      cur = it == cur->end() ? nullptr : &*it;
    } else if (cur->is_array() && !key.empty() && key.find_first_not_of("0123456789") == std::string::npos &&
               key.size() < 10) {
      size_t i = std::stoul(key);
      cur = i < cur->size() ? &(*cur)[i] : nullptr;
    } else {
      cur = nullptr;
    }
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return cur;
}

bool equalsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Literal equality: strings case-insensitively, numbers by value (42 == 42.0), no
// coercion between types. An array field matches when one of its elements does (as in Mongo).
bool valueEquals(const Json* v, const Json& lit) {
  if (!v) return lit.is_null();
  if (v->is_string() && lit.is_string()) return equalsIgnoreCase(v->get_ref<const std::string&>(), lit.get_ref<const std::string&>());
  if (v->is_number() && lit.is_number()) {
    if (v->is_number_float() || lit.is_number_float()) return v->get<double>() == lit.get<double>();
    return *v == lit;  // nlohmann compares signed/unsigned integers exactly
  }
  if (v->is_array() && !lit.is_array()) {
    for (const auto& el : *v)
      if (valueEquals(&el, lit)) return true;
    return false;
  }
  return *v == lit;
}

// Ordering for $gt.. : numbers by value, strings bytewise (ISO timestamps order correctly);
// anything else, or different types, does not compare (the condition is false).
bool compare(const Json* v, const Json& bound, int& cmp) {
  if (!v) return false;
  if (v->is_number() && bound.is_number()) {
    double a = v->get<double>(), b = bound.get<double>();
    cmp = a < b ? -1 : a > b ? 1 : 0;
    return true;
  }
  if (v->is_string() && bound.is_string()) {
    int c = v->get_ref<const std::string&>().compare(bound.get_ref<const std::string&>());
    cmp = c < 0 ? -1 : c > 0 ? 1 : 0;
    return true;
  }
  return false;
}

// Compiling a regex costs far more than matching it; searchEntities evaluates one criteria set
// against every entity, so compiled patterns are cached (bounded).
std::shared_ptr<const std::regex> compileRegex(const std::string& pattern, const std::string& options) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const std::regex>> cache;
  std::string key = options + '/' + pattern;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto flags = std::regex::ECMAScript;
  for (char o : options) {
    if (o == 'i') flags |= std::regex::icase;
    else if (o == 'm' || o == 's' || o == 'u' || o == 'g') continue;  // no std::regex equivalent; harmless
    else badCriteria(std::string("Invalid $options for $regex: '") + o + "' (supported: i)");
  }
#ifdef __GLIBCXX__
  // libstdc++'s default (backtracking) executor recurses once per input character; the
  // polynomial one does not, so a 1 MB field cannot overflow the stack.
  flags |= std::regex_constants::__polynomial;
#endif
  std::shared_ptr<const std::regex> re;
  try {
    re = std::make_shared<const std::regex>(pattern, flags);
  } catch (const std::regex_error& e) {
    badCriteria("Invalid regular expression in search: /" + pattern + "/ (" + e.what() + ")");
  }
  if (cache.size() >= 64) cache.clear();
  cache.emplace(std::move(key), re);
  return re;
}

bool isOperatorObject(const Json& cond, const std::string& field) {
  if (!cond.is_object() || cond.empty()) return false;
  size_t ops = 0;
  for (auto it = cond.begin(); it != cond.end(); ++it)
    if (!it.key().empty() && it.key()[0] == '$') ++ops;
  if (ops == 0) return false;  // a plain object literal
  if (ops != cond.size())
    badCriteria("Search condition for '" + field + "' mixes operators ($...) with plain keys");
  return true;
}

const Json& requireArray(const Json& arg, const char* op, const std::string& field) {
  if (!arg.is_array()) badCriteria(std::string(op) + " for '" + field + "' needs an array");
  return arg;
}

// One operator; `v` is the field value or nullptr when the field is absent. Arguments are checked
// on every call, so validation is just an evaluation against an absent field.
bool evalOperator(const std::string& op, const Json& arg, const Json& cond, const Json* v, const std::string& field) {
  int cmp = 0;
  if (op == "$eq") return valueEquals(v, arg);
  if (op == "$ne") return !valueEquals(v, arg);
  if (op == "$gt") return compare(v, arg, cmp) && cmp > 0;
  if (op == "$gte") return compare(v, arg, cmp) && cmp >= 0;
  if (op == "$lt") return compare(v, arg, cmp) && cmp < 0;
  if (op == "$lte") return compare(v, arg, cmp) && cmp <= 0;
  if (op == "$in" || op == "$nin") {
    bool any = false;
    for (const auto& candidate : requireArray(arg, op.c_str(), field))
      if (valueEquals(v, candidate)) {
        any = true;
        break;
      }
    return op == "$in" ? any : !any;
  }
  if (op == "$exists") {
    if (!arg.is_boolean()) badCriteria("$exists for '" + field + "' needs true or false");
    return (v != nullptr) == arg.get<bool>();
  }
  if (op == "$regex") {
    if (!arg.is_string()) badCriteria("$regex for '" + field + "' needs a string pattern");
    std::string options;
    if (auto o = cond.find("$options"); o != cond.end()) {
      if (!o->is_string()) badCriteria("$options for '" + field + "' needs a string");
      options = o->get<std::string>();
    }
    auto re = compileRegex(arg.get_ref<const std::string&>(), options);
    return v && v->is_string() && std::regex_search(v->get_ref<const std::string&>(), *re);
  }
  if (op == "$options") {
    if (!cond.contains("$regex")) badCriteria("$options for '" + field + "' is only valid with $regex");
    return true;
  }
  badCriteria("Unknown search operator: " + op + " (in the condition for '" + field +
              "'; supported: $eq $ne $gt $gte $lt $lte $in $nin $regex $exists)");
}

// Evaluates every {field: condition} of one criterion object. `entity` null = validate only:
// every operator is still evaluated so that its argument is checked.
bool evalCriterion(const Json* entity, const Json& criterion) {
  if (!criterion.is_object())
    badCriteria(std::string("Search criteria must be {field: condition} objects, got ") + criterion.type_name());
  for (auto it = criterion.begin(); it != criterion.end(); ++it) {
    const std::string& field = it.key();
    if (field.empty()) badCriteria("Search criteria has an empty field name");
    const Json* v = entity ? resolveField(*entity, field) : nullptr;
    const Json& cond = it.value();
    if (isOperatorObject(cond, field)) {
      for (auto op = cond.begin(); op != cond.end(); ++op) {
        bool ok = evalOperator(op.key(), op.value(), cond, v, field);
        if (entity && !ok) return false;
      }
    } else if (entity && !valueEquals(v, cond)) {
      return false;
    }
  }
  return true;
}

template <class Fn>
void forEachCriterion(const Json& criteria, Fn fn) {
  if (criteria.is_array()) {
    for (const auto& c : criteria) fn(c);
  } else if (criteria.is_object()) {
    fn(criteria);  // a single {field: condition} object is accepted as a one-element list
  } else if (!criteria.is_null()) {
    badCriteria(std::string("Search criteria must be an array of {field: condition} objects, got ") + criteria.type_name());
  }
}

}  // namespace

void validateSearchCriteria(const Json& criteria) {
  forEachCriterion(criteria, [](const Json& c) { evalCriterion(nullptr, c); });
}

bool matchesCriteria(const Json& entity, const Json& criteria) {
  bool ok = true;
  forEachCriterion(criteria, [&](const Json& c) {
    if (ok && !evalCriterion(&entity, c)) ok = false;
  });
  return ok;
}

}  // namespace dc
