// Native reference benchmarks: the same C++ core the wasm package runs, at full speed.
// Prints one JSON document on stdout (progress on stderr); bench/run.mjs turns it into tables.
//
//   native_bench [--quick] [--sizes 1000,10000,100000] [--dir <scratch dir>] [--only a,b,...]
//
// Sections: submit (memory / directory with a flush per event / directory with group commit),
// flush (cost of making one more event durable in a store of N events), open (load time of a
// store of N events), rebase (1,000 late events sorting before 10,000 applied ones), memory (heap
// per stored event at 10,000 and 100,000 events, memory and directory stores).
// Benchmarks report; they do not assert. Every loop is bounded in count and in time.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <malloc.h>
#include <unistd.h>

#include "core/entity_store.hpp"
#include "core/error.hpp"
#include "core/event_applier.hpp"
#include "core/event_store.hpp"
#include "core/json.hpp"
#include "core/storage.hpp"
#include "core/store.hpp"
#include "core/timestamp.hpp"

namespace fs = std::filesystem;
using dc::Json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kBaseMs = 1704067200000;  // 2024-01-01T00:00:00.000Z

// Process CPU time in ms: on a shared, loaded machine wall time overstates cost; CPU time does not.
double cpuMsNow() { return 1000.0 * static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string pad(long long v, int width) {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width) s.insert(0, width - s.size(), '0');
  return s;
}

// UUID-shaped, deterministic, unique per (tag, i).
std::string guidOf(unsigned tag, long long i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012llx", tag, static_cast<unsigned long long>(i));
  return buf;
}

const char* kCities[] = {"Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret", "Thika", "Malindi", "Garissa"};
const char* kJobs[] = {"farmer", "teacher", "nurse", "trader", "driver", "student"};

// ~300 bytes of JSON, the shape of a household-survey individual. Shared values (city, gender,
// occupation) are realistic and keep the duplicate index honest; the name and email are unique.
Json individualData(long long i) {
  Json d = Json::object();
  d["name"] = "Person " + pad(i, 7);
  d["givenName"] = "Given" + std::to_string(i);
  d["familyName"] = "Family" + std::to_string(i % 5000);
  d["dateOfBirth"] = std::to_string(1950 + i % 60) + "-" + pad(1 + i % 12, 2) + "-" + pad(1 + i % 28, 2);
  d["gender"] = (i % 2) ? "female" : "male";
  d["phone"] = "+2547" + pad(i, 8);
  d["email"] = "person" + std::to_string(i) + "@example.org";
  d["address"] = {{"street", std::to_string(1 + i % 999) + " Bench Street"},
                  {"city", kCities[i % 8]},
                  {"postcode", pad(i % 100000, 5)},
                  {"country", "KE"}};
  d["householdSize"] = 1 + i % 9;
  d["occupation"] = kJobs[i % 6];
  d["notes"] = "Collected during the benchmark run.";
  return d;
}

Json form(const std::string& type, const std::string& guid, const std::string& entityGuid, const Json& data,
          int64_t timeMs, int syncLevel = -1) {
  Json f = {{"guid", guid},
            {"entityGuid", entityGuid},
            {"type", type},
            {"data", data},
            {"timestamp", dc::formatTimestamp(timeMs)},
            {"userId", "bench-user"}};
  if (syncLevel >= 0) f["syncLevel"] = syncLevel;
  return f;
}

Json createForm(unsigned tag, long long i, int64_t timeMs) {
  return form("create-individual", guidOf(tag, i), guidOf(tag + 1, i), individualData(i), timeMs);
}

struct Engine {
  std::shared_ptr<dc::Storage> storage;
  std::shared_ptr<dc::Store> store;
  std::unique_ptr<dc::EventStore> events;
  std::unique_ptr<dc::EntityStore> entities;
  std::unique_ptr<dc::EventApplierService> applier;

  static Engine open(std::shared_ptr<dc::Storage> storage) {
    Engine e;
    e.storage = std::move(storage);
    e.store = dc::Store::open(e.storage);
    e.events = std::make_unique<dc::EventStore>(e.store);
    e.entities = std::make_unique<dc::EntityStore>(e.store);
    e.applier = std::make_unique<dc::EventApplierService>(*e.events, *e.entities);
    return e;
  }
};

// Flushes and returns the time in ms; throws when the platform flush did not complete
// synchronously (natively it is fsync, so it does) or failed.
double flushNow(dc::Store& store) {
  bool done = false;
  std::optional<dc::Error> err;
  auto t0 = Clock::now();
  store.flush([&](std::optional<dc::Error> e) {
    done = true;
    err = std::move(e);
  });
  double ms = msSince(t0);
  if (!done) throw std::runtime_error("flush did not complete synchronously");
  if (err) throw std::runtime_error(std::string("flush failed: ") + err->what());
  return ms;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

size_t dirBytes(const fs::path& p) {
  size_t total = 0;
  std::error_code ec;
  for (auto& f : fs::recursive_directory_iterator(p, ec))
    if (f.is_regular_file(ec)) total += f.file_size(ec);
  return total;
}

size_t dirFiles(const fs::path& p) {
  size_t n = 0;
  std::error_code ec;
  for (auto& f : fs::directory_iterator(p, ec))
    if (f.is_regular_file(ec)) ++n;
  return n;
}

Json errorJson(const std::exception& e) {
  Json j = {{"error", e.what()}};
  if (auto* de = dynamic_cast<const dc::Error*>(&e)) j["code"] = de->codeName();
  return j;
}

// --- 1. submitForm throughput ------------------------------------------------------------------
Json benchSubmitMemory(long long n, double budgetMs) {
  Engine e = Engine::open(dc::openMemoryStorage());
  std::vector<Json> forms;
  forms.reserve(n);
  for (long long i = 0; i < n; ++i) forms.push_back(createForm(0x10, i, kBaseMs + i));
  size_t bytes = forms.empty() ? 0 : forms[0]["data"].dump().size();
  double c0 = cpuMsNow();
  auto t0 = Clock::now();
  auto tBlock = t0;
  long long done = 0;
  Json blocks = Json::array();  // ms per 1,000 submits: flat = O(1) per event, rising = grows with the store
  for (; done < n; ++done) {
    e.applier->submitForm(forms[done]);
    if ((done + 1) % 1000 == 0) {
      blocks.push_back(msSince(tBlock));
      tBlock = Clock::now();
    }
    if ((done & 255) == 0 && msSince(t0) > budgetMs) break;
  }
  double ms = msSince(t0);
  double cpu = cpuMsNow() - c0;
  return {{"storage", "memory"}, {"events", done}, {"ms", ms}, {"cpuMs", cpu}, {"eventsPerSec", done / (ms / 1000.0)},
          {"eventsPerCpuSec", done / (cpu / 1000.0)},
          {"dataBytes", bytes}, {"storedEvents", e.store->events().size()}, {"msPer1000", blocks}};
}

// Heap in use (glibc mallinfo2: bytes handed out by malloc, not yet freed).
size_t heapInUse() { return mallinfo2().uordblks; }

// Heap per stored event: bytes in use after n create-individual submits minus before, over n,
// for a memory store (its journal is heap too) and a directory store (journal on disk).
// Measured at each checkpoint of `sizes`.
Json benchMemory(const fs::path& dir, const std::vector<long long>& sizes) {
  Json rows = Json::array();
  for (const char* kind : {"memory", "directory"}) {
    fs::remove_all(dir);
    size_t before = heapInUse();
    Json row = {{"storage", kind}, {"points", Json::array()}};
    {
      Engine e = Engine::open(std::string(kind) == "memory" ? dc::openMemoryStorage() : dc::openDirectoryStorage(dir.string()));
      long long done = 0;
      for (long long n : sizes) {
        for (; done < n; ++done) {
          e.applier->submitForm(createForm(0x70, done, kBaseMs + done));
          if (std::string(kind) == "directory" && (done & 255) == 255) e.store->flush([](std::optional<dc::Error>) {});
        }
        size_t used = heapInUse() - before;
        row["points"].push_back({{"events", n}, {"heapBytes", used}, {"bytesPerEvent", static_cast<double>(used) / n}});
      }
    }
    rows.push_back(row);
  }
  fs::remove_all(dir);
  return rows;
}

Json benchSubmitDirectory(const fs::path& dir, long long n, long long groupSize, double budgetMs) {
  fs::remove_all(dir);
  Engine e = Engine::open(dc::openDirectoryStorage(dir.string()));
  std::vector<Json> forms;
  forms.reserve(n);
  unsigned tag = 0x20 + static_cast<unsigned>(groupSize % 0xff);
  for (long long i = 0; i < n; ++i) forms.push_back(createForm(tag, i, kBaseMs + i));
  double c0 = cpuMsNow();
  auto t0 = Clock::now();
  long long done = 0;
  long long flushes = 0;
  double flushMs = 0;
  while (done < n) {
    long long end = std::min(n, done + groupSize);
    for (; done < end; ++done) e.applier->submitForm(forms[done]);
    flushMs += flushNow(*e.store);
    ++flushes;
    if (msSince(t0) > budgetMs) break;
  }
  double ms = msSince(t0);
  double cpu = cpuMsNow() - c0;
  Json r = {{"storage", "directory"}, {"groupCommit", groupSize}, {"events", done}, {"flushes", flushes},
            {"ms", ms}, {"cpuMs", cpu}, {"flushMs", flushMs}, {"eventsPerSec", done / (ms / 1000.0)},
            {"eventsPerCpuSec", done / (cpu / 1000.0)},
            {"bytesOnDisk", dirBytes(dir)}, {"files", dirFiles(dir)}};
  e = Engine{};
  fs::remove_all(dir);
  return r;
}

// --- 4/5. flush cost after one event, and open time, for stores of N events -------------------
Json benchStoreSize(const fs::path& dir, long long n, int probes, double budgetMs) {
  fs::remove_all(dir);
  Json r = {{"n", n}};
  auto t0 = Clock::now();
  long long built = 0;
  {
    Engine e = Engine::open(dc::openDirectoryStorage(dir.string()));
    while (built < n) {
      long long end = std::min(n, built + 1000);
      for (; built < end; ++built) e.applier->submitForm(createForm(0x40, built, kBaseMs + built));
      flushNow(*e.store);
      if (msSince(t0) > budgetMs) break;
    }
    r["buildMs"] = msSince(t0);
    r["built"] = built;
    if (built < n) {
      r["error"] = "building the store exceeded the time budget";
      fs::remove_all(dir);
      return r;
    }
    // One event, then one flush: the flush must not grow with the store.
    std::vector<double> flushMs, submitMs;
    for (int k = 0; k < probes; ++k) {
      auto ts = Clock::now();
      e.applier->submitForm(createForm(0x41, k, kBaseMs + n + 10 + k));
      submitMs.push_back(msSince(ts));
      flushMs.push_back(flushNow(*e.store));
    }
    r["flushMedianMs"] = percentile(flushMs, 0.5);
    r["flushP90Ms"] = percentile(flushMs, 0.9);
    r["submitMedianMs"] = percentile(submitMs, 0.5);
    r["probes"] = probes;
  }
  r["bytesOnDisk"] = dirBytes(dir);
  r["files"] = dirFiles(dir);
  // Open (load) time: replaying the journal into memory. Best of 3 (cold-ish page cache aside).
  std::vector<double> openMs;
  size_t loaded = 0;
  for (int k = 0; k < 3; ++k) {
    auto to = Clock::now();
    Engine e = Engine::open(dc::openDirectoryStorage(dir.string()));
    openMs.push_back(msSince(to));
    loaded = e.store->events().size();
    if (msSince(t0) > budgetMs * 2 || openMs.back() > 5000) break;  // one slow open is enough
  }
  r["openMs"] = *std::min_element(openMs.begin(), openMs.end());
  r["openMsAll"] = openMs;
  r["eventsLoaded"] = loaded;
  fs::remove_all(dir);
  return r;
}

// --- 8. convergence rebase -------------------------------------------------------------------
// 10,000 events (1,000 individuals, each created then updated 9 times) are applied as pulled
// pages of 500; then 1,000 late updates, one per individual, whose timestamps sort before all of
// them, arrive as 2 pages of 500 and force the entities' events to be re-applied in order.
// Compared with 1,000 updates that sort after everything (the incremental path).
Json benchRebase(long long applied, long long late, size_t page) {
  long long entities = std::max<long long>(1, applied / 10);
  auto build = [&](Engine& e) {
    std::vector<Json> batch;
    double ms = 0;
    for (long long i = 0; i < applied; ++i) {
      long long ent = i % entities;
      bool create = i < entities;
      Json data = create ? individualData(ent) : Json{{"householdSize", 1 + i % 9}, {"visit", i / entities}};
      batch.push_back(form(create ? "create-individual" : "update-individual", guidOf(0x80, i), guidOf(0x81, ent),
                           data, kBaseMs + 10'000'000 + i, 1));
      if (batch.size() == page || i + 1 == applied) {
        auto t0 = Clock::now();
        e.applier->applyRemoteEvents(batch, Json{{"benchCursor", i}});
        ms += msSince(t0);
        batch.clear();
      }
    }
    return ms;
  };
  double lastCpuMs = 0;
  auto lateBatch = [&](Engine& e, bool before, unsigned tag) {
    lastCpuMs = 0;
    std::vector<Json> batch;
    double ms = 0;
    size_t rejected = 0;
    for (long long j = 0; j < late; ++j) {
      long long ent = j % entities;
      int64_t t = before ? kBaseMs + j : kBaseMs + 20'000'000 + j;
      batch.push_back(form("update-individual", guidOf(tag, j), guidOf(0x81, ent),
                           Json{{"lateField", j}, {"occupation", "late-" + std::to_string(j % 7)}}, t, 1));
      if (batch.size() == page || j + 1 == late) {
        auto t0 = Clock::now();
        double c0 = cpuMsNow();
        auto outcomes = e.applier->applyRemoteEvents(batch, Json{{"benchCursor", j}});
        ms += msSince(t0);
        lastCpuMs += cpuMsNow() - c0;
        for (auto& o : outcomes)
          if (!o.applied) ++rejected;
        batch.clear();
      }
    }
    return std::make_pair(ms, rejected);
  };
  Json r = {{"applied", applied}, {"late", late}, {"page", page}, {"entities", entities}};
  {
    Engine e = Engine::open(dc::openMemoryStorage());
    r["applyMs"] = build(e);
    auto [ms, rej] = lateBatch(e, true, 0x90);
    r["lateBeforeMs"] = ms;
    r["lateBeforeCpuMs"] = lastCpuMs;
    r["lateBeforeRejected"] = rej;
    r["storedEvents"] = e.store->events().size();
  }
  {
    Engine e = Engine::open(dc::openMemoryStorage());
    build(e);
    auto [ms, rej] = lateBatch(e, false, 0x91);
    r["lateAfterMs"] = ms;
    r["lateAfterCpuMs"] = lastCpuMs;
    r["lateAfterRejected"] = rej;
  }
  {
    // Full replay of 11,000 events, for scale.
    Engine e = Engine::open(dc::openMemoryStorage());
    build(e);
    lateBatch(e, true, 0x92);
    auto t0 = Clock::now();
    e.applier->rebuild();
    r["fullRebuildMs"] = msSince(t0);
  }
  return r;
}

// --- 9. late submits and late pages (docs/convergence.md, 'Scoped replay') ------------------
// A store of n events (create-individual, in order); then n more submits of new individuals,
// either after everything (in order) or each older than the newest stored event (late: the
// device clock behind a colleague's, a bulk import). Target: late <= 2x in order. The late loop
// stops at its time budget (the old quadratic path) and reports ms per submit for what it did.
Json benchLateSubmits(const fs::path& dir, long long n, bool directory, double budgetMs) {
  auto run = [&](bool late, unsigned tag) {
    if (directory) fs::remove_all(dir);
    Engine e = Engine::open(directory ? dc::openDirectoryStorage(dir.string()) : dc::openMemoryStorage());
    for (long long i = 0; i < n; ++i) {
      e.applier->submitForm(createForm(tag, i, kBaseMs + 10'000'000 + i));
      if (directory && (i + 1) % 256 == 0) flushNow(*e.store);
    }
    if (directory) flushNow(*e.store);
    std::vector<Json> forms;
    forms.reserve(n);
    for (long long j = 0; j < n; ++j) forms.push_back(form("create-individual", guidOf(tag + 2, j), guidOf(tag + 3, j), individualData(n + j),
                           late ? kBaseMs + j : kBaseMs + 20'000'000 + j));
    double c0 = cpuMsNow();
    auto t0 = Clock::now();
    long long done = 0;
    for (; done < n; ++done) {
      e.applier->submitForm(forms[done]);
      if (directory && (done + 1) % 256 == 0) flushNow(*e.store);
      if ((done & 63) == 0 && msSince(t0) > budgetMs) break;
    }
    if (directory) flushNow(*e.store);
    double ms = msSince(t0), cpu = cpuMsNow() - c0;
    e = Engine{};
    if (directory) fs::remove_all(dir);
    return Json{{"done", done}, {"ms", ms}, {"cpuMs", cpu}, {"msPerSubmit", ms / std::max<long long>(done, 1)}};
  };
  Json inOrder = run(false, 0xa0);
  Json late = run(true, 0xa4);
  double ratio = late["msPerSubmit"].get<double>() / std::max(1e-9, inOrder["msPerSubmit"].get<double>());
  return {{"storage", directory ? "directory" : "memory"}, {"n", n}, {"inOrder", inOrder}, {"late", late},
          {"ratio", ratio}, {"complete", late["done"] == n}};
}

// A pulled page of `page` late events (new individuals, each sorting before everything stored)
// into a store of n events, against the same page sorting after everything.
Json benchLatePage(long long n, size_t page) {
  auto run = [&](bool late) {
    Engine e = Engine::open(dc::openMemoryStorage());
    std::vector<Json> batch;
    for (long long i = 0; i < n; ++i) {
      batch.push_back(form("create-individual", guidOf(0xb0, i), guidOf(0xb1, i), individualData(i), kBaseMs + 10'000'000 + i, 1));
      if (batch.size() == 500 || i + 1 == n) {
        e.applier->applyRemoteEvents(batch, Json{{"benchCursor", i}});
        batch.clear();
      }
    }
    for (size_t j = 0; j < page; ++j)
      batch.push_back(form("create-individual", guidOf(0xb2, j), guidOf(0xb3, j), individualData(n + j),
                           late ? kBaseMs + j : kBaseMs + 20'000'000 + j, 1));
    double c0 = cpuMsNow();
    auto t0 = Clock::now();
    auto outcomes = e.applier->applyRemoteEvents(batch, Json{{"benchCursor", -1}});
    double ms = msSince(t0), cpu = cpuMsNow() - c0;
    size_t applied = 0;
    for (const auto& o : outcomes) applied += o.applied;
    return Json{{"ms", ms}, {"cpuMs", cpu}, {"applied", applied}};
  };
  Json inOrder = run(false), late = run(true);
  return {{"n", n}, {"page", page}, {"inOrder", inOrder}, {"late", late},
          {"ratio", late["ms"].get<double>() / std::max(1e-9, inOrder["ms"].get<double>())}};
}

// --- profiling entry points (bench/profile.sh runs them under callgrind) ----------------------
// Exactly n submits into a memory store, with nothing else inside the measured function.
__attribute__((noinline)) void profiledSubmits(dc::EventApplierService& applier, const std::vector<Json>& forms) {
  for (const auto& f : forms) applier.submitForm(f);
}
__attribute__((noinline)) size_t profiledOpen(const fs::path& dir) {
  Engine e = Engine::open(dc::openDirectoryStorage(dir.string()));
  return e.store->events().size();
}
Json profileSubmit(long long n) {
  Engine e = Engine::open(dc::openMemoryStorage());
  std::vector<Json> forms;
  for (long long i = 0; i < n; ++i) forms.push_back(createForm(0x60, i, kBaseMs + i));
  profiledSubmits(*e.applier, forms);
  return {{"submitted", n}, {"stored", e.store->events().size()}};
}
Json profileOpen(const fs::path& dir, long long n) {
  fs::remove_all(dir);
  {
    Engine e = Engine::open(dc::openDirectoryStorage(dir.string()));
    for (long long i = 0; i < n; ++i) {
      e.applier->submitForm(createForm(0x61, i, kBaseMs + i));
      if ((i + 1) % 1000 == 0) flushNow(*e.store);
    }
    flushNow(*e.store);
  }
  size_t loaded = profiledOpen(dir);
  fs::remove_all(dir);
  return {{"stored", n}, {"loaded", loaded}};
}

template <class F>
Json guarded(const char* name, F&& f) {
  std::cerr << "native_bench: " << name << "...\n";
  try {
    return f();
  } catch (const std::exception& ex) {
    std::cerr << "native_bench: " << name << " failed: " << ex.what() << "\n";
    return errorJson(ex);
  }
}

std::vector<long long> parseSizes(const std::string& s) {
  std::vector<long long> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(std::atoll(s.substr(pos, comma - pos).c_str()));
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::vector<long long> sizes;
  std::set<std::string> only;
  fs::path scratch = fs::temp_directory_path() / ("dc-native-bench-" + std::to_string(::getpid()));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--sizes" && i + 1 < argc) sizes = parseSizes(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) scratch = argv[++i];
    else if (a == "--only" && i + 1 < argc) {
      std::string list = argv[++i];
      size_t pos = 0;
      while (pos <= list.size()) {
        size_t c = list.find(',', pos);
        if (c == std::string::npos) c = list.size();
        only.insert(list.substr(pos, c - pos));
        pos = c + 1;
      }
    }
  }
  if (sizes.empty()) sizes = {1000, 10000, 100000};
  auto want = [&](const char* s) { return only.empty() || only.count(s); };
  fs::create_directories(scratch);

  Json out = {{"quick", quick}, {"sizes", sizes}};
  long long submitN = quick ? 2000 : 20000;
  if (want("submit")) {
    Json rows = Json::array();
    rows.push_back(guarded("submit memory", [&] { return benchSubmitMemory(submitN, quick ? 1500 : 20000); }));
    rows.push_back(guarded("submit directory, flush per event", [&] {
      return benchSubmitDirectory(scratch / "submit-1", quick ? 200 : 2000, 1, quick ? 1000 : 8000);
    }));
    rows.push_back(guarded("submit directory, group commit 256", [&] {
      return benchSubmitDirectory(scratch / "submit-256", submitN, 256, quick ? 1500 : 20000);
    }));
    out["submit"] = rows;
  }
  if (want("store")) {
    Json rows = Json::array();
    for (long long n : sizes)
      rows.push_back(guarded(("store of " + std::to_string(n)).c_str(),
                             [&] { return benchStoreSize(scratch / ("store-" + std::to_string(n)), n,
                                                         quick ? 10 : 30, quick ? 8000 : 120000); }));
    out["store"] = rows;
  }
  if (want("memory")) {
    std::vector<long long> points = quick ? std::vector<long long>{10000} : std::vector<long long>{10000, 100000};
    out["memory"] = guarded("memory", [&] { return benchMemory(scratch / "memory", points); });
  }
  if (want("rebase"))
    out["rebase"] = guarded("rebase", [&] { return quick ? benchRebase(2000, 200, 100) : benchRebase(10000, 1000, 500); });
  if (want("late")) {
    Json rows = Json::array();
    for (long long n : quick ? std::vector<long long>{2000} : std::vector<long long>{2000, 10000})
      for (bool dir : {false, true})
        rows.push_back(guarded(("late submits " + std::to_string(n)).c_str(), [&] {
          return benchLateSubmits(scratch / "late", n, dir, quick ? 5000 : 20000);
        }));
    out["late"] = rows;
  }
  if (want("latepage"))
    out["latePage"] = guarded("late page", [&] { return benchLatePage(quick ? 2000 : 10000, 500); });
  // Not part of the default run: bench/profile.sh asks for these by name.
  if (only.count("submit-profile")) out["submitProfile"] = guarded("submit-profile", [&] { return profileSubmit(sizes[0]); });
  if (only.count("open-profile"))
    out["openProfile"] = guarded("open-profile", [&] { return profileOpen(scratch / "open-profile", sizes[0]); });
  std::error_code ec;
  fs::remove_all(scratch, ec);
  std::cout << out.dump(1) << std::endl;
  return 0;
}
