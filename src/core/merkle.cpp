#include "core/merkle.hpp"

#include <stdexcept>

namespace dc {

// levels_[k+1][i] = H(levels_[k][2i] || levels_[k][2i+1]), or levels_[k][2i] carried up when it
// has no right sibling. Appending a leaf only changes the last node of every level above it.
void MerkleTree::append(const Digest& leaf) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf);
  for (size_t k = 0; levels_[k].size() > 1; ++k) {
    const auto& level = levels_[k];
    size_t parentIndex = (level.size() - 1) / 2;
    size_t left = 2 * parentIndex;
    Digest parent = left + 1 < level.size() ? sha256Pair(level[left], level[left + 1]) : level[left];
    if (levels_.size() == k + 1) levels_.emplace_back();
    auto& up = levels_[k + 1];  // `level` may dangle after emplace_back; not used below
    if (up.size() == parentIndex) {
      up.push_back(parent);
    } else {
      up[parentIndex] = parent;
    }
  }
}

void MerkleTree::clear() { levels_.clear(); }

size_t MerkleTree::size() const { return levels_.empty() ? 0 : levels_[0].size(); }

std::string MerkleTree::rootHex() const {
  if (levels_.empty() || levels_[0].empty()) return "";
  // The first level holding a single node is the root (higher levels never exist: sizes only grow).
  for (const auto& level : levels_) {
    if (level.size() == 1) return toHex(level[0]);
  }
  return "";  // unreachable: the top level always has one node
}

std::vector<ProofStep> MerkleTree::proof(size_t leafIndex) const {
  if (leafIndex >= size()) throw std::out_of_range("Merkle leaf index out of range");
  std::vector<ProofStep> steps;
  size_t i = leafIndex;
  for (size_t k = 0; levels_[k].size() > 1; ++k) {
    size_t sibling = i ^ 1;
    if (sibling < levels_[k].size()) {
      steps.push_back({toHex(levels_[k][sibling]), sibling < i});
    }  // else: carried up unchanged, no step
    i /= 2;
  }
  return steps;
}

bool MerkleTree::verify(const Digest& leaf, const std::vector<ProofStep>& proof, const std::string& rootHex) {
  if (rootHex.empty()) return false;
  Digest h = leaf;
  for (const auto& step : proof) {
    Digest sibling{};
    if (!fromHex(step.hash, sibling)) return false;
    h = step.siblingOnLeft ? sha256Pair(sibling, h) : sha256Pair(h, sibling);
  }
  return toHex(h) == rootHex;
}

}  // namespace dc
