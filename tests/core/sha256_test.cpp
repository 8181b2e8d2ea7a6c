#include <catch2/catch.hpp>

#include "core/sha256.hpp"

TEST_CASE("sha256 matches the FIPS 180-2 test vectors", "[sha256]") {
  CHECK(dc::toHex(dc::sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(dc::toHex(dc::sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(dc::toHex(dc::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256Pair hashes the concatenation of raw digests", "[sha256]") {
  auto a = dc::sha256("a"), b = dc::sha256("b");
  std::string concat(reinterpret_cast<const char*>(a.data()), 32);
  concat.append(reinterpret_cast<const char*>(b.data()), 32);
  CHECK(dc::sha256Pair(a, b) == dc::sha256(concat));
  dc::Digest back{};
  REQUIRE(dc::fromHex(dc::toHex(a), back));
  CHECK(back == a);
  CHECK_FALSE(dc::fromHex("zz", back));
}
