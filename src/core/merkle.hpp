#pragma once
// Incremental Merkle tree: leaf = SHA-256(canonical event JSON), parent =
// SHA-256(left || right) over raw digests, an odd node is carried up unchanged; root in hex.
// append() only stores the leaf: the levels above are brought up to date when a root or a proof
// is asked for (once per sync, not once per event), re-hashing only the paths of new leaves.
#include <optional>
#include <string>
#include <vector>

#include "core/sha256.hpp"

namespace dc {

struct ProofStep {
  std::string hash;  // sibling digest, hex
  bool siblingOnLeft = false;
};

class MerkleTree {
 public:
  void append(const Digest& leaf);
  void clear();
  size_t size() const;
  std::string rootHex() const;  // "" for an empty tree
  // Proof for leaf i (throws std::out_of_range when i >= size()).
  std::vector<ProofStep> proof(size_t leafIndex) const;
  // Recomputes the root from leaf + proof and compares with rootHex.
  static bool verify(const Digest& leaf, const std::vector<ProofStep>& proof, const std::string& rootHex);

 private:
  void settle() const;  // recomputes the levels above the leaves added since the last read

  std::vector<Digest> leaves_;
  mutable std::vector<std::vector<Digest>> upper_;  // upper_[k] = level k + 1
  mutable size_t settled_ = 0;                      // leaves covered by upper_
};

}  // namespace dc
