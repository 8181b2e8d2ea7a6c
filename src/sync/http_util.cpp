#include "sync/http_util.hpp"

#include <cctype>

#include "core/json.hpp"

namespace dc::http {

std::string urlEncode(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string urlDecode(std::string_view value) {
  auto hexValue = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 2 < value.size() && hexValue(value[i + 1]) >= 0 && hexValue(value[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(value[i + 1]) * 16 + hexValue(value[i + 2]));
      i += 2;
    } else if (value[i] == '+') {
      out += ' ';
    } else {
      out += value[i];
    }
  }
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = sextet(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::optional<int64_t> jwtExpiryMs(const std::string& token) {
  size_t first = token.find('.');
  if (first == std::string::npos) return std::nullopt;
  size_t second = token.find('.', first + 1);
  if (second == std::string::npos) return std::nullopt;
  auto payload = base64UrlDecode(std::string_view(token).substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  Json claims = Json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object() || !claims.contains("exp") || !claims["exp"].is_number()) return std::nullopt;
  return static_cast<int64_t>(claims["exp"].get<double>() * 1000.0);
}

namespace {

std::string collapseWhitespace(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}

std::string stripTags(std::string_view html) {
  std::string out;
  bool inTag = false;
  for (char c : html) {
    if (c == '<') inTag = true;
    else if (c == '>') { inTag = false; out += ' '; }
    else if (!inTag) out += c;
  }
  return out;
}

std::string lowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string textOfBody(const std::string& body) {
  std::string lower = lowerCopy(body);
  size_t title = lower.find("<title>");
  size_t titleEnd = lower.find("</title>");
  if (title != std::string::npos && titleEnd != std::string::npos && titleEnd > title) {
    return collapseWhitespace(std::string_view(body).substr(title + 7, titleEnd - title - 7));
  }
  return collapseWhitespace(stripTags(body));
}

}  // namespace

std::string serverMessage(const std::string& body) {
  constexpr size_t kMax = 200;
  std::string message;
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object()) {
    for (const char* key : {"message", "error"}) {
      if (!json.contains(key)) continue;
      const Json& v = json[key];
      if (v.is_string()) message = v.get<std::string>();
      else if (v.is_object() && v.contains("message") && v["message"].is_string()) message = v["message"].get<std::string>();
      if (!message.empty()) break;
    }
  }
  if (message.empty()) message = textOfBody(body);
  if (message.empty()) message = "(empty response body)";
  if (message.size() > kMax) message = message.substr(0, kMax) + "...";
  return message;
}

std::string redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "[redacted]");
    at += 10;
  }
  return text;
}

}  // namespace dc::http
