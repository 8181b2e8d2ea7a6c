// The engine's HTTP under Node (node:http / node:https), handed to the wasm module by
// js/loader-node.js as `dcHttp` (the contract: src/wasm/http_glue.js; why: docs/protocol.md,
// 'Transport'). Redirects are never followed, so the token only ever goes to the URL the engine
// built from syncServerUrl; the body is counted while it arrives and the request is destroyed
// past maxBytes, on timeout and on abort, so no byte arrives after any of them.
import http from 'node:http';
import https from 'node:https';

const isRedirect = (status) => status >= 300 && status < 400 && status !== 304;

function describe(error) {
  const code = error?.code ? ` (${error.code})` : '';
  const known = { ECONNREFUSED: 'connection refused', ECONNRESET: 'connection reset', ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host lookup failed', EHOSTUNREACH: 'host unreachable', ETIMEDOUT: 'connection timed out' };
  return `${known[error?.code] ?? String(error?.message ?? error)}${code}`;
}

// request: {method, url, headers: [[name, value]...], body: Uint8Array|null, timeoutMs, maxBytes}
// done(result), exactly once, never synchronously, never after abort():
//   {status, chunks: Uint8Array[], length} | {status, redirected, location} | {status, tooLarge}
//   | {status: 0, timedOut} | {status: 0, error}
// Returns abort().
export function nodeHttpSend(request, done) {
  let finished = false;
  let timer = null;
  let req = null;
  const finish = (result, destroy) => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    timer = null;
    if (destroy && req) req.destroy();
    done(result);
  };
  const fail = (error) => finish({ status: 0, error: describe(error) }, true);
  let url;
  try {
    url = new URL(request.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported URL scheme ${url.protocol}`);
  } catch (error) {
    queueMicrotask(() => finish({ status: 0, error: `invalid URL: ${error?.message ?? error}` }, false));
    return () => { finished = true; };
  }
  try {
    const headers = {};
    for (const [name, value] of request.headers) headers[name] = value;
    const body = request.body && request.body.length ? request.body : null;
    if (body || request.method !== 'GET') headers['Content-Length'] = String(body ? body.length : 0);
    req = (url.protocol === 'https:' ? https : http).request(url, { method: request.method, headers });
    req.on('error', fail);
    req.on('response', (res) => {
      res.on('error', fail);  // first: destroying the request below may emit one
      const status = res.statusCode ?? 0;
      if (isRedirect(status)) {
        const location = res.headers.location;
        return finish({ status, redirected: true, location: typeof location === 'string' ? location : '' }, true);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > request.maxBytes) return finish({ status, tooLarge: true }, true);
      const chunks = [];
      let length = 0;
      res.on('data', (chunk) => {
        if (finished) return;
        length += chunk.length;
        if (length > request.maxBytes) return finish({ status, tooLarge: true }, true);
        chunks.push(chunk);
      });
      res.on('end', () => finish({ status, chunks, length }, false));
      res.on('close', () => {
        if (!res.complete) fail(new Error('the connection closed before the response was complete'));
      });
    });
    timer = setTimeout(() => finish({ status: 0, timedOut: true }, true), request.timeoutMs);
    req.end(body ?? undefined);
  } catch (error) {
    // e.g. a header value Node refuses: an error for this request, never a throw into wasm.
    const message = describe(error);
    if (req) req.destroy();
    if (timer) clearTimeout(timer);
    timer = null;
    queueMicrotask(() => finish({ status: 0, error: message }, false));
  }
  return () => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    timer = null;
    req?.destroy();
  };
}
