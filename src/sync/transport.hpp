#pragma once
// The sync engine's view of HTTP: send a request, get the response later in a callback.
// Natively the tests back it with an in-process fake server; in wasm, the package's own HTTP glue
// (src/wasm/transport_js.cpp: node:http under Node, fetch() in browsers). docs/protocol.md,
// 'Transport' says what a transport must guarantee (no redirects followed, bounded bodies).
#include <cstddef>
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
  // The transport stops receiving (and aborts the request) once the body grows past this.
  size_t maxResponseBytes = 8u << 20;
};

struct HttpResponse {
  int status = 0;      // 0 when no HTTP response arrived (network error, timeout, abort)
  std::string body;    // empty when redirected or tooLarge
  std::string networkError;  // set when status == 0: "timeout", "connection reset", ...
  bool timedOut = false;
  // A 3xx answer (or, in browsers, a response the platform had already redirected). Never
  // followed: status is the 3xx (0 when the browser hides it), `location` its Location header
  // ("" when absent or hidden).
  bool redirected = false;
  std::string location;
  // The body went past request.maxResponseBytes (by Content-Length or while streaming); the
  // request was aborted, status is the HTTP status, body is empty.
  bool tooLarge = false;
  // Memory for the body could not be allocated (status 0, networkError says so).
  bool outOfMemory = false;
  // The request was aborted by Transport::abortAll() (status 0).
  bool aborted = false;
};

using ResponseCallback = std::function<void(HttpResponse)>;

class Transport {
 public:
  virtual ~Transport() = default;
  // Must call `done` exactly once, possibly synchronously.
  virtual void send(const HttpRequest& request, ResponseCallback done) = 0;
  // Aborts every request in flight: each `done` is called (with aborted = true, status 0) before
  // this returns or on a later turn, and no byte of them is received afterwards.
  virtual void abortAll() {}
};

}  // namespace dc
