// The HTTP bridge behind src/wasm/transport_js.cpp (docs/protocol.md, 'Transport'). Runs inside
// the Emscripten factory (--pre-js). The request itself is made by `Module.dcHttp`, given by the
// package's loader: js/http-node.js (node:http) under Node, js/http-fetch.js (fetch) elsewhere:
//   dcHttp(request, done) -> abort()
//   request: {method, url, headers: [[name, value]...], body: Uint8Array|null, timeoutMs, maxBytes}
//   done(result) exactly once, never synchronously, never after abort():
//     {status, chunks, length} | {status, redirected, location} | {status, tooLarge}
//     | {status: 0, timedOut} | {status: 0, error}
// The result goes back into wasm through three exports of transport_js.cpp: dc_http_body /
// dc_http_info (C++ allocates, 0 = out of memory) and dc_http_complete.

var dcHttpAborts = {};  // request id -> abort()

// Flag bits, the same as in transport_js.cpp.
var DC_HTTP_TIMED_OUT = 1, DC_HTTP_REDIRECTED = 2, DC_HTTP_TOO_LARGE = 4, DC_HTTP_OUT_OF_MEMORY = 8, DC_HTTP_FAILED = 16;

function dcHttpInfo(id, text) {
  var bytes = new TextEncoder().encode(String(text).slice(0, 2000));
  if (!bytes.length) return true;
  var ptr = Module['_dc_http_info'](id, bytes.length);
  if (!ptr) return false;
  HEAPU8.set(bytes, ptr);
  return true;
}

// Never throws: it runs in the HTTP implementation's event handlers, where a throw would be an
// uncaught exception of the host process.
function dcHttpDeliver(id, result) {
  try {
    dcHttpDeliverUnguarded(id, result);
  } catch (error) {
    err('datacollect: delivering an HTTP response failed: ' + (error && error.message || error));
    try {
      Module['_dc_http_complete'](id, 0, DC_HTTP_FAILED);
    } catch (ignored) {
      // the request stays unanswered; the engine's guard timer ends it with NETWORK
    }
  }
}

function dcHttpDeliverUnguarded(id, result) {
  var flags = 0;
  var status = result.status | 0;
  var info = '';
  if (result.timedOut) flags |= DC_HTTP_TIMED_OUT;
  else if (result.redirected) { flags |= DC_HTTP_REDIRECTED; info = result.location || ''; }
  else if (result.tooLarge) flags |= DC_HTTP_TOO_LARGE;
  else if (result.error !== undefined) { flags |= DC_HTTP_FAILED; info = result.error; status = 0; }
  else if (result.length > 0) {
    var ptr = Module['_dc_http_body'](id, result.length);
    if (!ptr) {
      flags |= DC_HTTP_OUT_OF_MEMORY;
      status = 0;
      info = 'out of memory: cannot hold a response of ' + result.length + ' bytes';
    } else {
      var heap = HEAPU8;  // read after the allocation: memory growth replaces the view
      var offset = ptr;
      for (var i = 0; i < result.chunks.length; i++) {
        heap.set(result.chunks[i], offset);
        offset += result.chunks[i].length;
      }
    }
  }
  if (info && !dcHttpInfo(id, info)) flags |= DC_HTTP_OUT_OF_MEMORY;
  Module['_dc_http_complete'](id, status, flags);
}

function dcHttpStart(id, method, url, headersJson, bodyPtr, bodyLength, timeoutMs, maxBytes) {
  var send = Module['dcHttp'];
  var finished = false;
  var fail = function(message) {
    queueMicrotask(function() { dcHttpDeliver(id, { status: 0, error: message }); });
  };
  if (typeof send !== 'function') return fail('no HTTP implementation was given to the module (Module.dcHttp)');
  try {
    var request = {
      method: method, url: url, headers: JSON.parse(headersJson),
      body: bodyLength ? HEAPU8.slice(bodyPtr, bodyPtr + bodyLength) : null,
      timeoutMs: timeoutMs, maxBytes: maxBytes,
    };
    // `finished`: a second completion (a broken dcHttp) is ignored.
    var abort = send(request, function(result) {
      if (finished) return;
      finished = true;
      delete dcHttpAborts[id];
      dcHttpDeliver(id, result);
    });
    if (!finished && typeof abort === 'function') dcHttpAborts[id] = abort;
  } catch (error) {
    delete dcHttpAborts[id];
    if (!finished) {
      finished = true;
      fail(String(error && error.message || error));
    }
  }
}

function dcHttpAbort(id) {
  var abort = dcHttpAborts[id];
  delete dcHttpAborts[id];
  if (abort) abort();
}

// The JS handles of the engine's timers (src/wasm/clock_js.cpp), by timer id, so they can be cleared.
var dcTimerHandles = {};
