#pragma once
// nlohmann::json keeps object keys sorted (std::map), which gives canonical JSON for the Merkle
// tree and byte-identical entity documents across replicas.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace dc {
using Json = nlohmann::json;

// Parses untrusted JSON text; malformed text or nesting deeper than maxDepth throws
// dc::Error(code, "<what> is not valid JSON: ..."). `code` says whose fault it is: INVALID_FORM
// for a caller's input (default), BAD_RESPONSE for a server's body, STORAGE for a stored file.
Json parseJson(std::string_view text, const char* what = "input", int maxDepth = 512,
               ErrorCode code = ErrorCode::InvalidForm);

// Nesting depth of a JSON value (a scalar is 0, [] or {} is 1), computed without recursion so a
// hostile document cannot overflow the stack. Stops counting once `limit` is exceeded.
int jsonDepth(const Json& value, int limit);

// Streaming output for the hot paths (journal records, canonical event JSON): appends to `out`
// without building a Json tree first, byte-identical to Json::dump() of the same value.
// Invalid UTF-8 throws (Json::type_error 316), or becomes U+FFFD with replaceInvalid.
void appendJson(std::string& out, const Json& value, bool replaceInvalid = false);
// A JSON string literal, escaped exactly as Json::dump() escapes it. Returns false (out
// unchanged) when `s` is not valid UTF-8.
bool appendJsonString(std::string& out, std::string_view s);

// An immutable JSON document that a store holds for long (an event's `data`, an audit entry's
// `changes`): as a tree while it is being worked on, and as its compact text (Json::dump(), keys
// sorted) once compact() is called, ~5x smaller than the std::map tree (docs/storage.md,
// 'Memory'). Read it with view(scratch) (no copy while it is a tree, a parse into `scratch` once
// it is text) or value() (a copy); equal documents compare equal in either form.
class FrozenJson {
 public:
  FrozenJson() : FrozenJson(Json::object()) {}
  FrozenJson(const Json& value) : tree_(std::make_shared<const Json>(value)) {}  // NOLINT: implicit on purpose
  FrozenJson(Json&& value) : tree_(std::make_shared<const Json>(std::move(value))) {}  // NOLINT
  FrozenJson& operator=(const Json& value) { return *this = FrozenJson(value); }
  FrozenJson& operator=(Json&& value) { return *this = FrozenJson(std::move(value)); }
  FrozenJson(const FrozenJson&) = default;
  FrozenJson(FrozenJson&&) noexcept = default;
  FrozenJson& operator=(const FrozenJson&) = default;
  FrozenJson& operator=(FrozenJson&&) noexcept = default;

  // The tree, or nullptr once compacted.
  const Json* tree() const { return tree_.get(); }
  // The document: the tree itself, or the text parsed into `scratch`.
  const Json& view(Json& scratch) const;
  Json value() const;
  // Writes the document as JSON text onto `out`, byte-identical to appendJson(out, value()).
  void append(std::string& out, bool replaceInvalid = false) const;
  // Drops the tree and keeps the text. A document that cannot be written strictly (invalid
  // UTF-8) stays a tree. Cheap when already compact.
  void compact();
  bool isCompact() const { return !tree_; }

  friend bool operator==(const FrozenJson& a, const FrozenJson& b);
  friend bool operator!=(const FrozenJson& a, const FrozenJson& b) { return !(a == b); }
  friend bool operator==(const FrozenJson& a, const Json& b);
  friend bool operator!=(const FrozenJson& a, const Json& b) { return !(a == b); }

 private:
  std::shared_ptr<const Json> tree_;  // set until compact(); shared by copies (it is immutable)
  std::string text_;                  // set by compact()
};

// Lets nlohmann build a Json from a FrozenJson (`Json{{"data", event.data}}`).
inline void to_json(Json& j, const FrozenJson& f) { j = f.value(); }

}  // namespace dc
