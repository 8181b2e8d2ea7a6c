// The engine's HTTP in browsers and workers: fetch() with redirect: 'manual', handed to the wasm
// module by js/loader.js as `dcHttp` (the contract: src/wasm/http_glue.js and js/http-node.js;
// why: docs/protocol.md, 'Transport'). A redirect is never followed: fetch answers it with an
// 'opaqueredirect' response (status 0, no Location visible), and a response whose URL is not the
// one asked for is treated the same way. The body is read as a stream and counted; past maxBytes,
// on timeout and on abort, the AbortController cancels it.

const isRedirect = (status) => status >= 300 && status < 400 && status !== 304;

export function fetchHttpSend(request, done) {
  let finished = false;
  let timer = null;
  const controller = new AbortController();
  const finish = (result, cancel) => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    timer = null;
    if (cancel) controller.abort();
    done(result);
  };
  let href;
  try {
    const url = new URL(request.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported URL scheme ${url.protocol}`);
    href = url.href;
  } catch (error) {
    queueMicrotask(() => finish({ status: 0, error: `invalid URL: ${error?.message ?? error}` }, false));
    return () => { finished = true; };
  }
  const receive = async (response) => {
    if (finished) return;
    if (response.type === 'opaqueredirect' || isRedirect(response.status) || response.redirected ||
        (response.url && response.url !== href)) {
      return finish({ status: response.status, redirected: true,
        location: response.headers.get('location') ?? (response.url !== href ? response.url : '') }, true);
    }
    const status = response.status;
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > request.maxBytes) return finish({ status, tooLarge: true }, true);
    const chunks = [];
    let length = 0;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done: ended, value } = await reader.read();
        if (finished) return;
        if (ended) break;
        length += value.length;
        if (length > request.maxBytes) return finish({ status, tooLarge: true }, true);
        chunks.push(value);
      }
    } else {
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (finished) return;
      if (bytes.length > request.maxBytes) return finish({ status, tooLarge: true }, true);
      chunks.push(bytes);
      length = bytes.length;
    }
    finish({ status, chunks, length }, false);
  };
  const failed = (error) => finish({ status: 0, error: String(error?.message ?? error) }, true);
  try {
    const body = request.body && request.body.length ? request.body : undefined;
    timer = setTimeout(() => finish({ status: 0, timedOut: true }, true), request.timeoutMs);
    fetch(href, { method: request.method, headers: request.headers, body, redirect: 'manual',
      signal: controller.signal, credentials: 'same-origin', cache: 'no-store' })
      .then(receive)
      .catch(failed);
  } catch (error) {
    const message = String(error?.message ?? error);
    queueMicrotask(() => finish({ status: 0, error: message }, true));
  }
  return () => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    timer = null;
    controller.abort();
  };
}
