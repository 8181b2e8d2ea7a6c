#include "core/duplicates.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <limits>
#include <utility>

namespace dc {
namespace {

std::string trimLower(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\n\r\f\v");
  std::string out = s.substr(b, e - b + 1);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// JSON has one number type: 42, 42.0 and 4.2e1 must encode alike whatever nlohmann stored.
std::string numberKey(const Json& v) {
  if (v.is_number_integer()) return v.is_number_unsigned() ? std::to_string(v.get<uint64_t>()) : std::to_string(v.get<int64_t>());
  double d = v.get<double>();
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return std::to_string(static_cast<int64_t>(d));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

// Iterative flatten (no recursion: entity data depth is bounded, but a loop costs nothing).
void flatten(const Json& data, Signature& out) {
  std::vector<std::pair<const Json*, std::string>> stack{{&data, std::string()}};
  while (!stack.empty()) {
    auto [node, prefix] = std::move(stack.back());
    stack.pop_back();
    for (auto it = node->begin(); it != node->end(); ++it) {
      std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
      const Json& v = it.value();
      switch (v.type()) {
        case Json::value_t::object: stack.emplace_back(&v, std::move(path)); break;
        case Json::value_t::string: {
          std::string s = trimLower(v.get_ref<const std::string&>());
          if (!s.empty()) out.emplace_back(std::move(path), "s:" + s);
          break;
        }
        case Json::value_t::boolean: out.emplace_back(std::move(path), v.get<bool>() ? "b:1" : "b:0"); break;
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned:
        case Json::value_t::number_float: out.emplace_back(std::move(path), "n:" + numberKey(v)); break;
        default: break;  // arrays, null, binary: not part of a signature
      }
    }
  }
}

bool isSubset(const std::vector<uint32_t>& small, const std::vector<uint32_t>& big) {
  return small.size() <= big.size() && std::includes(big.begin(), big.end(), small.begin(), small.end());
}

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// A list of entry slots with room for one inline: most (path, value) pairs (a name, a phone
// number, an email) belong to one entity only, so their posting and anchor lists need no heap
// block of their own (docs/storage.md, 'Memory').
class SlotList {
 public:
  SlotList() = default;
  SlotList(const SlotList& o) { *this = o; }
  SlotList(SlotList&& o) noexcept { swap(o); }
  SlotList& operator=(const SlotList& o) {
    if (this == &o) return *this;
    clear();
    for (uint32_t v : o) push_back(v);
    return *this;
  }
  SlotList& operator=(SlotList&& o) noexcept {
    swap(o);
    return *this;
  }
  ~SlotList() { release(); }

  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const uint32_t* begin() const { return cap_ <= 1 ? &one_ : many_; }
  const uint32_t* end() const { return begin() + size_; }
  uint32_t& operator[](uint32_t i) { return (cap_ <= 1 ? &one_ : many_)[i]; }
  uint32_t back() const { return begin()[size_ - 1]; }
  void pop_back() { --size_; }
  void push_back(uint32_t v) {
    if (size_ == cap_) grow();
    (cap_ <= 1 ? &one_ : many_)[size_++] = v;
  }
  void clear() {
    release();
    size_ = 0;
    cap_ = 1;
  }

 private:
  void grow() {
    uint32_t cap = cap_ * 2;
    auto* block = new uint32_t[cap];
    const uint32_t* from = begin();
    for (uint32_t i = 0; i < size_; ++i) block[i] = from[i];
    release();
    many_ = block;
    cap_ = cap;
  }
  void release() {
    if (cap_ > 1) delete[] many_;
    cap_ = 1;
  }
  void swap(SlotList& o) noexcept {
    std::swap(size_, o.size_);
    std::swap(cap_, o.cap_);
    std::swap(raw_, o.raw_);
  }
  uint32_t size_ = 0;
  uint32_t cap_ = 1;  // 1: the one slot inline; more: a heap block
  union {
    uint32_t one_;
    uint32_t* many_;
    uintptr_t raw_ = 0;
  };
};

}  // namespace

Signature signatureOf(const Json& entityData) {
  Signature sig;
  if (entityData.is_object()) flatten(entityData, sig);
  std::sort(sig.begin(), sig.end());
  // "a.b" as a key and a nested {a: {b}} flatten to one path; keep one pair per path+value.
  sig.erase(std::unique(sig.begin(), sig.end()), sig.end());
  return sig;
}

bool isPotentialDuplicate(const Signature& a, const Signature& b) {
  if (a.empty() || b.empty()) return false;
  const Signature& small = a.size() <= b.size() ? a : b;
  const Signature& big = a.size() <= b.size() ? b : a;
  return std::includes(big.begin(), big.end(), small.begin(), small.end());
}

// Pairs are interned to integers. Each entity is listed under every one of its pairs (posting
// lists: candidates for "superset of the query" come from the query's rarest pair) and anchored
// under exactly one of its pairs (candidates for "subset of the query" are the entities anchored
// at any pair of the query: a subset necessarily has its anchor among the query's pairs).
// Removal is O(1) per pair: swap-and-pop, with each entity remembering its positions.
struct DuplicateIndex::Impl {
  struct Entry {
    std::string guid;
    std::vector<uint32_t> pairs;      // sorted pair ids
    std::vector<uint32_t> positions;  // positions[k] = index of this entry in postings[pairs[k]]
    uint32_t anchor = kNone;
    uint32_t anchorPos = 0;
  };
  std::unordered_map<std::string, uint32_t> pairIds;  // "path\0value" -> id
  std::vector<SlotList> postings;                     // pair id -> entry slots
  std::vector<SlotList> anchored;                     // pair id -> entry slots anchored there
  std::vector<Entry> entries;
  std::vector<uint32_t> freeSlots;
  std::unordered_map<std::string, uint32_t> slotOf;  // guid -> entry slot

  static std::string pairKey(const std::pair<std::string, std::string>& p) {
    std::string k;
    k.reserve(p.first.size() + p.second.size() + 1);
    k.append(p.first).push_back('\0');
    k.append(p.second);
    return k;
  }

  uint32_t intern(const std::pair<std::string, std::string>& p) {
    auto [it, inserted] = pairIds.try_emplace(pairKey(p), static_cast<uint32_t>(postings.size()));
    if (inserted) {
      postings.emplace_back();
      anchored.emplace_back();
    }
    return it->second;
  }

  // Ids of the query's pairs, sorted; `complete` is false when some pair is unknown to the index
  // (then no indexed entity can be a superset).
  std::vector<uint32_t> lookup(const Signature& sig, bool& complete) const {
    std::vector<uint32_t> ids;
    complete = true;
    for (const auto& p : sig) {
      auto it = pairIds.find(pairKey(p));
      if (it == pairIds.end()) complete = false;
      else ids.push_back(it->second);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // Swap-and-pop `slot` out of list, fixing the moved entry's remembered position via `fix`.
  template <class Fix>
  static void eraseAt(SlotList& list, uint32_t pos, Fix fix) {
    uint32_t moved = list.back();
    list[pos] = moved;
    list.pop_back();
    if (pos < list.size()) fix(moved, pos);
  }

  void unlink(uint32_t slot) {
    Entry& e = entries[slot];
    for (size_t k = 0; k < e.pairs.size(); ++k) {
      uint32_t pid = e.pairs[k];
      eraseAt(postings[pid], e.positions[k], [&](uint32_t moved, uint32_t pos) {
        Entry& m = entries[moved];
        auto at = std::lower_bound(m.pairs.begin(), m.pairs.end(), pid) - m.pairs.begin();
        m.positions[at] = pos;
      });
    }
    if (e.anchor != kNone)
      eraseAt(anchored[e.anchor], e.anchorPos, [&](uint32_t moved, uint32_t pos) { entries[moved].anchorPos = pos; });
    e.pairs.clear();
    e.positions.clear();
    e.anchor = kNone;
  }

  void link(uint32_t slot, std::vector<uint32_t> ids) {
    Entry& e = entries[slot];
    e.pairs = std::move(ids);
    e.positions.resize(e.pairs.size());
    uint32_t rarest = kNone;
    for (size_t k = 0; k < e.pairs.size(); ++k) {
      auto& list = postings[e.pairs[k]];
      if (rarest == kNone || list.size() < postings[rarest].size()) rarest = e.pairs[k];
      e.positions[k] = static_cast<uint32_t>(list.size());
      list.push_back(slot);
    }
    if (rarest != kNone) {
      e.anchor = rarest;
      e.anchorPos = static_cast<uint32_t>(anchored[rarest].size());
      anchored[rarest].push_back(slot);
    }
  }
};

DuplicateIndex::DuplicateIndex() : impl_(std::make_shared<Impl>()) {}

// Copies share the index until one of them writes (copy-on-write), so a snapshot is O(1).
DuplicateIndex::Impl& DuplicateIndex::mut() {
  if (impl_.use_count() > 1) impl_ = std::make_shared<Impl>(*impl_);
  return *impl_;
}

void DuplicateIndex::upsert(const std::string& guid, const Json& entityData) {
  Impl& im = mut();
  Signature sig = signatureOf(entityData);
  std::vector<uint32_t> ids;
  ids.reserve(sig.size());
  for (const auto& p : sig) ids.push_back(im.intern(p));
  std::sort(ids.begin(), ids.end());

  auto found = im.slotOf.find(guid);
  uint32_t slot;
  if (found != im.slotOf.end()) {
    slot = found->second;
    if (im.entries[slot].pairs == ids) return;  // unchanged signature: nothing to move
    im.unlink(slot);
  } else {
    if (!im.freeSlots.empty()) {
      slot = im.freeSlots.back();
      im.freeSlots.pop_back();
    } else {
      slot = static_cast<uint32_t>(im.entries.size());
      im.entries.emplace_back();
    }
    im.entries[slot].guid = guid;
    im.slotOf.emplace(guid, slot);
  }
  im.link(slot, std::move(ids));
}

void DuplicateIndex::remove(const std::string& guid) {
  Impl& im = mut();
  auto found = im.slotOf.find(guid);
  if (found == im.slotOf.end()) return;
  uint32_t slot = found->second;
  im.unlink(slot);
  im.entries[slot].guid.clear();
  im.freeSlots.push_back(slot);
  im.slotOf.erase(found);
}

void DuplicateIndex::clear() { impl_ = std::make_shared<Impl>(); }

size_t DuplicateIndex::size() const { return impl_->slotOf.size(); }

std::vector<std::string> DuplicateIndex::findMatches(const std::string& guid, const Signature& sig) const {
  std::vector<std::string> out;
  if (sig.empty()) return out;
  const Impl& im = *impl_;
  bool complete;
  std::vector<uint32_t> q = im.lookup(sig, complete);
  std::vector<uint32_t> hits;

  // Supersets of the query: every one is in the posting list of each query pair; walk the
  // shortest list and check the rest.
  if (complete) {
    const SlotList* shortest = nullptr;
    for (uint32_t pid : q)
      if (!shortest || im.postings[pid].size() < shortest->size()) shortest = &im.postings[pid];
    for (uint32_t slot : *shortest)
      if (isSubset(q, im.entries[slot].pairs)) hits.push_back(slot);
  }
  // Subsets of the query: anchored at one of the query's pairs.
  for (uint32_t pid : q)
    for (uint32_t slot : im.anchored[pid])
      if (isSubset(im.entries[slot].pairs, q)) hits.push_back(slot);

  std::sort(hits.begin(), hits.end());
  hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  for (uint32_t slot : hits)
    if (im.entries[slot].guid != guid) out.push_back(im.entries[slot].guid);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace dc
