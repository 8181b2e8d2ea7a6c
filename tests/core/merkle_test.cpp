// Merkle tree (a fix, docs/convergence.md: the original's proofs were wrong): incremental append equals a
// from-scratch build, every leaf's proof verifies, tampered or unstored events do not.
#include <catch2/catch.hpp>

#include "core/merkle.hpp"
#include "store_fixture.hpp"

using namespace storetest;

namespace {
// Reference: the definition in merkle.hpp applied literally, level by level.
std::string rootFromScratch(std::vector<dc::Digest> level) {
  if (level.empty()) return "";
  while (level.size() > 1) {
    std::vector<dc::Digest> up;
    for (size_t i = 0; i < level.size(); i += 2) {
      up.push_back(i + 1 < level.size() ? dc::sha256Pair(level[i], level[i + 1]) : level[i]);  // odd node carried up
    }
    level = std::move(up);
  }
  return dc::toHex(level[0]);
}
dc::Digest leaf(int i) { return dc::sha256("leaf-" + std::to_string(i)); }
}  // namespace

TEST_CASE("Merkle tree: root equals a from-scratch build, every proof verifies, n = 1..50", "[merkle]") {
  dc::MerkleTree tree;
  CHECK(tree.rootHex() == "");
  std::vector<dc::Digest> leaves;
  for (int n = 1; n <= 50; ++n) {
    tree.append(leaf(n));
    leaves.push_back(leaf(n));
    INFO("n = " << n);
    REQUIRE(tree.size() == size_t(n));
    const std::string root = tree.rootHex();
    REQUIRE(root == rootFromScratch(leaves));
    for (int i = 0; i < n; ++i) {
      auto proof = tree.proof(i);
      CHECK(proof.size() <= 6);  // O(log n)
      CHECK(dc::MerkleTree::verify(leaves[i], proof, root));
      CHECK_FALSE(dc::MerkleTree::verify(dc::sha256("not a leaf"), proof, root));
      if (!proof.empty()) {
        auto flipped = proof;
        flipped[0].siblingOnLeft = !flipped[0].siblingOnLeft;  // sides matter
        CHECK_FALSE(dc::MerkleTree::verify(leaves[i], flipped, root));
      }
      if (n > 1 && i + 1 < n) CHECK_FALSE(dc::MerkleTree::verify(leaves[i + 1], proof, root));
    }
  }
  CHECK_THROWS_AS(tree.proof(50), std::out_of_range);
  tree.clear();
  CHECK(tree.size() == 0);
  CHECK(tree.rootHex() == "");
}

TEST_CASE("Merkle tree: many appends between reads (lazy upper levels) give the from-scratch root", "[merkle]") {
  dc::MerkleTree tree;
  std::vector<dc::Digest> leaves;
  int next = 0;
  for (int batch : {3, 7, 16, 1, 33, 2, 64, 5}) {
    for (int j = 0; j < batch; ++j) {
      tree.append(leaf(next));
      leaves.push_back(leaf(next++));
    }
    INFO("after a batch of " << batch << ", n = " << leaves.size());
    const std::string root = tree.rootHex();
    REQUIRE(root == rootFromScratch(leaves));
    for (size_t i = 0; i < leaves.size(); i += 7) CHECK(dc::MerkleTree::verify(leaves[i], tree.proof(i), root));
  }
  tree.clear();
  tree.append(leaf(1000));
  CHECK(tree.rootHex() == rootFromScratch({leaf(1000)}));  // clear() also forgets the upper levels
}

TEST_CASE("EventStore proofs: stored events verify, tampered and unstored ones do not", "[merkle][event-store]") {
  Opened db(dc::openMemoryStorage());
  std::vector<dc::Event> stored;
  for (int n = 1; n <= 50; ++n) {
    auto e = makeEvent("ev-" + std::to_string(n), ts(n), "p" + std::to_string(n % 7), {{"n", n}});
    applyUpsert(*db.store, e);
    stored.push_back(e);
    INFO("n = " << n);
    for (const auto& s : stored) REQUIRE(db.events.verifyEvent(s, db.events.getProof(s)));
  }
  std::vector<dc::Digest> leaves;
  for (const auto& s : stored) leaves.push_back(dc::sha256(s.canonicalJson()));
  CHECK(db.events.getMerkleRoot() == rootFromScratch(leaves));

  const dc::Event& target = stored[17];
  auto proof = db.events.getProof(target);
  dc::Event changedData = target;
  Json changed = changedData.data.value();
  changed["n"] = 999;
  changedData.data = changed;
  CHECK_FALSE(db.events.verifyEvent(changedData, proof));
  dc::Event changedTime = target;
  changedTime.timestamp = ts(1000);
  CHECK_FALSE(db.events.verifyEvent(changedTime, proof));
  auto unstored = makeEvent("ev-unstored", ts(3), "p1", {{"n", 3}});
  CHECK(db.events.getProof(unstored).empty());
  CHECK_FALSE(db.events.verifyEvent(unstored, proof));
  CHECK_FALSE(db.events.verifyEvent(unstored, {}));

  // Sync level is local-only and not hashed: marking synced keeps proofs valid.
  db.events.updateEventSyncLevel({target.guid}, dc::REMOTE);
  CHECK(db.events.verifyEvent(*db.events.getEvent(target.guid), proof));
}
