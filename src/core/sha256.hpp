#pragma once
// SHA-256 from gnulib (Debian package `gnulib`), the same code natively and in wasm.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace dc {
using Digest = std::array<uint8_t, 32>;
Digest sha256(std::string_view bytes);
Digest sha256Pair(const Digest& left, const Digest& right);  // SHA-256(left || right), raw digests
std::string toHex(const Digest& d);
bool fromHex(std::string_view hex, Digest& out);
}  // namespace dc
