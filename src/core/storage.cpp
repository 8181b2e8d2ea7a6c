#include "core/storage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <set>

namespace dc {
namespace {

Error storageError(const std::string& what, int err) {
  return Error(ErrorCode::Storage, what + ": " + std::strerror(err));
}

// Group commit shared by the back-ends: at most one platform flush in flight; flush() requests
// arriving meanwhile wait in `queued` and are served together by the next platform flush.
// Callbacks fire in request order. The state is shared with the completion callback so an
// asynchronous platform flush may finish after the Storage is gone.
// Store files live in one flat directory.
const std::string& checkedName(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    throw Error(ErrorCode::Storage, "invalid file name in store: " + name);
  }
  return name;
}

class GroupCommit {
 public:
  explicit GroupCommit(PlatformFlush platform) : s_(std::make_shared<State>()) { s_->platform = std::move(platform); }

  void markDirty(const std::string& name) { s_->dirty.insert(name); }
  void forget(const std::string& name) { s_->dirty.erase(name); }

  void flush(FlushCallback done) {
    s_->queued.push_back(std::move(done));
    if (!s_->inFlight) start(s_);
  }
  bool pending() const { return s_->inFlight || !s_->queued.empty(); }

 private:
  struct State {
    PlatformFlush platform;
    std::set<std::string> dirty;
    std::vector<FlushCallback> queued;
    bool inFlight = false;
  };
  std::shared_ptr<State> s_;

  static void start(const std::shared_ptr<State>& s) {
    s->inFlight = true;
    auto batch = std::make_shared<std::vector<FlushCallback>>(std::move(s->queued));
    s->queued.clear();
    std::vector<std::string> files(s->dirty.begin(), s->dirty.end());
    s->dirty.clear();
    auto finished = std::make_shared<bool>(false);
    FlushCallback complete = [s, batch, files, finished](std::optional<Error> err) {
      if (*finished) return;  // a platform calling back twice must not fire callbacks twice
      *finished = true;
      if (err) {
        // Not durable: the next flush must cover these files again.
        s->dirty.insert(files.begin(), files.end());
        if (err->code() != ErrorCode::Storage) err = Error(ErrorCode::Storage, err->what());
      }
      // A throwing callback must not wedge the queue: finish the batch, then rethrow.
      std::exception_ptr firstThrow;
      for (auto& cb : *batch) {
        try {
          if (cb) cb(err);
        } catch (...) {
          if (!firstThrow) firstThrow = std::current_exception();
        }
      }
      s->inFlight = false;
      if (!s->queued.empty()) start(s);
      if (firstThrow) std::rethrow_exception(firstThrow);
    };
    try {
      s->platform(files, complete);
    } catch (const std::exception& e) {
      if (*finished) throw;  // thrown by a callback after completion, not by the platform
      complete(Error(ErrorCode::Storage, std::string("flush failed: ") + e.what()));
    }
  }
};

class MemoryStorage final : public Storage {
 public:
  MemoryStorage() : commit_([](const std::vector<std::string>&, FlushCallback done) { done(std::nullopt); }) {}

  std::vector<std::string> list() override {
    std::vector<std::string> names;
    for (const auto& [name, _] : files_) names.push_back(name);
    return names;  // std::map keeps them sorted
  }
  std::optional<std::string> read(const std::string& name) override {
    auto it = files_.find(name);
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }
  void append(const std::string& name, std::string_view bytes) override {
    files_[checkedName(name)].append(bytes);
    commit_.markDirty(name);
  }
  void replace(const std::string& name, std::string_view bytes) override {
    files_[checkedName(name)] = std::string(bytes);
    commit_.markDirty(name);
  }
  void truncate(const std::string& name, size_t size) override {
    auto it = files_.find(name);
    if (it == files_.end()) throw Error(ErrorCode::Storage, "cannot truncate missing file " + name);
    if (size < it->second.size()) it->second.resize(size);
    commit_.markDirty(name);
  }
  void remove(const std::string& name) override {
    files_.erase(name);
    commit_.forget(name);
  }
  void flush(FlushCallback done) override { commit_.flush(std::move(done)); }
  bool flushPending() const override { return commit_.pending(); }

 private:
  std::map<std::string, std::string> files_;
  GroupCommit commit_;
};

// RAII file descriptor.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

void writeAll(int fd, std::string_view bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw storageError("cannot write " + path, errno);
    }
    done += static_cast<size_t>(n);
  }
}

void fsyncPath(const std::string& path, bool isDirectory) {
  Fd f(::open(path.c_str(), O_RDONLY | (isDirectory ? O_DIRECTORY : 0)));
  if (f.fd < 0) {
    if (errno == ENOENT && !isDirectory) return;  // removed since it was written: nothing to sync
    throw storageError("cannot open " + path + " to sync it", errno);
  }
  if (::fsync(f.fd) != 0) {
    // Some file systems (and Emscripten's in-memory ones) cannot fsync a directory; the files
    // themselves were synced, which is the part that carries data.
    if (isDirectory && (errno == EINVAL || errno == EBADF || errno == ENOTSUP || errno == EISDIR)) return;
    throw storageError("cannot sync " + path, errno);
  }
}

void makeDirectories(const std::string& path) {
  if (path.empty()) throw Error(ErrorCode::Storage, "storage directory path is empty");
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST) {
      throw storageError("cannot create directory " + prefix, errno);
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(ErrorCode::Storage, "storage path is not a directory: " + path);
  }
}

class DirectoryStorage final : public Storage {
 public:
  DirectoryStorage(std::string dir, PlatformFlush platform) : dir_(std::move(dir)), commit_(std::move(platform)) {}
  ~DirectoryStorage() override { closeAppendFd(); }

  std::vector<std::string> list() override {
    DIR* d = ::opendir(dir_.c_str());
    if (!d) throw storageError("cannot list " + dir_, errno);
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(d)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::stat(path(name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  std::optional<std::string> read(const std::string& name) override {
    std::string p = path(name);
    Fd f(::open(p.c_str(), O_RDONLY));
    if (f.fd < 0) {
      if (errno == ENOENT) return std::nullopt;
      throw storageError("cannot open " + p, errno);
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw storageError("cannot stat " + p, errno);
    std::string data;
    data.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    for (;;) {
      if (got == data.size()) data.resize(std::max<size_t>(4096, data.size() * 2));  // grew meanwhile
      ssize_t n = ::read(f.fd, data.data() + got, data.size() - got);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw storageError("cannot read " + p, errno);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    data.resize(got);
    return data;
  }

  // The journal appends to one segment at a time: its descriptor stays open between appends
  // (open + close per record cost more than the write, above all through Node's fs in wasm).
  void append(const std::string& name, std::string_view bytes) override {
    std::string p = path(name);
    if (appendFd_ < 0 || appendName_ != name) {
      closeAppendFd();
      // Positioned at the end once, not O_APPEND: the store is the file's only writer, and with
      // O_APPEND NODEFS stats the file before every write to find its end.
      appendFd_ = ::open(p.c_str(), O_WRONLY | O_CREAT, 0666);
      if (appendFd_ < 0) throw storageError("cannot open " + p + " for appending", errno);
      if (::lseek(appendFd_, 0, SEEK_END) < 0) {
        int e = errno;
        closeAppendFd();
        throw storageError("cannot seek to the end of " + p, e);
      }
      appendName_ = name;
    }
    commit_.markDirty(name);  // before writing: a partial write must still be flushed or undone
    try {
      writeAll(appendFd_, bytes, p);
    } catch (...) {
      closeAppendFd();  // reopened next time: the caller may truncate or remove the file meanwhile
      throw;
    }
  }

  void replace(const std::string& name, std::string_view bytes) override {
    if (name == appendName_) closeAppendFd();
    std::string p = path(name), tmp = p + ".tmp";
    {
      Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666));
      if (f.fd < 0) throw storageError("cannot create " + tmp, errno);
      writeAll(f.fd, bytes, tmp);
      // The new content must be durable before the rename publishes it (no empty file after a crash).
      if (::fsync(f.fd) != 0) throw storageError("cannot sync " + tmp, errno);
    }
    if (::rename(tmp.c_str(), p.c_str()) != 0) throw storageError("cannot rename " + tmp + " to " + p, errno);
    commit_.markDirty(name);
  }

  void truncate(const std::string& name, size_t size) override {
    if (name == appendName_) closeAppendFd();
    std::string p = path(name);
    Fd f(::open(p.c_str(), O_WRONLY));
    if (f.fd < 0) throw storageError("cannot open " + p + " to truncate it", errno);
    if (::ftruncate(f.fd, static_cast<off_t>(size)) != 0) throw storageError("cannot truncate " + p, errno);
    commit_.markDirty(name);
  }

  void remove(const std::string& name) override {
    if (name == appendName_) closeAppendFd();
    std::string p = path(name);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw storageError("cannot remove " + p, errno);
    commit_.forget(name);
  }

  void flush(FlushCallback done) override { commit_.flush(std::move(done)); }
  bool flushPending() const override { return commit_.pending(); }

 private:
  std::string dir_;
  GroupCommit commit_;
  int appendFd_ = -1;
  std::string appendName_;

  void closeAppendFd() noexcept {
    if (appendFd_ >= 0) ::close(appendFd_);
    appendFd_ = -1;
    appendName_.clear();
  }

  std::string path(const std::string& name) const { return dir_ + "/" + checkedName(name); }
};

}  // namespace

std::shared_ptr<Storage> openMemoryStorage() { return std::make_shared<MemoryStorage>(); }

std::shared_ptr<Storage> openDirectoryStorage(const std::string& path, PlatformFlush platformFlush) {
  makeDirectories(path);
  if (!platformFlush) {
    // Native/NODEFS default: fsync every file written since the last flush, then the directory
    // (so new segment files and removals survive a power loss).
    platformFlush = [path](const std::vector<std::string>& dirtyFiles, FlushCallback done) {
      try {
        for (const auto& name : dirtyFiles) fsyncPath(path + "/" + name, false);
        fsyncPath(path, true);
      } catch (const Error& e) {
        done(e);
        return;
      }
      done(std::nullopt);
    };
  }
  return std::make_shared<DirectoryStorage>(path, std::move(platformFlush));
}

}  // namespace dc
