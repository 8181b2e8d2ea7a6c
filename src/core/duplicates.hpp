#pragma once
// Potential duplicates (docs/convergence.md). An entity's signature is its `data` flattened into dotted paths
// of non-empty primitive values (arrays skipped; strings trimmed and lower-cased, numbers and
// booleans exact). Two entities are potential duplicates when one signature is a non-empty subset
// of the other's (so the relation is symmetric and does not depend on which was created first).
// The index answers "which entities match this one" without scanning the whole store.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/json.hpp"

namespace dc {

// (path, normalised value) pairs, sorted. Value encoding keeps types apart: "s:john", "n:42", "b:1".
using Signature = std::vector<std::pair<std::string, std::string>>;
Signature signatureOf(const Json& entityData);
bool isPotentialDuplicate(const Signature& a, const Signature& b);

class DuplicateIndex {
 public:
  void upsert(const std::string& guid, const Json& entityData);
  void remove(const std::string& guid);
  void clear();
  // Guids (other than `guid`) whose signature is a subset or superset of `sig`, sorted.
  std::vector<std::string> findMatches(const std::string& guid, const Signature& sig) const;
  size_t size() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared_ptr keeps the class copyable cheaply for snapshots
  Impl& mut();                  // copy-on-write: clones impl_ when a copy still shares it

 public:
  DuplicateIndex();
};

}  // namespace dc
