// Crash recovery of the journal (docs/storage.md): a torn tail is cut at the last complete record; damage
// that an interrupted append cannot produce is reported as STORAGE instead of dropping data.
#include <catch2/catch.hpp>

#include "store_fixture.hpp"

using namespace storetest;
using dc::Json;

namespace {
const std::string kFirstSegment = "journal-000001.log";

dc::ErrorCode openError(const std::string& dir) {
  try {
    Opened db(dc::openDirectoryStorage(dir));
  } catch (const dc::Error& e) {
    return e.code();
  }
  return dc::ErrorCode::Closed;  // "did not throw"
}

std::vector<std::string> segments(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& n : dc::openDirectoryStorage(dir)->list()) {
    if (n.rfind("journal-", 0) == 0) out.push_back(n);
  }
  return out;
}
}  // namespace

TEST_CASE("reopen after a crash at every byte of the final record", "[journal][crash]") {
  TempDir dir;
  Json afterTwo;
  size_t sizeTwo = 0;
  {
    Opened db(dc::openDirectoryStorage(dir.path));
    applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1", {{"name", "Ann"}}));
    applyUpsert(*db.store, makeEvent("ev-2", ts(2), "p2", {{"name", "Bob"}}));
    afterTwo = snapshot(*db.store);
    sizeTwo = fileSize(dir.file(kFirstSegment));
    applyUpsert(*db.store, makeEvent("ev-3", ts(3), "p3", {{"name", "Cy"}}));
  }
  const std::string full = readFile(dir.file(kFirstSegment));
  REQUIRE(full.size() > sizeTwo + 8);

  for (size_t cut = sizeTwo; cut < full.size(); ++cut) {
    INFO("segment cut to " << cut << " of " << full.size() << " bytes");
    writeFile(dir.file(kFirstSegment), full.substr(0, cut));
    {
      Opened db(dc::openDirectoryStorage(dir.path));
      REQUIRE(snapshot(*db.store) == afterTwo);
      CHECK(db.store->recoveredTailBytes() == cut - sizeTwo);
      CHECK(fileSize(dir.file(kFirstSegment)) == sizeTwo);  // the torn bytes are gone
      applyUpsert(*db.store, makeEvent("ev-new", ts(9), "p9"));
    }
    Opened again(dc::openDirectoryStorage(dir.path));
    CHECK(again.store->events().size() == 3);
    CHECK(again.store->findEvent("ev-new"));
    CHECK(again.store->recoveredTailBytes() == 0);
  }
  writeFile(dir.file(kFirstSegment), full);
  Opened intact(dc::openDirectoryStorage(dir.path));
  CHECK(intact.store->events().size() == 3);
}

TEST_CASE("garbage after the last record is cut off", "[journal][crash]") {
  TempDir dir;
  Json before;
  {
    Opened db(dc::openDirectoryStorage(dir.path));
    applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1"));
    applyUpsert(*db.store, makeEvent("ev-2", ts(2), "p2"));
    before = snapshot(*db.store);
  }
  const std::string clean = readFile(dir.file(kFirstSegment));
  std::string pseudoRandom;
  for (uint32_t x = 12345, i = 0; i < 300; ++i) pseudoRandom.push_back(char((x = x * 1103515245u + 12345u) >> 16));
  auto [label, garbage] = GENERATE_COPY(table<std::string, std::string>({
      {"zeros (file extended by the file system)", std::string(64, '\0')},
      {"pseudo-random bytes", pseudoRandom},
      {"a header claiming 4 GiB", std::string("\xff\xff\xff\xff\0\0\0\0", 8) + "{}"},
      {"a well-formed record with a wrong checksum", std::string("\x02\0\0\0\x01\x02\x03\x04", 8) + "{}"},
      {"a partial header", std::string("\x10\0", 2)},
  }));
  INFO(label);
  writeFile(dir.file(kFirstSegment), clean + garbage);
  Opened db(dc::openDirectoryStorage(dir.path));
  CHECK(snapshot(*db.store) == before);
  CHECK(db.store->recoveredTailBytes() == garbage.size());
  CHECK(readFile(dir.file(kFirstSegment)) == clean);
}

TEST_CASE("a damaged record followed by complete records is STORAGE, never dropped", "[journal][crash]") {
  TempDir dir;
  size_t firstRecordEnd = 0;
  {
    Opened db(dc::openDirectoryStorage(dir.path));
    applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1"));
    firstRecordEnd = fileSize(dir.file(kFirstSegment));
    applyUpsert(*db.store, makeEvent("ev-2", ts(2), "p2"));
    applyUpsert(*db.store, makeEvent("ev-3", ts(3), "p3"));
  }
  std::string bytes = readFile(dir.file(kFirstSegment));
  bytes[firstRecordEnd + 20] ^= 0x01;  // one flipped bit inside the second record's payload
  writeFile(dir.file(kFirstSegment), bytes);
  CHECK(openError(dir.path) == dc::ErrorCode::Storage);
  CHECK(readFile(dir.file(kFirstSegment)) == bytes);  // nothing was truncated away
}

TEST_CASE("segments rotate, damage in an older segment or a missing segment is STORAGE", "[journal][crash]") {
  TempDir dir;
  FlushProbe probe;
  {
    Opened db(dc::openDirectoryStorage(dir.path, probe.hook()));
    std::string big(4 * 1024, 'x');
    for (int i = 0; i < 100; ++i) {  // ~1.2 MiB: several segments
      applyUpsert(*db.store, makeEvent("ev-" + std::to_string(i), ts(i), "p" + std::to_string(i), {{"blob", big}}));
    }
    db.store->flush([](std::optional<dc::Error>) {});
    applyUpsert(*db.store, makeEvent("ev-last", ts(99), "p-last"));
    db.store->flush([](std::optional<dc::Error>) {});
    // A flush after one small commit writes the current segment only: O(change), not O(store).
    REQUIRE(probe.dirtyLists.size() == 2);
    CHECK(probe.dirtyLists.back() == std::vector<std::string>{segments(dir.path).back()});
  }
  auto names = segments(dir.path);
  REQUIRE(names.size() >= 3);
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    CHECK(fileSize(dir.file(names[i])) <= 256 * 1024 + 16 * 1024);  // limit + at most one ~12 KiB record
  }
  {
    Opened db(dc::openDirectoryStorage(dir.path));
    CHECK(db.store->events().size() == 101);
  }

  SECTION("a torn end of an older segment") {
    std::string older = readFile(dir.file(names[0]));
    writeFile(dir.file(names[0]), older.substr(0, older.size() - 1));
    CHECK(openError(dir.path) == dc::ErrorCode::Storage);
  }
  SECTION("a missing middle segment") {
    std::remove(dir.file(names[1]).c_str());
    CHECK(openError(dir.path) == dc::ErrorCode::Storage);
  }
}

namespace {
uint32_t testCrc32(const std::string& bytes) {  // IEEE 802.3, as the journal frames records
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}
std::string framed(const std::string& payload) {
  std::string out;
  for (uint32_t v : {uint32_t(payload.size()), testCrc32(payload)})
    for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
  return out + payload;
}
}  // namespace

TEST_CASE("records of the first journal format (events without stored leaf digests) still open", "[journal]") {
  TempDir dir;
  // What the first release wrote for one submitted event: the full event, no "h".
  Json oldRecord = {
      {"events", {{{"guid", "ev-old"}, {"entityGuid", "p-old"}, {"type", "create-individual"},
                   {"data", {{"name", "Old Format"}}}, {"timestamp", "2024-01-01T00:00:00.001Z"},
                   {"userId", "u1"}, {"syncLevel", 0}}}},
      {"put", {{{"guid", "p-old"}, {"modified", {{"guid", "p-old"}, {"id", "p-old"}, {"type", "individual"},
                                                 {"version", 1}, {"data", {{"name", "Old Format"}}}}}}}}};
  writeFile(dir.file(kFirstSegment), framed(oldRecord.dump()));
  std::string root;
  {
    Opened db(dc::openDirectoryStorage(dir.path));
    REQUIRE(db.store->events().size() == 1);
    const dc::Event& ev = db.store->events()[0];
    CHECK(ev.data == Json{{"name", "Old Format"}});
    CHECK(db.store->merkle().rootHex() == dc::toHex(dc::sha256(ev.canonicalJson())));
    CHECK(db.store->findEntity("p-old"));
    applyUpsert(*db.store, makeEvent("ev-new", ts(9), "p9"));  // appended in the current format
    root = db.store->merkle().rootHex();
  }
  Opened again(dc::openDirectoryStorage(dir.path));
  CHECK(again.store->events().size() == 2);
  CHECK(again.store->merkle().rootHex() == root);
}

TEST_CASE("records carry the format version; a newer version is refused, not half read", "[journal]") {
  TempDir dir;
  {
    Opened db(dc::openDirectoryStorage(dir.path));
    applyUpsert(*db.store, makeEvent("ev-1", ts(1), "p1"));
  }
  const std::string bytes = readFile(dir.file(kFirstSegment));
  REQUIRE(bytes.size() > 8);
  Json record = Json::parse(bytes.substr(8));
  CHECK(record.at("v") == dc::kRecordFormatVersion);
  CHECK(dc::kRecordFormatVersion == 2);

  record["v"] = dc::kRecordFormatVersion + 1;
  writeFile(dir.file(kFirstSegment), framed(record.dump()));
  CHECK(openError(dir.path) == dc::ErrorCode::Storage);
  record["v"] = "2";
  writeFile(dir.file(kFirstSegment), framed(record.dump()));
  CHECK(openError(dir.path) == dc::ErrorCode::Storage);
}

TEST_CASE("a journal mixing version 1 records (no \"v\") and version 2 records opens", "[journal]") {
  TempDir dir;
  Json v1 = {{"events", {{{"guid", "ev-a"}, {"entityGuid", "p-a"}, {"type", "create-individual"},
                          {"data", {{"name", "A"}}}, {"timestamp", "2024-01-01T00:00:00.001Z"}, {"userId", "u1"},
                          {"syncLevel", 1}}}},
             {"put", {{{"guid", "p-a"}, {"modified", {{"guid", "p-a"}, {"type", "individual"}, {"data", {{"name", "A"}}}}}}}},
             {"audit", {{{"guid", "au-a"}, {"timestamp", "2024-01-01T00:00:00.001Z"}, {"userId", "u1"},
                         {"action", "create-individual"}, {"eventGuid", "ev-a"}, {"entityGuid", "p-a"},
                         {"changesOfPut", 0}}}}};
  Json v2 = {{"v", 2}, {"state", {{"cursor", "c1"}}}, {"synced", {{"guids", {"ev-a"}}, {"level", 2}}}};
  writeFile(dir.file(kFirstSegment), framed(v1.dump()) + framed(v2.dump()));
  Opened db(dc::openDirectoryStorage(dir.path));
  REQUIRE(db.store->events().size() == 1);
  CHECK(db.store->events()[0].syncLevel == 2);
  CHECK(db.store->state("cursor") == Json("c1"));
  REQUIRE(db.store->auditLog().size() == 1);
  // The creation entry's changes, recomputed from the put: data and the other non-bookkeeping fields.
  CHECK(db.store->auditLog()[0].changes == Json{{"guid", "p-a"}, {"type", "individual"}, {"data", {{"name", "A"}}}});
}
