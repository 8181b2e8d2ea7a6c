#pragma once
// A store's files: a flat directory of named files. Back-ends: memory, and a real directory
// (POSIX calls; in wasm the same code runs on Emscripten's FS: IDBFS in browsers, NODEFS/NODERAWFS
// in Node). Durability comes from flush(), which the platform provides.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace dc {

// Completion of a flush: nullopt on success, else a STORAGE error.
using FlushCallback = std::function<void(std::optional<Error>)>;

class Storage {
 public:
  virtual ~Storage() = default;
  virtual std::vector<std::string> list() = 0;  // file names, sorted
  virtual std::optional<std::string> read(const std::string& name) = 0;
  virtual void append(const std::string& name, std::string_view bytes) = 0;   // creates if missing
  virtual void replace(const std::string& name, std::string_view bytes) = 0;  // atomic: tmp + rename
  virtual void truncate(const std::string& name, size_t size) = 0;
  virtual void remove(const std::string& name) = 0;
  // Makes every write made so far durable, then calls done. Never two platform flushes in flight:
  // requests arriving during a flush are coalesced into the next one (group commit).
  virtual void flush(FlushCallback done) = 0;
  // True while a flush is running or queued.
  virtual bool flushPending() const = 0;
};

// The platform's durability step, given the files written since the last flush.
// Native default: fsync each file and the directory. wasm: FS.syncfs on the IDBFS mount
// (after bumping mtimes so two writes in one millisecond are not missed).
using PlatformFlush = std::function<void(const std::vector<std::string>& dirtyFiles, FlushCallback done)>;

std::shared_ptr<Storage> openMemoryStorage();
// Creates the directory if needed. Throws Error(STORAGE) when it cannot.
std::shared_ptr<Storage> openDirectoryStorage(const std::string& path, PlatformFlush platformFlush = {});

}  // namespace dc
