#pragma once
// The journal (docs/storage.md, 'Journal'): an append-only sequence of checksummed records in
// numbered segment files. It knows bytes, not what records mean (that is core/record.hpp):
// framing, CRC-32, segment naming and rotation, replay with torn-tail recovery, and write
// batches that hold records back to append them in one write.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/storage.hpp"

namespace dc {

namespace journal {
inline constexpr size_t kSegmentBytes = 256 * 1024;   // rotate so a flush never rewrites a big file
inline constexpr uint32_t kMaxRecordBytes = 1u << 30;  // sanity bound when reading a length header
inline constexpr size_t kHeaderBytes = 8;              // [u32 length][u32 crc32], little-endian

// CRC-32 (IEEE 802.3): a checksum against torn and corrupt records, not a security measure.
uint32_t crc32(std::string_view bytes);
// [length][crc32][payload].
std::string frame(std::string_view payload);
// A complete, checksummed record at `pos` of `data`, or nullopt.
std::optional<std::string_view> recordAt(std::string_view data, size_t pos);
// Whether a valid record starts anywhere after a bad one at `badPos` (then the bad one is damage,
// not an interrupted append).
bool validRecordAfter(std::string_view data, size_t badPos);

std::string segmentName(uint32_t n);                           // "journal-000001.log"
std::optional<uint32_t> segmentNumber(const std::string& name);  // inverse; nullopt for other files
}  // namespace journal

class Journal {
 public:
  void attach(std::shared_ptr<Storage> storage) { storage_ = std::move(storage); }
  Storage& storage() { return *storage_; }
  const std::shared_ptr<Storage>& storagePtr() const { return storage_; }

  // The numbered segments present, ascending. Throws Error(STORAGE) when one is missing in
  // between (from `first` on when given: older ones may have been dropped after a snapshot).
  std::vector<uint32_t> segments(std::optional<uint32_t> first = std::nullopt);

  // Reads segments `from`.. in order and hands each complete record's payload to onRecord. A
  // torn tail of the last segment is cut off; a bad record anywhere else, or one followed by a
  // valid record, throws Error(STORAGE). An exception from onRecord becomes Error(STORAGE)
  // naming the record. Afterwards appends continue at the end of the last segment.
  void replay(uint32_t from, const std::function<void(std::string_view payload)>& onRecord);

  // Frames and appends one record (or holds it back while a batch is open). On failure the
  // segment is cut back to its previous length and Error(STORAGE) is thrown.
  void append(std::string_view payload);

  // Write batches (Store::WriteBatch): nested; the outermost end appends what was held back.
  void beginBatch() { ++batchDepth_; }
  void endBatch();  // throws Error(STORAGE) when the held-back write fails
  bool batching() const { return batchDepth_ > 0; }
  // Appends what a batch holds back now (flush() outside a batch).
  void drainBatch();

  // Finishes the current segment (after draining a batch) so the next record starts a new one.
  // Returns the number of the segment the next record goes to.
  uint32_t startNewSegment();
  uint32_t currentSegment() const { return segment_; }
  // Drops segments numbered below `n` (after a snapshot made them redundant).
  void dropSegmentsBefore(uint32_t n);

  size_t recoveredTailBytes() const { return recoveredTail_; }
  bool broken() const { return broken_; }

 private:
  void undoPartialAppend(const std::string& name) noexcept;

  std::shared_ptr<Storage> storage_;
  uint32_t segment_ = 1;
  uint32_t firstSegment_ = 1;
  size_t segmentSize_ = 0;
  bool broken_ = false;  // a failed append could not be undone: refuse further writes
  int batchDepth_ = 0;
  std::string batchBytes_;
  size_t batchStart_ = 0;  // segment size before the held-back records
  size_t recoveredTail_ = 0;
};

}  // namespace dc
