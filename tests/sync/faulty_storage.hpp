#pragma once
// A Storage wrapper that fails on command, for the storage cells of the fault matrix: a write
// that fails (EIO), a quota (no byte more may be written), a flush whose completion reports an
// error. The inner storage keeps what was written, so a test can reopen the store from it.
#include <memory>
#include <string>

#include "core/storage.hpp"

namespace dc::test {

enum class StorageFault { None, WriteFails, Quota, FlushFails };

inline const char* storageFaultName(StorageFault f) {
  switch (f) {
    case StorageFault::None: return "none";
    case StorageFault::WriteFails: return "write failure";
    case StorageFault::Quota: return "quota exceeded";
    case StorageFault::FlushFails: return "flush failure";
  }
  return "?";
}

class FaultyStorage : public Storage {
 public:
  explicit FaultyStorage(std::shared_ptr<Storage> inner) : inner_(std::move(inner)) {}
  StorageFault fault = StorageFault::None;
  size_t fired = 0;  // how many operations the fault has failed

  std::vector<std::string> list() override { return inner_->list(); }
  std::optional<std::string> read(const std::string& name) override { return inner_->read(name); }
  void append(const std::string& name, std::string_view bytes) override {
    failWrite(bytes.size());
    inner_->append(name, bytes);
  }
  void replace(const std::string& name, std::string_view bytes) override {
    failWrite(bytes.size());
    inner_->replace(name, bytes);
  }
  void truncate(const std::string& name, size_t size) override { inner_->truncate(name, size); }
  void remove(const std::string& name) override { inner_->remove(name); }
  void flush(FlushCallback done) override {
    if (fault == StorageFault::FlushFails) {
      ++fired;
      return done(Error(ErrorCode::Storage, "flush failed: I/O error (injected)"));
    }
    inner_->flush(std::move(done));
  }
  bool flushPending() const override { return inner_->flushPending(); }
  std::shared_ptr<Storage> inner() const { return inner_; }

 private:
  void failWrite(size_t bytes) {
    if (fault == StorageFault::WriteFails) {
      ++fired;
      throw Error(ErrorCode::Storage, "write failed: EIO (injected)");
    }
    if (fault == StorageFault::Quota && bytes > 0) {
      ++fired;
      throw Error(ErrorCode::Storage, "QuotaExceededError: the storage quota is used up (injected)");
    }
  }
  std::shared_ptr<Storage> inner_;
};

}  // namespace dc::test
