#include "core/timestamp.hpp"

#include <cstdio>

namespace dc {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), so no
// dependency on the C library's time zone handling, identical natively and in wasm.
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

bool isLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned daysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

// Cursor over the text; every read checks bounds so no input can read past the end.
struct Scanner {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i == s.size(); }
  bool peek(char c) const { return i < s.size() && s[i] == c; }
  bool take(char c) {
    if (!peek(c)) return false;
    ++i;
    return true;
  }
  // Exactly n decimal digits.
  bool digits(size_t n, int& out) {
    if (s.size() - i < n) return false;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    out = v;
    return true;
  }
};

constexpr int64_t kMsPerDay = 86400000;
// 0000-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z: what the format can print.
const int64_t kMinMs = daysFromCivil(0, 1, 1) * kMsPerDay;
const int64_t kMaxMs = daysFromCivil(10000, 1, 1) * kMsPerDay - 1;

}  // namespace

std::optional<int64_t> parseTimestamp(std::string_view text) {
  Scanner sc{text};
  int year, month, day;
  if (!sc.digits(4, year) || !sc.take('-') || !sc.digits(2, month) || !sc.take('-') || !sc.digits(2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > daysInMonth(year, month)) return std::nullopt;
  int64_t ms = daysFromCivil(year, month, day) * kMsPerDay;
  if (sc.done()) return ms;  // a date alone is midnight UTC (as JavaScript's Date.parse does)

  if (!sc.take('T') && !sc.take('t') && !sc.take(' ')) return std::nullopt;
  int hh, mm, ss;
  if (!sc.digits(2, hh) || !sc.take(':') || !sc.digits(2, mm) || !sc.take(':') || !sc.digits(2, ss)) return std::nullopt;
  if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  ms += (hh * 3600 + mm * 60 + ss) * 1000LL;

  if (sc.take('.') || sc.take(',')) {
    // Any number of fraction digits; only milliseconds are kept (truncated, like JavaScript).
    size_t start = sc.i;
    int frac = 0;
    while (!sc.done() && (sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9')) {
      if (sc.i - start < 3) frac = frac * 10 + (sc.s[sc.i] - '0');
      ++sc.i;
    }
    size_t n = sc.i - start;
    if (n == 0) return std::nullopt;
    for (size_t k = n; k < 3; ++k) frac *= 10;
    ms += frac;
  }

  // Offset. Without one the time is taken as UTC: a device's local zone would make the same
  // text mean different instants on different replicas.
  if (sc.take('Z') || sc.take('z')) {
  } else if (sc.peek('+') || sc.peek('-')) {
    int sign = sc.s[sc.i] == '-' ? -1 : 1;
    ++sc.i;
    int oh, om = 0;
    if (!sc.digits(2, oh)) return std::nullopt;
    if (sc.take(':')) {
      if (!sc.digits(2, om)) return std::nullopt;
    } else if (!sc.done()) {
      if (!sc.digits(2, om)) return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    ms -= sign * (oh * 60 + om) * 60000LL;
  }
  if (!sc.done()) return std::nullopt;
  if (ms < kMinMs || ms > kMaxMs) return std::nullopt;
  return ms;
}

std::string formatTimestamp(int64_t epochMs) {
  int64_t days = epochMs >= 0 ? epochMs / kMsPerDay : -((-epochMs + kMsPerDay - 1) / kMsPerDay);
  int64_t rem = epochMs - days * kMsPerDay;  // 0 .. kMsPerDay-1
  int64_t y;
  unsigned m, d;
  civilFromDays(days, y, m, d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y), m, d,
                static_cast<int>(rem / 3600000), static_cast<int>(rem / 60000 % 60), static_cast<int>(rem / 1000 % 60),
                static_cast<int>(rem % 1000));
  return buf;
}

std::optional<std::string> normalizeTimestamp(std::string_view text) {
  auto ms = parseTimestamp(text);
  if (!ms) return std::nullopt;
  return formatTimestamp(*ms);
}

}  // namespace dc
