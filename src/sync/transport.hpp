#pragma once
// The sync engine's view of HTTP: send a request, get the response later in a callback.
// Natively the tests back it with an in-process fake server; in wasm, emscripten_fetch.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dc {

struct HttpRequest {
  std::string method;  // "GET" | "POST"
  std::string url;     // absolute, query values already URL-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int timeoutMs = 30000;
};

struct HttpResponse {
  int status = 0;      // 0 when no HTTP response arrived (network error, timeout)
  std::string body;
  std::string networkError;  // set when status == 0: "timeout", "connection reset", ...
  bool timedOut = false;
};

using ResponseCallback = std::function<void(HttpResponse)>;

class Transport {
 public:
  virtual ~Transport() = default;
  // Must call `done` exactly once, possibly synchronously.
  virtual void send(const HttpRequest& request, ResponseCallback done) = 0;
};

}  // namespace dc
