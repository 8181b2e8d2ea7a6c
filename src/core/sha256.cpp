#include "core/sha256.hpp"

// gnulib's header is C99 (`restrict`); map it to the C++ compilers' spelling.
#define restrict __restrict
extern "C" {
#include "sha256.h"
}
#undef restrict

namespace dc {

Digest sha256(std::string_view bytes) {
  Digest d{};
  sha256_buffer(bytes.data(), bytes.size(), d.data());
  return d;
}

Digest sha256Pair(const Digest& left, const Digest& right) {
  sha256_ctx ctx;
  sha256_init_ctx(&ctx);
  sha256_process_bytes(left.data(), left.size(), &ctx);
  sha256_process_bytes(right.data(), right.size(), &ctx);
  Digest d{};
  sha256_finish_ctx(&ctx, d.data());
  return d;
}

std::string toHex(const Digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = digits[d[i] >> 4];
    out[2 * i + 1] = digits[d[i] & 15];
  }
  return out;
}

bool fromHex(std::string_view hex, Digest& out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

}  // namespace dc
