#pragma once
// ISO-8601 timestamps. Stored and sent as UTC with milliseconds: 2024-05-01T10:00:00.000Z.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dc {

// Accepts YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) (also 'T' as space, lowercase z,
// and a date alone). Returns milliseconds since the Unix epoch, or nullopt when unparseable
// or out of range (year 0000..9999, real calendar dates, hours < 24, ...).
std::optional<int64_t> parseTimestamp(std::string_view text);

// Milliseconds since epoch -> "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string formatTimestamp(int64_t epochMs);

// parse + format; nullopt when unparseable.
std::optional<std::string> normalizeTimestamp(std::string_view text);

}  // namespace dc
