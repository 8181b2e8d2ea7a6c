// dc::Transport over emscripten_fetch. One heap-allocated Pending per request owns the body,
// the header strings and the completion callback until the fetch finishes, because the fetch
// completes on a later turn of the event loop.
#include <emscripten/emscripten.h>
#include <emscripten/fetch.h>

#include <cstring>
#include <string>
#include <vector>

#include "wasm/platform.hpp"

namespace dc::wasm {
namespace {

struct Pending {
  std::string body;
  std::vector<std::string> headerStore;     // owns the header strings
  std::vector<const char*> headerPointers;  // {k, v, k, v, ..., nullptr} as emscripten_fetch wants
  ResponseCallback done;
  double startedMs = 0;
  int timeoutMs = 0;
};

void finish(emscripten_fetch_t* fetch, bool httpAnswered) {
  auto* pending = static_cast<Pending*>(fetch->userData);
  HttpResponse response;
  // Fetch.js reports every non-2xx answer through onerror too, with the body saved (an HTML error
  // page is still a response). readyState 4 (DONE) with a status is an HTTP answer; anything
  // else (status 0, or headers then a dropped connection/timeout) is a network failure.
  if (httpAnswered || (fetch->readyState == 4 && fetch->status != 0)) {
    response.status = fetch->status;
    if (fetch->data && fetch->numBytes) response.body.assign(fetch->data, static_cast<size_t>(fetch->numBytes));
  } else {
    response.status = 0;
    // XHR gives onerror and ontimeout the same C callback; the elapsed time tells them apart.
    double elapsed = emscripten_get_now() - pending->startedMs;
    response.timedOut = pending->timeoutMs > 0 && elapsed + 5 >= pending->timeoutMs;
    response.networkError = response.timedOut ? "timeout after " + std::to_string(pending->timeoutMs) + " ms"
                                              : "connection failed or was reset";
  }
  emscripten_fetch_close(fetch);
  ResponseCallback done = std::move(pending->done);
  delete pending;
  runContinuation("an HTTP response handler", [&] { done(std::move(response)); });
}

void onSuccess(emscripten_fetch_t* fetch) { finish(fetch, true); }
void onError(emscripten_fetch_t* fetch) { finish(fetch, false); }

class FetchTransport final : public Transport {
 public:
  void send(const HttpRequest& request, ResponseCallback done) override {
    auto* pending = new Pending;
    pending->body = request.body;
    pending->done = std::move(done);
    pending->timeoutMs = request.timeoutMs;
    pending->headerStore.reserve(request.headers.size() * 2);
    for (const auto& [name, value] : request.headers) {
      pending->headerStore.push_back(name);
      pending->headerStore.push_back(value);
    }
    for (const auto& s : pending->headerStore) pending->headerPointers.push_back(s.c_str());
    pending->headerPointers.push_back(nullptr);

    emscripten_fetch_attr_t attr;
    emscripten_fetch_attr_init(&attr);
    std::strncpy(attr.requestMethod, request.method.c_str(), sizeof(attr.requestMethod) - 1);
    attr.attributes = EMSCRIPTEN_FETCH_LOAD_TO_MEMORY;  // async (no SYNCHRONOUS flag): timeouts work
    attr.timeoutMSecs = request.timeoutMs > 0 ? static_cast<unsigned long>(request.timeoutMs) : 0;
    attr.requestHeaders = pending->headerPointers.data();
    if (!pending->body.empty()) {
      attr.requestData = pending->body.data();
      attr.requestDataSize = pending->body.size();
    }
    attr.userData = pending;
    attr.onsuccess = onSuccess;
    attr.onerror = onError;
    pending->startedMs = emscripten_get_now();
    // On a synchronous failure (e.g. malformed URL) Fetch.js calls onerror before returning, and
    // finish() has already freed `pending`; a null return then needs no extra cleanup.
    emscripten_fetch(&attr, request.url.c_str());
  }
};

}  // namespace

std::unique_ptr<Transport> makeFetchTransport() { return std::make_unique<FetchTransport>(); }

}  // namespace dc::wasm
