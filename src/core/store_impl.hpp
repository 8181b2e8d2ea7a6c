#pragma once
// Store internals shared by store.cpp and transaction.cpp: the journal, the state, and the one
// commit path both the Transaction and the outside-a-transaction operations take.
#include <memory>

#include "core/journal.hpp"
#include "core/record.hpp"
#include "core/store.hpp"
#include "core/store_state.hpp"

namespace dc {

struct Store::Impl {
  Journal journal;
  StoreState st;
  CommitObserver observer;
  bool committingRebuild = false;  // set by Transaction::commit for the notice
  // Snapshots (docs/storage.md, 'Snapshots').
  uint32_t snapshotSegment = 0;       // segment the newest snapshot stands before; 0: none
  size_t journalBytesSinceSnapshot = 0;
  size_t lastSnapshotBytes = 0;
  size_t snapshotMinBytes = 4u << 20;  // 0: no automatic snapshots
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);  // for flush callbacks that outlive us

  size_t snapshotNow();
  void dropBefore(uint32_t segment) noexcept;

  // Writes the record, then applies it; throws Error(STORAGE) with the state unchanged when the
  // write fails.
  void commit(Record&& r);
  void replay();
};

}  // namespace dc
