#include "core/journal.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "core/error.hpp"

namespace dc {
namespace journal {
namespace {
void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint32_t getU32(std::string_view data, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<unsigned char>(data[pos + i])) << (8 * i);
  return v;
}
}  // namespace

// Reflected polynomial 0xEDB88320, slicing-by-8 (eight bytes per step, 8 KiB of tables): every
// record byte is summed on write and again on open. zlib is not available in the wasm build.
uint32_t crc32(std::string_view bytes) {
  static const auto table = [] {
    std::array<std::array<uint32_t, 256>, 8> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint32_t lo = c ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    uint32_t hi = uint32_t(p[4]) | uint32_t(p[5]) << 8 | uint32_t(p[6]) << 16 | uint32_t(p[7]) << 24;
    c = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
        table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^ table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
  }
  for (; n > 0; ++p, --n) c = table[0][(c ^ *p) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string frame(std::string_view payload) {
  std::string record;
  record.reserve(kHeaderBytes + payload.size());
  putU32(record, static_cast<uint32_t>(payload.size()));
  putU32(record, crc32(payload));
  record += payload;
  return record;
}

std::optional<std::string_view> recordAt(std::string_view data, size_t pos) {
  if (data.size() - pos < kHeaderBytes) return std::nullopt;
  uint32_t len = getU32(data, pos), crc = getU32(data, pos + 4);
  if (len < 2 || len > kMaxRecordBytes || len > data.size() - pos - kHeaderBytes) return std::nullopt;
  std::string_view payload = data.substr(pos + kHeaderBytes, len);
  if (crc32(payload) != crc) return std::nullopt;
  return payload;
}

// An interrupted append leaves nothing valid behind it; a valid record behind a bad one means the
// bad one was damaged after it was written. Payloads are JSON objects, which rejects almost every
// offset before the CRC.
bool validRecordAfter(std::string_view data, size_t badPos) {
  for (size_t q = badPos + 1; q + kHeaderBytes < data.size(); ++q) {
    uint32_t len = getU32(data, q);
    if (len < 2 || len > data.size() - q - kHeaderBytes) continue;
    if (data[q + kHeaderBytes] != '{' || data[q + kHeaderBytes + len - 1] != '}') continue;
    if (recordAt(data, q)) return true;
  }
  return false;
}

std::string segmentName(uint32_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "journal-%06u.log", n);
  return buf;
}

std::optional<uint32_t> segmentNumber(const std::string& name) {
  const std::string prefix = "journal-", suffix = ".log";
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(std::stoul(digits));
}
}  // namespace journal

namespace {
Error storageError(const std::string& message) { return Error(ErrorCode::Storage, message); }
}  // namespace

using namespace journal;

std::vector<uint32_t> Journal::segments(std::optional<uint32_t> first) {
  std::vector<uint32_t> out;
  for (const auto& name : storage_->list()) {
    if (auto n = segmentNumber(name); n && (!first || *n >= *first)) out.push_back(*n);
  }
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i] != out[i - 1] + 1) {
      throw storageError("the store is damaged: journal segment " + segmentName(out[i - 1] + 1) + " is missing");
    }
  }
  return out;
}

void Journal::replay(uint32_t from, const std::function<void(std::string_view)>& onRecord) {
  std::vector<uint32_t> numbers = segments(from);
  if (!numbers.empty() && numbers.front() != from && from > 1) {
    throw storageError("the store is damaged: journal segment " + segmentName(from) + " is missing");
  }
  firstSegment_ = numbers.empty() ? from : numbers.front();
  segment_ = from;
  segmentSize_ = 0;
  for (size_t i = 0; i < numbers.size(); ++i) {
    const std::string name = segmentName(numbers[i]);
    auto data = storage_->read(name);
    if (!data) throw storageError("cannot read journal segment " + name);
    std::string_view bytes = *data;
    size_t pos = 0;
    while (pos < bytes.size()) {
      auto payload = recordAt(bytes, pos);
      if (!payload) break;
      try {
        onRecord(*payload);
      } catch (const std::exception& e) {
        // The checksum matched, so this is not a torn write; dropping it would lose data silently.
        throw storageError("the store is damaged: record at byte " + std::to_string(pos) + " of " + name +
                           " cannot be read (" + e.what() + ")");
      }
      pos += kHeaderBytes + payload->size();
    }
    bool last = i + 1 == numbers.size();
    if (pos < bytes.size()) {
      if (!last || validRecordAfter(bytes, pos)) {
        throw storageError("the store is damaged: journal segment " + name + " is corrupt at byte " +
                           std::to_string(pos) + " and complete records follow it");
      }
      storage_->truncate(name, pos);  // torn tail of an interrupted append
      recoveredTail_ = bytes.size() - pos;
    }
    if (last) {
      segment_ = numbers[i];
      segmentSize_ = pos;
    }
  }
}

void Journal::append(std::string_view payload) {
  if (broken_) throw storageError("the store's journal could not be repaired after a failed write; reopen the store");
  if (payload.size() > kMaxRecordBytes) throw storageError("transaction too large to store");
  std::string record = frame(payload);
  if (segmentSize_ >= kSegmentBytes) {
    drainBatch();  // a segment is complete before the next one starts
    ++segment_;
    segmentSize_ = 0;
  }
  if (batchDepth_ > 0) {
    if (batchBytes_.empty()) batchStart_ = segmentSize_;
    batchBytes_ += record;
    segmentSize_ += record.size();
    return;
  }
  std::string name = segmentName(segment_);
  try {
    storage_->append(name, record);
  } catch (const std::exception& e) {
    undoPartialAppend(name);
    throw storageError(std::string("cannot write to the store: ") + e.what());
  }
  segmentSize_ += record.size();
}

void Journal::endBatch() {
  if (--batchDepth_ == 0) drainBatch();
}

// The held-back records are already applied in memory, so a failure cannot be undone there: the
// journal is cut back to before them and the store refuses further writes until reopened (which
// reloads what is on disk).
void Journal::drainBatch() {
  if (batchBytes_.empty()) return;
  std::string name = segmentName(segment_);
  std::string bytes = std::move(batchBytes_);
  batchBytes_.clear();
  try {
    storage_->append(name, bytes);
  } catch (const std::exception& e) {
    segmentSize_ = batchStart_;
    undoPartialAppend(name);
    broken_ = true;
    throw storageError(std::string("cannot write to the store: ") + e.what() + "; reopen the store");
  }
}

uint32_t Journal::startNewSegment() {
  drainBatch();
  if (segmentSize_ > 0) {
    ++segment_;
    segmentSize_ = 0;
  }
  return segment_;
}

void Journal::dropSegmentsBefore(uint32_t n) {
  for (uint32_t s = firstSegment_; s < n; ++s) storage_->remove(segmentName(s));
  if (n > firstSegment_) firstSegment_ = n;
}

void Journal::undoPartialAppend(const std::string& name) noexcept {
  try {
    storage_->truncate(name, segmentSize_);
    return;
  } catch (...) {
  }
  try {
    auto current = storage_->read(name);  // absent or untouched files need no repair
    if (!current || current->size() == segmentSize_) return;
  } catch (...) {
  }
  broken_ = true;
}

}  // namespace dc
