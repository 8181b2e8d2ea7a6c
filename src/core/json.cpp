#include "core/json.hpp"

#include <string>
#include <utility>
#include <vector>

namespace dc {
namespace {

// Depth of the deepest [ / { in the text, ignoring brackets inside strings. A linear pre-scan is
// cheaper than parsing and stops the recursive parts of nlohmann (dump, destruction of some
// versions, our own walkers) from ever seeing a hostile depth.
bool depthWithin(std::string_view text, int maxDepth, size_t& where) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\') ++i;  // skip the escaped character (an escaped quote does not end the string)
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > maxDepth) {
        where = i;
        return false;
      }
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced text is left for the parser to report
    }
  }
  return true;
}

}  // namespace

Json parseJson(std::string_view text, const char* what, int maxDepth, ErrorCode code) {
  size_t where = 0;
  if (!depthWithin(text, maxDepth, where))
    throw Error(code, std::string(what) + " is not valid JSON: nesting deeper than " + std::to_string(maxDepth) +
                          " levels at byte " + std::to_string(where));
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // nlohmann's message names the byte position and the offending token.
    throw Error(code, std::string(what) + " is not valid JSON: " + e.what());
  }
}

void appendJson(std::string& out, const Json& value, bool replaceInvalid) {
  using namespace nlohmann::detail;
  serializer<Json> writer(output_adapter<char>(out), ' ',
                          replaceInvalid ? Json::error_handler_t::replace : Json::error_handler_t::strict);
  writer.dump(value, false, false, 0);
}

namespace {
// Length of the valid UTF-8 sequence starting at s[i], or 0 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
size_t utf8Length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  unsigned c = at(i);
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) { return at(k) >= lo && at(k) <= hi; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c == 0xE0) return cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(i + 1) && cont(i + 2) ? 3 : 0;
  if (c == 0xED) return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;
  if (c == 0xF0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (c == 0xF4) return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}
}  // namespace

bool appendJsonString(std::string& out, std::string_view s) {
  const size_t start = out.size();
  out.push_back('"');
  size_t plain = 0;  // start of the run of bytes copied as they are
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8Length(s, i);
      if (n == 0) {
        out.resize(start);
        return false;
      }
      i += n;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(s.data() + plain, i - plain);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static const char* hex = "0123456789abcdef";  // lower case, as nlohmann writes it
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
      }
    }
    plain = ++i;
  }
  out.append(s.data() + plain, s.size() - plain);
  out.push_back('"');
  return true;
}

int jsonDepth(const Json& value, int limit) {
  int deepest = 0;
  std::vector<std::pair<const Json*, int>> stack{{&value, 0}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    int d = depth + 1;
    if (d > deepest) {
      deepest = d;
      if (deepest > limit) return deepest;
    }
    for (const auto& child : *node) stack.emplace_back(&child, d);
  }
  return deepest;
}


const Json& FrozenJson::view(Json& scratch) const {
  if (tree_) return *tree_;
  // The text was written by compact() from a valid document: parsing it cannot fail.
  scratch = Json::parse(text_);
  return scratch;
}

Json FrozenJson::value() const {
  Json scratch;
  const Json& v = view(scratch);
  return tree_ ? v : std::move(scratch);
}

void FrozenJson::append(std::string& out, bool replaceInvalid) const {
  if (tree_) appendJson(out, *tree_, replaceInvalid);
  else out += text_;  // valid UTF-8 (compact() checked), so the same in both modes
}

void FrozenJson::compact() {
  if (!tree_) return;
  std::string text;
  try {
    appendJson(text, *tree_, false);
  } catch (const Json::exception&) {
    return;  // invalid UTF-8 somewhere: keep the tree, so reads stay exactly as before
  }
  text.shrink_to_fit();
  text_ = std::move(text);
  tree_.reset();
}

bool operator==(const FrozenJson& a, const FrozenJson& b) {
  if (a.tree_ && b.tree_) return a.tree_ == b.tree_ || *a.tree_ == *b.tree_;
  if (!a.tree_ && !b.tree_) return a.text_ == b.text_;  // both compact dumps of sorted trees
  const FrozenJson& tree = a.tree_ ? a : b;
  const FrozenJson& text = a.tree_ ? b : a;
  return *tree.tree_ == Json::parse(text.text_);
}

bool operator==(const FrozenJson& a, const Json& b) {
  if (a.tree_) return *a.tree_ == b;
  return Json::parse(a.text_) == b;
}

}  // namespace dc
