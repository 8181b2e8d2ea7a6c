#include <catch2/catch.hpp>

#include "core/timestamp.hpp"

using dc::formatTimestamp;
using dc::normalizeTimestamp;
using dc::parseTimestamp;

TEST_CASE("timestamps normalise to UTC with milliseconds", "[timestamp]") {
  CHECK(normalizeTimestamp("2024-05-01T10:00:00.000Z") == "2024-05-01T10:00:00.000Z");
  CHECK(normalizeTimestamp("2024-05-01T10:00:00Z") == "2024-05-01T10:00:00.000Z");
  CHECK(normalizeTimestamp("2024-05-01T10:00:00.5Z") == "2024-05-01T10:00:00.500Z");
  CHECK(normalizeTimestamp("2024-05-01T10:00:00.123456789Z") == "2024-05-01T10:00:00.123Z");  // truncated
  CHECK(normalizeTimestamp("2024-05-01t10:00:00z") == "2024-05-01T10:00:00.000Z");
  CHECK(normalizeTimestamp("2024-05-01 10:00:00Z") == "2024-05-01T10:00:00.000Z");
  CHECK(normalizeTimestamp("2024-05-01") == "2024-05-01T00:00:00.000Z");
  CHECK(normalizeTimestamp("2024-05-01T10:00:00") == "2024-05-01T10:00:00.000Z");  // no offset: UTC
}

TEST_CASE("offsets are applied, across day and year boundaries", "[timestamp]") {
  CHECK(normalizeTimestamp("2024-05-01T12:30:00+02:00") == "2024-05-01T10:30:00.000Z");
  CHECK(normalizeTimestamp("2024-05-01T12:30:00+0200") == "2024-05-01T10:30:00.000Z");
  CHECK(normalizeTimestamp("2024-05-01T20:00:00-05:30") == "2024-05-02T01:30:00.000Z");
  CHECK(normalizeTimestamp("2024-01-01T00:30:00+01:00") == "2023-12-31T23:30:00.000Z");
}

TEST_CASE("real calendar dates only", "[timestamp]") {
  CHECK(normalizeTimestamp("2024-02-29T00:00:00Z") == "2024-02-29T00:00:00.000Z");  // leap year
  CHECK(normalizeTimestamp("2000-02-29T00:00:00Z"));
  for (const char* bad : {"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z",
                          "2024-00-10T00:00:00Z", "2024-05-00T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T10:60:00Z",
                          "2024-05-01T10:00:60Z", "2024-05-01T10:00:00+24:00", "2024-05-01T10:00:00+01:60"})
    CHECK_FALSE(parseTimestamp(bad));
}

TEST_CASE("unparseable text is rejected, never guessed", "[timestamp]") {
  for (const char* bad : {"", "yesterday", "2024-5-1", "2024/05/01", "20240501T100000Z", "2024-05-01T10:00Z",
                          "2024-05-01T10:00:00.Z", "2024-05-01T10:00:00ZZ", "2024-05-01T10:00:00+1", "2024-05-01T10:00:00 ",
                          " 2024-05-01T10:00:00Z", "2024-05-01T", "Wed May 01 2024", "0000-00-00", "9999-12-31T23:59:59-01:00"})
    CHECK_FALSE(parseTimestamp(bad));
}

TEST_CASE("format is the inverse of parse over the whole range", "[timestamp]") {
  CHECK(formatTimestamp(0) == "1970-01-01T00:00:00.000Z");
  CHECK(formatTimestamp(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(formatTimestamp(*parseTimestamp("0000-01-01T00:00:00Z")) == "0000-01-01T00:00:00.000Z");
  CHECK(formatTimestamp(*parseTimestamp("9999-12-31T23:59:59.999Z")) == "9999-12-31T23:59:59.999Z");
  for (int64_t ms : {int64_t(951782400000), int64_t(1714557600123), int64_t(-62135596800000), int64_t(253402300799999)})
    CHECK(parseTimestamp(formatTimestamp(ms)) == ms);
  // Every day of a leap-year cycle round-trips.
  for (int64_t day = -800; day < 1500; ++day) {
    int64_t ms = day * 86400000 + 12345;
    REQUIRE(parseTimestamp(formatTimestamp(ms)) == ms);
  }
}
