#pragma once
// Store internals shared by store.cpp and transaction.cpp: the journal, the state, and the one
// commit path both the Transaction and the outside-a-transaction operations take.
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

  // Writes the record, then applies it; throws Error(STORAGE) with the state unchanged when the
  // write fails.
  void commit(Record&& r);
  void replay();
};

}  // namespace dc
