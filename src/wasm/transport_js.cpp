// dc::Transport over the package's own HTTP glue (src/wasm/http_glue.js; node:http under Node,
// fetch() in browsers; docs/protocol.md, 'Transport'). Each request is a Pending in one table,
// keyed by id: the JS side only ever names the id, so a completion that arrives after the request
// was aborted (or its transport destroyed) finds nothing and is dropped. Completions always come
// on a later turn of the event loop, never from inside send().
#include <emscripten/emscripten.h>

#include <malloc.h>

#include <map>
#include <set>
#include <string>

#include "core/json.hpp"
#include "wasm/platform.hpp"

namespace dc::wasm {
namespace {

// The same bits as in http_glue.js.
constexpr int kTimedOut = 1, kRedirected = 2, kTooLarge = 4, kOutOfMemory = 8, kFailed = 16;

class JsTransport;

struct Pending {
  JsTransport* owner = nullptr;
  ResponseCallback done;
  HttpResponse response;
  std::string info;  // networkError or Location, filled by dc_http_info
};

std::map<uint32_t, Pending>& pendingTable() {
  static std::map<uint32_t, Pending> table;
  return table;
}
uint32_t nextRequestId = 1;

}  // namespace
}  // namespace dc::wasm

EM_JS(void, dc_http_start, (uint32_t id, const char* method, const char* url, const char* headersJson,
                            const char* body, size_t bodyLength, int timeoutMs, double maxBytes), {
  dcHttpStart(id, UTF8ToString(method), UTF8ToString(url), UTF8ToString(headersJson), body, bodyLength, timeoutMs,
              maxBytes);
});
EM_JS(void, dc_http_abort, (uint32_t id), { dcHttpAbort(id); });

namespace dc::wasm {
namespace {

class JsTransport final : public Transport {
 public:
  ~JsTransport() override { abortAll(); }

  void send(const HttpRequest& request, ResponseCallback done) override {
    uint32_t id = nextRequestId++;
    Pending& pending = pendingTable()[id];
    pending.owner = this;
    pending.done = std::move(done);
    mine_.insert(id);
    Json headers = Json::array();
    for (const auto& [name, value] : request.headers) headers.push_back(Json::array({name, value}));
    dc_http_start(id, request.method.c_str(), request.url.c_str(), headers.dump().c_str(), request.body.data(),
                  request.body.size(), request.timeoutMs, static_cast<double>(request.maxResponseBytes));
  }

  void abortAll() override {
    std::set<uint32_t> ids = std::move(mine_);
    mine_.clear();
    for (uint32_t id : ids) {
      auto it = pendingTable().find(id);
      if (it == pendingTable().end()) continue;
      dc_http_abort(id);
      ResponseCallback done = std::move(it->second.done);
      pendingTable().erase(it);
      HttpResponse response;
      response.aborted = true;
      response.networkError = "the request was aborted (the store is closing)";
      runContinuation("an aborted HTTP request", [&] { done(std::move(response)); });
    }
  }

  void forget(uint32_t id) { mine_.erase(id); }

 private:
  std::set<uint32_t> mine_;
};

}  // namespace

std::unique_ptr<Transport> makeJsTransport() { return std::make_unique<JsTransport>(); }

}  // namespace dc::wasm

extern "C" {
// Bytes the allocator has handed out and not got back: the figure the hostile-server suite and
// bench/huge_tenant.mjs compare (the linear memory itself only ever grows).
EMSCRIPTEN_KEEPALIVE size_t dc_heap_in_use() { return mallinfo().uordblks; }

// Room for the response body of request `id`: its buffer, or 0 when it cannot be allocated.
EMSCRIPTEN_KEEPALIVE char* dc_http_body(uint32_t id, size_t length) {
  auto it = dc::wasm::pendingTable().find(id);
  if (it == dc::wasm::pendingTable().end()) return nullptr;
  try {
    it->second.response.body.resize(length);
  } catch (const std::exception&) {  // bad_alloc, or length_error past max_size()
    std::string().swap(it->second.response.body);
    return nullptr;
  }
  return it->second.response.body.data();
}

// Room for the info text (network error or Location) of request `id`; 0 when out of memory.
EMSCRIPTEN_KEEPALIVE char* dc_http_info(uint32_t id, size_t length) {
  auto it = dc::wasm::pendingTable().find(id);
  if (it == dc::wasm::pendingTable().end()) return nullptr;
  try {
    it->second.info.resize(length);
  } catch (const std::exception&) {
    return nullptr;
  }
  return it->second.info.data();
}

EMSCRIPTEN_KEEPALIVE void dc_http_complete(uint32_t id, int status, int flags) {
  using namespace dc::wasm;
  auto it = pendingTable().find(id);
  if (it == pendingTable().end()) return;  // aborted meanwhile
  Pending pending = std::move(it->second);
  pendingTable().erase(it);
  pending.owner->forget(id);
  dc::HttpResponse& response = pending.response;
  response.status = status;
  if (flags & kTimedOut) {
    response.status = 0;
    response.timedOut = true;
    response.networkError = "timeout";
  }
  if (flags & kRedirected) {
    response.redirected = true;
    response.location = std::move(pending.info);
    response.body.clear();
  }
  if (flags & kTooLarge) {
    response.tooLarge = true;
    response.body.clear();
  }
  if (flags & kFailed) {
    response.status = 0;
    response.networkError = pending.info.empty() ? "connection failed" : std::move(pending.info);
  }
  if (flags & kOutOfMemory) {
    response.status = 0;
    response.outOfMemory = true;
    std::string().swap(response.body);
    response.networkError = "out of memory while receiving the response";
  }
  dc::ResponseCallback done = std::move(pending.done);
  runContinuation("an HTTP response handler", [&] { done(std::move(response)); });
}
}
