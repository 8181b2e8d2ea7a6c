// The hostile-server cases (tests/js/hostile.test.mjs): how the hostile server answers, which
// operation the client child runs (tests/js/helpers/hostile-child.mjs) and what it must get.
// Shared by the parent (which runs the servers) and the child (which runs the client).
//
//   op:      'sync' | 'pull' (pullFromRemote) | 'login' | 'close' (sync, then close() mid-request)
//   expect:  the DataCollectError code, or null when the operation must succeed
//   rejected: {count, code}: events the operation must report as rejected, with that code
//   options: sync options of the client for this case
//   handle(req, res, ctx): the hostile answer to every API request (ctx.other: the other
//            origin's URL; ctx.state: per-case scratch; ctx.proxy(req, res): the good server)
//   engine:  true when the case depends on engine behaviour beyond the transport (pull bounds, limit halving)
//   auditOk: the audit-log pull gets a well-formed answer (cases about the event pull)

const html = '<!doctype html><html><head><title>Wi-Fi login</title></head><body><form>Accept the terms</form></body></html>';
const redirectTo = (status) => (req, res, ctx) => {
  res.writeHead(status, { Location: `${ctx.other}${req.url}` });
  res.end();
};
const answer = (status, body, type = 'application/json') => (req, res) => {
  res.writeHead(status, { 'Content-Type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
const event = (i, extra = {}) => ({
  guid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, entityGuid: `hostile-entity-${i}`,
  type: 'create-individual', data: { name: `Remote ${i}` }, timestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
  userId: 'remote-user', syncLevel: 1, ...extra,
});
// A pull page server: `count` events, cursors are ISO timestamps (the reference server accepts
// them too, so the good sync afterwards continues from there).
const pages = (count, size) => (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (!url.pathname.startsWith('/api/sync/pull') || url.pathname.includes('audit')) return answer(200, { status: 'success', auditLogs: [], nextCursor: null })(req, res);
  const since = url.searchParams.get('since');
  const start = since && since.startsWith('1970') ? Number(Date.parse(since)) / 1000 : 0;
  const limit = Number(url.searchParams.get('limit') || 10);
  const events = [];
  for (let i = start; i < Math.min(count, start + limit); i++) events.push(event(i, { data: { name: `Remote ${i}`, pad: 'x'.repeat(size(i)) } }));
  const end = start + events.length;
  answer(200, { events, nextCursor: end < count ? new Date(end * 1000).toISOString() : null })(req, res);
};
// Writes `chunk` every `everyMs` (0: as fast as the socket drains) until the client goes away.
const stream = (status, chunk, everyMs, head = '') => (req, res, ctx) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  if (head) res.write(head);
  const pump = () => {
    if (res.destroyed || res.writableEnded) return;
    if (everyMs) {
      res.write(chunk);
      ctx.state.timer = setTimeout(pump, everyMs);
    } else {
      while (res.write(chunk)) if (res.destroyed) return;
      res.once('drain', pump);
    }
  };
  pump();
  res.on('close', () => clearTimeout(ctx.state.timer));
};

export const CASES = [
  { name: 'redirect 301 to another origin', op: 'sync', expect: 'SERVER_ERROR', handle: redirectTo(301) },
  { name: 'redirect 302 to another origin', op: 'sync', expect: 'SERVER_ERROR', handle: redirectTo(302) },
  { name: 'redirect 307 to another origin', op: 'sync', expect: 'SERVER_ERROR', handle: redirectTo(307) },
  { name: 'redirect 308 to another origin', op: 'sync', expect: 'SERVER_ERROR', handle: redirectTo(308) },
  { name: 'redirect 307 on pull', op: 'pull', expect: 'SERVER_ERROR', handle: redirectTo(307) },
  { name: 'redirect 307 on login', op: 'login', expect: 'SERVER_ERROR', handle: redirectTo(307) },
  { name: 'redirect to the same origin', op: 'sync', expect: 'SERVER_ERROR',
    handle: (req, res) => { res.writeHead(307, { Location: `/v2${req.url}` }); res.end(); } },
  { name: 'redirect without Location', op: 'sync', expect: 'SERVER_ERROR', handle: (req, res) => { res.writeHead(301); res.end(); } },
  { name: 'redirect loop', op: 'sync', expect: 'SERVER_ERROR', maxRequests: 3,
    handle: (req, res) => { res.writeHead(302, { Location: req.url }); res.end(); } },
  { name: 'captive portal 200 HTML on push', op: 'sync', expect: 'BAD_RESPONSE', handle: answer(200, html, 'text/html') },
  { name: 'captive portal 200 HTML on pull', op: 'pull', expect: 'BAD_RESPONSE', handle: answer(200, html, 'text/html') },
  { name: 'captive portal 200 HTML on login', op: 'login', expect: 'BAD_RESPONSE', handle: answer(200, html, 'text/html') },
  { name: 'HTML 500', op: 'sync', expect: 'SERVER_ERROR', handle: answer(500, `<html><body><pre>TypeError at ${'x'.repeat(300)}</pre></body></html>`, 'text/html') },
  { name: 'truncated JSON on push', op: 'sync', expect: 'BAD_RESPONSE', handle: answer(200, '{"status":"succ') },
  { name: 'truncated JSON on pull', op: 'pull', expect: 'BAD_RESPONSE', handle: answer(200, '{"events":[{"guid":"a"') },
  { name: '{status:"error"} with 200', op: 'sync', expect: 'SERVER_ERROR', handle: answer(200, { status: 'error', message: 'database unavailable' }) },
  { name: 'pull: events not an array', op: 'pull', expect: 'BAD_RESPONSE', handle: answer(200, { events: { a: 1 }, nextCursor: null }) },
  { name: 'pull: {}', op: 'pull', expect: 'BAD_RESPONSE', handle: answer(200, {}) },
  // Malformed events do not fail the page: each is recorded as rejected with its code (the
  // others of the page still apply; docs/protocol.md, 'Accepted and rejected').
  { name: 'pull: events missing fields', op: 'pull', expect: null, rejected: { count: 3, code: 'INVALID_FORM' }, auditOk: true,
    handle: answer(200, { events: [{ guid: 'no-other-field' }, 42, null], nextCursor: null }) },
  { name: 'endless body', op: 'pull', expect: 'BAD_RESPONSE', options: { maxResponseBytes: 256 * 1024 }, closedWithinMs: 300,
    handle: stream(200, `{"pad":"${'x'.repeat(16 * 1024)}"},`, 0, '{"events":[') },
  { name: 'endless slow body, timeout', op: 'pull', expect: 'NETWORK', options: { requestTimeoutMs: 600 }, closedWithinMs: 300,
    handle: stream(200, ' ', 20, '{"events":[') },
  { name: 'no answer', op: 'sync', expect: 'NETWORK', options: { requestTimeoutMs: 500 }, closedWithinMs: 300, handle: () => {} },
  { name: 'trickle', op: 'sync', expect: 'NETWORK', options: { requestTimeoutMs: 600 }, closedWithinMs: 300,
    handle: stream(200, ' ', 100, '{') },
  { name: 'close() during a trickle', op: 'close', expect: 'CLOSED', options: { requestTimeoutMs: 20000 }, closedWithinMs: 300,
    handle: stream(200, ' ', 100, '{') },
  { name: 'close() during a backoff', op: 'close', expect: 'CLOSED', options: { maxAttempts: 3, backoffBaseMs: 20000 },
    handle: answer(503, { message: 'Service Unavailable' }) },
  { name: 'connection reset mid-body', op: 'sync', expect: 'NETWORK',
    handle: (req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.write('{"status":'); setTimeout(() => res.socket.destroy(), 20); } },
  { name: 'Content-Length longer than the body', op: 'sync', expect: 'NETWORK',
    handle: (req, res) => { res.writeHead(200, { 'Content-Length': '1000' }); res.write('{"status":"success"}'); setTimeout(() => res.socket.destroy(), 20); } },
  { name: 'huge error message', op: 'sync', expect: 'SERVER_ERROR', maxMessage: 2000, handle: answer(500, { message: 'E'.repeat(2 * 1024 * 1024) }) },
  { name: 'huge error body over the cap', op: 'sync', expect: 'SERVER_ERROR', options: { maxResponseBytes: 64 * 1024 },
    handle: answer(500, 'E'.repeat(1024 * 1024), 'text/plain') },
  { name: 'the same page forever', op: 'pull', expect: 'SERVER_ERROR', engine: true, auditOk: true, maxRequests: 50,
    handle: answer(200, { events: [event(1)], nextCursor: '1970-01-01T00:00:01.000Z', cursor: '1970-01-01T00:00:01.000Z' }) },
  { name: 'new cursors without new events', op: 'pull', expect: 'SERVER_ERROR', engine: true, auditOk: true, maxRequests: 50,
    handle: (req, res, ctx) => {
      ctx.state.n = (ctx.state.n ?? 0) + 1;
      const cursor = new Date(ctx.state.n * 1000).toISOString();  // ISO: the good server takes it too
      answer(200, { events: [], nextCursor: cursor, cursor })(req, res);
    } },
  { name: 'oversized pages (limit halves)', op: 'pull', expect: null, engine: true, auditOk: true, options: { maxResponseBytes: 64 * 1024, pullLimit: 64 },
    pulled: 12, handle: pages(12, () => 12 * 1024) },
  { name: 'oversized single event', op: 'pull', expect: 'BAD_RESPONSE', engine: true, auditOk: true, options: { maxResponseBytes: 64 * 1024, pullLimit: 8 },
    handle: pages(6, (i) => (i === 3 ? 100 * 1024 : 100)) },
  { name: '401 without hook', op: 'sync', expect: 'UNAUTHORIZED', handle: answer(401, { message: 'Unauthorized' }) },
  { name: '401 with hook', op: 'sync', expect: 'UNAUTHORIZED', hook: 'new-token-from-hook', handle: answer(401, { message: 'Unauthorized' }) },
];

export const caseByName = (name) => CASES.find((c) => c.name === name);
