#include "core/merkle.hpp"

#include <stdexcept>

namespace dc {

// Level k+1 node i = H(level k node 2i || node 2i+1), or node 2i carried up when it has no right
// sibling. Leaves appended since the last settle() only change nodes from index settled_/2^k on
// at level k, so those are the only ones recomputed.
void MerkleTree::append(const Digest& leaf) { leaves_.push_back(leaf); }

void MerkleTree::clear() {
  leaves_.clear();
  upper_.clear();
  settled_ = 0;
}

size_t MerkleTree::size() const { return leaves_.size(); }

void MerkleTree::settle() const {
  if (settled_ == leaves_.size()) return;
  size_t from = settled_;  // first node of level k that changed
  for (size_t k = 0;; ++k) {
    if (upper_.size() == k) upper_.emplace_back();  // may move upper_: take references after it
    const auto& level = k == 0 ? leaves_ : upper_[k - 1];
    if (level.size() <= 1) {
      upper_.resize(k);  // nothing above the root
      break;
    }
    auto& up = upper_[k];
    size_t n = (level.size() + 1) / 2;
    up.resize(n);
    for (size_t i = from / 2; i < n; ++i) {
      size_t left = 2 * i;
      up[i] = left + 1 < level.size() ? sha256Pair(level[left], level[left + 1]) : level[left];
    }
    from /= 2;
  }
  settled_ = leaves_.size();
}

std::string MerkleTree::rootHex() const {
  if (leaves_.empty()) return "";
  settle();
  // The first level holding a single node is the root (sizes only grow, so no stale level above it).
  if (leaves_.size() == 1) return toHex(leaves_[0]);
  for (const auto& level : upper_) {
    if (level.size() == 1) return toHex(level[0]);
  }
  return "";  // unreachable: the top level always has one node
}

std::vector<ProofStep> MerkleTree::proof(size_t leafIndex) const {
  if (leafIndex >= size()) throw std::out_of_range("Merkle leaf index out of range");
  settle();
  std::vector<ProofStep> steps;
  size_t i = leafIndex;
  for (size_t k = 0;; ++k) {
    const auto& level = k == 0 ? leaves_ : upper_[k - 1];
    if (level.size() <= 1) break;
    size_t sibling = i ^ 1;
    if (sibling < level.size()) {
      steps.push_back({toHex(level[sibling]), sibling < i});
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
