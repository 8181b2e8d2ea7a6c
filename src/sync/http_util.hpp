#pragma once
// Small, pure helpers of the sync engine's HTTP layer (kept apart so tests can reach them).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sync/transport.hpp"

namespace dc::http {

// RFC 3986 percent-encoding of a query value (everything but unreserved characters).
std::string urlEncode(std::string_view value);
std::string urlDecode(std::string_view value);

// base64url (RFC 4648 §5), padding optional. nullopt on invalid input.
std::optional<std::string> base64UrlDecode(std::string_view text);

// The `exp` claim of a JWT in ms since epoch; nullopt when the token is not a JWT or has no exp.
// No signature check: the client only uses it to refresh early, the server decides validity.
std::optional<int64_t> jwtExpiryMs(const std::string& token);

// What the server said, for an error message: `message` or `error` of a JSON body, else the
// <title> or tag-stripped text of an HTML/text body, whitespace collapsed, at most ~200 chars.
std::string serverMessage(const std::string& body);

// Replaces every occurrence of secret (when non-empty) with "[redacted]".
std::string redact(std::string text, const std::string& secret);

}  // namespace dc::http
