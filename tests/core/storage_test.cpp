// Storage back-ends: file operations, and group commit (never two platform flushes in flight,
// requests during a flush coalesce into the next one, callbacks in order, failures are STORAGE).
#include <catch2/catch.hpp>

#include "store_fixture.hpp"

using namespace storetest;
using dc::Json;

TEMPLATE_TEST_CASE("storage file operations", "[storage]", MemoryBackend, DirectoryBackend) {
  TestType backend;
  auto keep = backend.storage;  // reopen() below replaces backend.storage
  dc::Storage& s = *keep;
  CHECK(s.list().empty());
  CHECK_FALSE(s.read("missing"));
  s.append("b.log", "hello ");
  s.append("b.log", "world");
  s.replace("a.json", "{}");
  s.replace("a.json", "{\"v\":2}");
  CHECK(s.list() == std::vector<std::string>{"a.json", "b.log"});
  CHECK(*s.read("b.log") == "hello world");
  CHECK(*s.read("a.json") == "{\"v\":2}");
  s.truncate("b.log", 5);
  CHECK(*s.read("b.log") == "hello");
  s.remove("a.json");
  s.remove("a.json");  // removing a missing file is fine
  CHECK(backend.reopen()->list() == std::vector<std::string>{"b.log"});
  CHECK(*backend.reopen()->read("b.log") == "hello");
  CHECK_THROWS_AS(s.truncate("nope", 0), dc::Error);
  CHECK_THROWS_AS(s.append("../escape", "x"), dc::Error);
}

TEST_CASE("directory storage reports an unusable path as STORAGE", "[storage]") {
  TempDir dir;
  writeFile(dir.file("plain-file"), "x");
  try {
    dc::openDirectoryStorage(dir.file("plain-file"));
    FAIL("expected STORAGE");
  } catch (const dc::Error& e) {
    CHECK(e.code() == dc::ErrorCode::Storage);
  }
  auto nested = dc::openDirectoryStorage(dir.path + "/a/b");  // created on demand
  nested->append("f", "1");
  CHECK(readFile(dir.path + "/a/b/f") == "1");
  nested->remove("f");
  ::rmdir((dir.path + "/a/b").c_str());
  ::rmdir((dir.path + "/a").c_str());
}

TEST_CASE("the native default flush syncs and succeeds", "[storage]") {
  TempDir dir;
  Opened db(dc::openDirectoryStorage(dir.path));
  applyUpsert(*db.store, makeEvent("ev-1", ts(1)));
  bool called = false;
  db.store->flush([&](std::optional<dc::Error> err) {
    called = true;
    CHECK_FALSE(err);
  });
  CHECK(called);
  CHECK_FALSE(db.store->storage().flushPending());
}

TEST_CASE("flushes coalesce: many commits, few platform flushes, callbacks in order", "[storage][flush]") {
  TempDir dir;
  FlushProbe probe;
  probe.manual = true;
  Opened db(dc::openDirectoryStorage(dir.path, probe.hook()));
  std::vector<int> order;

  applyUpsert(*db.store, makeEvent("ev-0", ts(0)));
  db.store->flush([&](std::optional<dc::Error> err) { order.push_back(err ? -1 : 0); });
  REQUIRE(probe.calls == 1);  // in flight
  for (int i = 1; i <= 50; ++i) {
    applyUpsert(*db.store, makeEvent("ev-" + std::to_string(i), ts(i)));
    db.store->flush([&, i](std::optional<dc::Error> err) { order.push_back(err ? -1 : i); });
  }
  CHECK(probe.calls == 1);  // never two in flight: all 50 wait for the running one
  CHECK(db.store->storage().flushPending());
  probe.completeOne();
  CHECK(order == std::vector<int>{0});
  CHECK(probe.calls == 2);  // the 50 waiting requests became one platform flush
  probe.completeOne();
  CHECK(probe.calls == 2);
  CHECK(probe.maxInFlight == 1);
  REQUIRE(order.size() == 51);
  for (int i = 0; i <= 50; ++i) CHECK(order[i] == i);
  CHECK_FALSE(db.store->storage().flushPending());
}

TEST_CASE("a callback that flushes again is served by the next platform flush", "[storage][flush]") {
  TempDir dir;
  FlushProbe probe;
  probe.manual = true;
  Opened db(dc::openDirectoryStorage(dir.path, probe.hook()));
  std::vector<std::string> log;
  db.store->flush([&](std::optional<dc::Error>) {
    log.push_back("first");
    db.store->flush([&](std::optional<dc::Error>) { log.push_back("nested"); });
    log.push_back("first-end");
  });
  db.store->flush([&](std::optional<dc::Error>) { log.push_back("second"); });
  probe.completeOne();
  probe.completeOne();
  CHECK(probe.calls == 2);  // "second" and "nested" share the second platform flush
  CHECK(log == std::vector<std::string>{"first", "first-end", "second", "nested"});
  CHECK(probe.maxInFlight == 1);
}

TEST_CASE("a failing platform flush reports STORAGE and the next flush retries the files", "[storage][flush]") {
  TempDir dir;
  FlushProbe probe;
  probe.failWith = dc::Error(dc::ErrorCode::Network, "QuotaExceededError");
  Opened db(dc::openDirectoryStorage(dir.path, probe.hook()));
  applyUpsert(*db.store, makeEvent("ev-1", ts(1)));
  std::optional<dc::Error> result;
  db.store->flush([&](std::optional<dc::Error> err) { result = err; });
  REQUIRE(result);
  CHECK(result->code() == dc::ErrorCode::Storage);
  CHECK(std::string(result->what()).find("QuotaExceededError") != std::string::npos);

  probe.failWith.reset();
  bool ok = false;
  db.store->flush([&](std::optional<dc::Error> err) { ok = !err; });
  CHECK(ok);
  REQUIRE(probe.dirtyLists.size() == 2);
  CHECK(probe.dirtyLists[1] == std::vector<std::string>{"journal-000001.log"});  // not lost by the failure
  CHECK(db.store->events().size() == 1);  // memory state is not rolled back by a failed flush
}

TEST_CASE("a platform flush that throws reports STORAGE", "[storage][flush]") {
  TempDir dir;
  auto storage = dc::openDirectoryStorage(dir.path, [](const std::vector<std::string>&, dc::FlushCallback) {
    throw std::runtime_error("syncfs exploded");
  });
  std::optional<dc::Error> result;
  storage->flush([&](std::optional<dc::Error> err) { result = err; });
  REQUIRE(result);
  CHECK(result->code() == dc::ErrorCode::Storage);
  CHECK_FALSE(storage->flushPending());
}
