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

}  // namespace dc
