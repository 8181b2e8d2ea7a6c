// A fake of the original DataCollect sync server (the backend an app may keep when it switches to
// this package), on a real node:http server on 127.0.0.1. It reproduces exactly the wire
// behaviours observed on a running instance (docs/protocol.md, 'The original server'):
//   - GET /api/sync/pull/audit-logs with an empty (or unparsable) `since` -> 500 HTML (the value
//     goes straight into a timestamp comparison); an ISO timestamp works; every entry after it in
//     one plain array (no paging, no headers), each `userId` rewritten to the pushing account's
//     numeric id;
//   - push answers 200 {"status":"success"} whatever happened to each event (no accepted/rejected);
//   - body limit 100 kB -> 413 HTML; malformed JSON -> 400 HTML with a stack trace; unknown routes
//     -> 404 HTML; events: [null] -> 500 HTML;
//   - pull pages fixed at 10, ordered by timestamp; nextCursor = the last event's timestamp when the
//     page is full, else null; the next page asks timestamp > cursor (ties at the boundary skipped);
//   - tokens carry no `exp`; login answers {token, userId} with a numeric userId.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

const PAGE = 10;
const BODY_LIMIT = 100 * 1024;

const html = (title, body = '') => `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${title}</title>\n</head>\n<body>\n<pre>${body}</pre>\n</body>\n</html>\n`;
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

export async function startOriginalServer({ users = [{ id: 1, email: 'demo@example.org', password: 'demo-password' }] } = {}) {
  const tokens = new Map();  // token -> user
  const events = [];         // stored events (ingestion order)
  const guids = new Set();
  const audit = [];
  const auditGuids = new Set();
  const requests = [];       // {method, path, query, auth}
  const faults = { auditPull: 0, auditPush: 0 };  // answer the next N audit requests with 500 HTML

  function send(res, status, type, body) {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
  const sendHtml = (res, status, title, body) => send(res, status, 'text/html; charset=utf-8', html(title, body));
  const sendJson = (res, status, value) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
  const serverError = (res, e) => sendHtml(res, 500, 'Error', `Error: ${e.message}<br> &nbsp; &nbsp;at Query.run (/app/node_modules/pg/lib/query.js:89:25)`);

  function readBody(req) {
    return new Promise((resolve) => {
      const chunks = [];
      let size = 0, tooLarge = false;
      req.on('data', (c) => {
        size += c.length;
        if (size > BODY_LIMIT) tooLarge = true;
        else chunks.push(c);
      });
      req.on('end', () => resolve({ tooLarge, text: Buffer.concat(chunks).toString('utf8') }));
    });
  }

  // The original compares in SQL: `timestamp > $since`; an empty or non-date `since` makes it throw.
  function sinceMs(value) {
    const ms = Date.parse(value ?? '');
    if (!value || Number.isNaN(ms)) throw new Error(`invalid input syntax for type timestamp with time zone: "${value ?? ''}"`);
    return ms;
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const auth = req.headers.authorization ?? '';
    requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), auth });
    const route = `${req.method} ${url.pathname}`;
    const known = ['POST /api/users/login', 'POST /api/sync/push', 'GET /api/sync/pull', 'POST /api/sync/push/audit-logs',
      'GET /api/sync/pull/audit-logs'];
    let body = null;
    if (req.method === 'POST') {
      const { tooLarge, text } = await readBody(req);
      if (tooLarge) return sendHtml(res, 413, 'Error', 'PayloadTooLargeError: request entity too large');
      try {
        body = text ? JSON.parse(text) : {};
      } catch (e) {
        return sendHtml(res, 400, 'Error', `SyntaxError: ${e.message}<br> &nbsp; &nbsp;at JSON.parse (&lt;anonymous&gt;)<br> &nbsp; &nbsp;at parse (/app/node_modules/body-parser/lib/types/json.js:92:19)`);
      }
    } else {
      req.resume();
    }
    if (!known.includes(route)) return sendHtml(res, 404, 'Error', `Cannot ${req.method} ${url.pathname}`);
    try {
      if (route === 'POST /api/users/login') {
        const user = users.find((u) => u.email === body?.email && u.password === body?.password);
        if (!user) return sendJson(res, 401, { message: 'Invalid credentials' });
        const token = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ id: user.id, email: user.email, iat: Math.floor(Date.now() / 1000) })}.${randomBytes(16).toString('base64url')}`;
        tokens.set(token, user);
        return sendJson(res, 200, { token, userId: user.id });
      }
      const user = tokens.get(auth.replace(/^Bearer /, ''));
      if (!user) return sendJson(res, 401, { message: 'Unauthorized' });
      if (route === 'POST /api/sync/push') {
        for (const e of body.events) void e.guid;  // events: [null] throws here, as in the original
        for (const e of body.events) {
          if (typeof e.guid !== 'string' || typeof e.timestamp !== 'string' || guids.has(e.guid)) continue;  // silently
          guids.add(e.guid);
          events.push({ ...e, syncLevel: 1 });
        }
        return sendJson(res, 200, { status: 'success' });
      }
      if (route === 'GET /api/sync/pull') {
        const since = url.searchParams.get('since');
        const after = since ? sinceMs(since) : -Infinity;
        const sorted = events.filter((e) => Date.parse(e.timestamp) > after)
          .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
        const page = sorted.slice(0, PAGE);
        return sendJson(res, 200, { events: page, nextCursor: page.length === PAGE ? page[PAGE - 1].timestamp : null });
      }
      if (route === 'POST /api/sync/push/audit-logs') {
        if (faults.auditPush > 0 && faults.auditPush--) throw new Error('audit push failed (injected)');
        for (const a of body.auditLogs) {
          if (!a?.guid || auditGuids.has(a.guid)) continue;
          auditGuids.add(a.guid);
          audit.push({ ...a, userId: user.id });
        }
        return sendJson(res, 200, { status: 'success' });
      }
      if (route === 'GET /api/sync/pull/audit-logs') {
        if (faults.auditPull > 0 && faults.auditPull--) throw new Error('audit pull failed (injected)');
        const after = sinceMs(url.searchParams.get('since'));
        return sendJson(res, 200, audit.filter((a) => Date.parse(a.timestamp) > after));
      }
    } catch (e) {
      return serverError(res, e);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url, events, audit, requests, faults,
    // Puts an event straight into the log (another device's push).
    seed(event) {
      if (!guids.has(event.guid)) {
        guids.add(event.guid);
        events.push({ ...event, syncLevel: 1 });
      }
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
