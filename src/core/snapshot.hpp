#pragma once
// Snapshots (docs/storage.md, 'Snapshots'): the whole store state written as records into new
// part files, plus a manifest naming them with their sizes and checksums, written last. Open
// loads the newest valid snapshot and replays only the journal segments from the one it names.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/storage.hpp"
#include "core/store_state.hpp"

namespace dc::snapshot {

std::string manifestName(uint32_t segment);                          // "snapshot-000012.manifest"
std::string partName(uint32_t segment, uint32_t part);               // "snapshot-000012-0001.part"
std::optional<uint32_t> manifestSegment(const std::string& name);    // inverse of manifestName
std::optional<uint32_t> partSegment(const std::string& name);        // segment of a part file

// Writes the snapshot of `st` that stands for every journal segment before `segment`: the parts,
// then the manifest. Returns the bytes written. Throws Error(STORAGE).
size_t write(Storage& storage, const StoreState& st, uint32_t segment);

// Applies the snapshot of `manifest` to the (empty) `st` and returns true, or returns false with
// `st` untouched when the manifest or a part is missing, torn or fails its checksum (a snapshot
// that was being written when the process stopped). `why` says what was wrong.
bool load(Storage& storage, const std::string& manifest, StoreState& st, std::string& why);

}  // namespace dc::snapshot
