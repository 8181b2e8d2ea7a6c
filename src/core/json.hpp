#pragma once
// nlohmann::json keeps object keys sorted (std::map), which gives canonical JSON for the Merkle
// tree and byte-identical entity documents across replicas.
#include <nlohmann/json.hpp>

namespace dc {
using Json = nlohmann::json;

// Parses untrusted JSON text; malformed text or nesting deeper than maxDepth throws
// dc::Error(code, "<what> is not valid JSON: ...").
Json parseJson(std::string_view text, const char* what = "input", int maxDepth = 512);
}  // namespace dc
