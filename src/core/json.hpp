#pragma once
// nlohmann::json keeps object keys sorted (std::map), which gives canonical JSON for the Merkle
// tree and byte-identical entity documents across replicas.
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
}  // namespace dc
