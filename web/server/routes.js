// The sync API with our extensions (see docs/protocol.md), plus the operations endpoints. Each
// handler gets (req, res, query) and the shared context built by app.js; errors are thrown as
// HttpError and turned into JSON there.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { HttpError, TooManyEntriesError, readJsonBatch, readJsonObject, sendJson } from './http.js';
import { normaliseEmail } from './db.js';
import { bearerToken, dummyHash, passwordTooLong, signToken, verifyPassword, verifyToken } from './auth.js';
import { canonicalJson, sha256Hex } from './canonical.js';

export const DEFAULT_PULL_LIMIT = 100;
export const MAX_PULL_LIMIT = 1000;
// Audit pulls keep the original's plain-array answer; without `limit` they return everything
// since the position, up to this bound (X-Next-Cursor then says there is more).
export const DEFAULT_AUDIT_PULL_LIMIT = 100000;
const LOGIN_BODY_LIMIT = 64 * 1024;
// Default cap on entries per push: the package sends at most 500 per request; 2,000 leaves room for
// other clients while bounding the work, the memory and the one synchronous step (the SQLite
// commit) of a single request.
export const DEFAULT_MAX_ENTRIES_PER_PUSH = 2000;
// Per-entry work yields to the event loop after this much time, so one big push cannot stall
// other requests (health checks, pulls) for longer than about this.
const SLICE_MS = 10;
// Entries validated per batch call: 500 keeps one call within a few SLICE_MS of the event loop.
const BATCH_SLICE = 500;

// Fixed pieces of the pull responses, which are assembled from the stored bytes.
const EVENTS_OPEN = Buffer.from('{"events":[');
const SYNC_LEVEL_REMOTE_CLOSE = Buffer.from(',"syncLevel":1}');
const COMMA = Buffer.from(',');
const OPEN_BRACKET = Buffer.from('[');
const AUDIT_OPEN = Buffer.from('{"auditLogs":[');
const CLOSE_BRACKET = Buffer.from(']');

// --- cursors -----------------------------------------------------------------------------------
// A cursor is opaque to clients. Ours is the tenant's ingestion sequence number after which the
// next page starts ("42"). While paging through a query that began with an ISO timestamp it also
// carries that timestamp's milliseconds ("42:1714557600000") so the continuation keeps the same
// filter; the final page of such a query returns a plain position again.
//
// `since` may be:
//   - empty or absent: from the beginning;
//   - a cursor as above;
//   - an ISO-8601 timestamp (clients of the original protocol): the events whose timestamp is
//     strictly after it, in ingestion order (not timestamp order). Once the query has been paged
//     to its end, the returned cursor is the tenant's current position, so a client that then
//     switches to cursors receives every event ingested afterwards, whatever its timestamp,
//     including old-timestamp events pushed late.
const CURSOR_RE = /^(\d{1,15})(?::(-?\d{1,16}))?$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

export function parseSince(since) {
  if (since === null || since === undefined || since === '') return { afterSeq: 0 };
  const c = CURSOR_RE.exec(since);
  if (c) return { afterSeq: Number(c[1]), minTsMs: c[2] === undefined ? undefined : Number(c[2]) };
  const iso = ISO_RE.exec(since.trim());
  if (iso) {
    // A timestamp without a zone is taken as UTC (JS would read a date-time as local time).
    const hasTime = /[T ]\d/.test(since);
    const text = hasTime && !iso[1] ? `${since.trim()}Z` : since.trim();
    const ms = Date.parse(text.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return { afterSeq: 0, minTsMs: ms };
  }
  throw new HttpError(400, `Invalid 'since': expected a cursor from a previous pull or an ISO-8601 timestamp`);
}

function parseLimit(raw, fallback, max) {
  if (raw === null || raw === undefined || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) {
    throw new HttpError(400, `Invalid 'limit': expected a positive integer`);
  }
  return Math.min(Number(raw), max);
}

// `maxBytes` (our extension, docs/protocol.md, 'Response size'): the response body the client can
// take. Absent: pages are bounded by `limit` only, as before.
function parseMaxBytes(raw) {
  if (raw === null || raw === undefined || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) {
    throw new HttpError(400, `Invalid 'maxBytes': expected a positive integer`);
  }
  return Number(raw);
}

function pageCursors(since, { rows, more, maxSeq }) {
  const lastSeq = rows.length ? rows[rows.length - 1].seq : since.afterSeq;
  let cursor;
  if (more) {
    cursor = since.minTsMs === undefined ? String(lastSeq) : `${lastSeq}:${since.minTsMs}`;
  } else {
    // Everything up to maxSeq has been looked at (returned, or filtered out by an ISO 'since').
    cursor = String(Math.max(since.afterSeq, lastSeq, since.minTsMs === undefined ? 0 : maxSeq));
  }
  return { cursor, nextCursor: more ? cursor : null };
}

// --- the routes --------------------------------------------------------------------------------
export function createRoutes(ctx) {
  const { logger, metrics } = ctx;

  // Token -> {userId, email, configIds}. The configIds are the token's, narrowed to what the user
  // may still use, so removing a user or a grant takes effect before the token expires; a token
  // made before the user's last password change (older token version) is refused.
  async function authenticate(req) {
    const payload = verifyToken(ctx.jwtSecret, bearerToken(req));
    const user = await ctx.store.getUserById(payload.sub);
    if (!user) throw new HttpError(401, 'Invalid token');
    if ((payload.tv ?? 0) !== user.tokenVersion) throw new HttpError(401, 'Token revoked (the password was changed); log in again');
    const configIds = payload.configIds.filter((c) => user.configIds.includes(c));
    return { userId: user.id, email: user.email, configIds, exp: payload.exp };
  }

  // Unknown and not granted answer the same 403, so a token cannot be used to find out which
  // tenants exist. A granted configId whose tenant was removed is the same answer too.
  async function tenantFor(auth, raw) {
    const configId = raw === undefined || raw === null || raw === '' ? 'default' : raw;
    if (typeof configId !== 'string') throw new HttpError(400, 'configId must be a string');
    if (!auth.configIds.includes(configId) || !(await ctx.store.hasTenant(configId))) {
      throw new HttpError(403, `This account may not access configId: ${configId}`);
    }
    return configId;
  }

  async function login(req, res) {
    const body = await readJsonObject(req, LOGIN_BODY_LIMIT);
    const { email, password } = body;
    if (typeof email !== 'string' || !email.trim() || typeof password !== 'string' || !password) {
      throw new HttpError(400, 'email and password are required', {
        body: { error: 'email and password are required', message: 'email and password are required' },
      });
    }
    const emailKey = normaliseEmail(email);
    const address = ctx.clientAddress(req);
    // Counted before the password is evaluated (see LoginLimiter).
    const gate = await ctx.loginLimiter.reserve(emailKey, address);
    if (!gate.allowed) {
      const wait = gate.retryAfterSeconds;
      const message = `Too many failed login attempts; try again in ${wait} s`;
      metrics.loginLimited.inc();
      logger.warn('login rate-limited', { address });
      throw new HttpError(429, message, { headers: { 'Retry-After': String(wait) }, body: { error: message, message } });
    }
    const user = await ctx.store.getUserByEmail(emailKey);
    let ok = false;
    if (!passwordTooLong(password)) {
      metrics.passwordChecks.inc();
      ok = await verifyPassword(password, user ? user.passwordHash : dummyHash());
    }
    if (!user || !ok) {
      logger.info('login failed', { address });
      throw new HttpError(401, 'Invalid email or password', { body: { message: 'Invalid email or password' } });
    }
    await ctx.loginLimiter.succeeded(emailKey, address);
    const configIds = [];
    for (const c of user.configIds) if (await ctx.store.hasTenant(c)) configIds.push(c);
    const token = signToken(ctx.jwtSecret, ctx.tokenTtlSeconds, user, configIds);
    logger.info('login ok', { userId: user.id, address });
    sendJson(res, 200, { token, userId: user.id });
  }

  async function checkToken(req, res) {
    const auth = await authenticate(req);
    sendJson(res, 200, {
      status: 'success',
      valid: true,
      userId: auth.userId,
      email: auth.email,
      configIds: auth.configIds,
      expiresAt: new Date(auth.exp * 1000).toISOString(),
    });
  }

  // Shared by both push endpoints: validate each entry on its own, then store the valid ones in
  // one transaction. Validation runs before the transaction because the package's validator may
  // be async (wasm) and better-sqlite3 transactions are synchronous.
  async function pushEntries(req, res, { field, logName, getValidate, normalise }) {
    const timer = metrics.push.startTimer({ log: logName });
    const auth = await authenticate(req);
    // The shape and the size are checked before any per-entry work or allocation (readJsonBatch
    // counts the entries while scanning, without building them).
    let body;
    try {
      body = await readJsonBatch(req, ctx.bodyLimit, field, ctx.maxEntriesPerPush);
    } catch (e) {
      if (!(e instanceof TooManyEntriesError)) throw e;
      const message = `Too many entries in one push: more than ${ctx.maxEntriesPerPush} (the limit is ${ctx.maxEntriesPerPush} per request); send them in smaller batches`;
      throw new HttpError(413, message, { body: { error: message, limit: ctx.maxEntriesPerPush } });
    }
    const configId = await tenantFor(auth, body.configId);
    const entries = body[field];
    if (!Array.isArray(entries)) throw new HttpError(400, `'${field}' must be an array`);
    const validate = await getValidate();
    // The package's batch validator: one wasm call per slice of entries instead of one per entry.
    const verdicts = typeof validate.validateBatch === 'function' ? await validateInSlices(validate.validateBatch, entries) : null;

    const results = new Array(entries.length);
    const items = [];
    const itemIndex = [];
    let sliceStart = performance.now();
    for (let i = 0; i < entries.length; i++) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await nextTurn();
        sliceStart = performance.now();
      }
      const raw = entries[i];
      const guid = raw && typeof raw === 'object' && typeof raw.guid === 'string' ? raw.guid : null;
      let verdict = verdicts ? verdicts[i] : validate(raw);
      if (verdict && typeof verdict.then === 'function') verdict = await verdict; // async validators
      if (!verdict || verdict.ok !== true) {
        results[i] = {
          guid,
          code: verdict?.code || 'INVALID_FORM',
          message: verdict?.message || 'Invalid entry',
        };
        continue;
      }
      const entry = normalise(verdict.event ?? raw);
      if (typeof entry.guid !== 'string' || !entry.guid) {
        results[i] = { guid, code: 'INVALID_FORM', message: 'Form submission is missing a GUID' };
        continue;
      }
      const text = canonicalJson(entry);
      const tsMs = Date.parse(entry.timestamp);
      items.push({
        guid: entry.guid,
        timestamp: String(entry.timestamp ?? ''),
        tsMs: Number.isNaN(tsMs) ? null : tsMs,
        body: text,
        hash: sha256Hex(text),
      });
      itemIndex.push(i);
    }
    // Logged before the transaction: the crash tests use this line to kill the server mid-write.
    logger.info('push storing', { log: logName, configId, storing: items.length });
    const outcomes = items.length ? await ctx.store.append(logName, configId, items, auth.userId) : [];
    let stored = 0;
    outcomes.forEach((outcome, k) => {
      const guid = items[k].guid;
      if (outcome === 'stored') stored++;
      results[itemIndex[k]] =
        outcome !== 'conflict'
          ? guid
          : { guid, code: 'CONFLICT', message: `A different ${logName === 'events' ? 'event' : 'audit log entry'} with guid ${guid} is already stored` };
    });
    metrics.stored.inc({ log: logName }, stored);
    const accepted = results.filter((r) => typeof r === 'string');
    const rejected = results.filter((r) => typeof r !== 'string');
    logger.info('push done', { log: logName, configId, userId: auth.userId, accepted: accepted.length, rejected: rejected.length, stored });
    sendJson(res, 200, { status: 'success', accepted, rejected });
    timer();
  }

  // Validates in slices of BATCH_SLICE entries, yielding between them like the per-entry loop.
  async function validateInSlices(validateBatch, entries) {
    const out = [];
    for (let start = 0; start < entries.length; start += BATCH_SLICE) {
      if (start) await nextTurn();
      let part = validateBatch(entries.slice(start, start + BATCH_SLICE));
      if (part && typeof part.then === 'function') part = await part;
      for (const verdict of part) out.push(verdict);
    }
    return out;
  }

  async function pushEvents(req, res) {
    await pushEntries(req, res, {
      field: 'events',
      logName: 'events',
      getValidate: () => ctx.getValidator(),
      // syncLevel is the sender's local bookkeeping, not content: drop it so a resend with
      // another syncLevel is the same event.
      normalise: ({ syncLevel, ...event }) => event,
    });
  }

  // Audit entries are stored as sent; we only need a guid (idempotency) and a parseable
  // timestamp (ISO 'since').
  function validateAuditEntry(entry) {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      return { ok: false, code: 'INVALID_FORM', message: 'Audit log entry must be an object' };
    }
    if (typeof entry.guid !== 'string' || !entry.guid) {
      return { ok: false, code: 'INVALID_FORM', message: 'Audit log entry is missing a GUID' };
    }
    if (typeof entry.timestamp !== 'string' || Number.isNaN(Date.parse(entry.timestamp))) {
      return { ok: false, code: 'INVALID_FORM', message: 'Audit log entry has a missing or unparseable timestamp' };
    }
    return { ok: true, event: entry };
  }

  async function pushAuditLogs(req, res) {
    await pushEntries(req, res, {
      field: 'auditLogs',
      logName: 'audit',
      getValidate: () => validateAuditEntry,
      normalise: (entry) => entry,
    });
  }

  async function readPage(req, query, logName, defaultLimit, maxLimit) {
    const auth = await authenticate(req);
    const configId = await tenantFor(auth, query.get('configId'));
    const since = parseSince(query.get('since'));
    const limit = parseLimit(query.get('limit'), defaultLimit, maxLimit);
    const maxBytes = parseMaxBytes(query.get('maxBytes'));
    const page = await ctx.store.page(logName, configId, { ...since, limit, maxBytes });
    return { page, ...pageCursors(since, page) };
  }

  // `remaining` (our extension): how many entries the same `since` would still deliver after this
  // page, so a client can show progress (see docs/protocol.md).
  async function pullEvents(req, res, query) {
    const timer = metrics.pull.startTimer({ log: 'events' });
    const { page, cursor, nextCursor } = await readPage(req, query, 'events', DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT);
    // Bodies are stored as canonical JSON objects; splice syncLevel in rather than parse and
    // re-serialise every event, and join the stored bytes as they are (pull is the hot path).
    const parts = [EVENTS_OPEN];
    page.rows.forEach((r, i) => {
      if (i) parts.push(COMMA);
      // A placeholder for an event over `maxBytes` is sent as it is (no syncLevel: not an event).
      if (r.tooLarge) parts.push(r.body);
      else parts.push(r.body.subarray(0, r.body.length - 1), SYNC_LEVEL_REMOTE_CLOSE);
    });
    parts.push(
      Buffer.from(`],"nextCursor":${JSON.stringify(nextCursor)},"cursor":${JSON.stringify(cursor)},"remaining":${page.remaining}}`),
    );
    sendJson(res, 200, Buffer.concat(parts), {
      'X-Cursor': cursor,
      'X-Remaining': String(page.remaining),
      ...(nextCursor ? { 'X-Next-Cursor': nextCursor } : {}),
    });
    timer();
  }

  async function pullAuditLogs(req, res, query) {
    const timer = metrics.pull.startTimer({ log: 'audit' });
    const { page, cursor, nextCursor } = await readPage(req, query, 'audit', DEFAULT_AUDIT_PULL_LIMIT, DEFAULT_AUDIT_PULL_LIMIT);
    // `paged=1` (our extension, docs/protocol.md, 'Audit logs'): the entries in an object with the
    // cursors, as the events pull; without it the original's plain array.
    const paged = query.get('paged') === '1';
    const parts = [paged ? AUDIT_OPEN : OPEN_BRACKET];
    page.rows.forEach((r, i) => (i ? parts.push(COMMA, r.body) : parts.push(r.body)));
    parts.push(
      paged
        ? Buffer.from(`],"nextCursor":${JSON.stringify(nextCursor)},"cursor":${JSON.stringify(cursor)},"remaining":${page.remaining}}`)
        : CLOSE_BRACKET,
    );
    sendJson(res, 200, Buffer.concat(parts), {
      'X-Cursor': cursor,
      'X-Remaining': String(page.remaining),
      ...(nextCursor ? { 'X-Next-Cursor': nextCursor } : {}),
    });
    timer();
  }

  // --- operations --------------------------------------------------------------------------------
  // Liveness: the process answers. Never touches the database, so it stays fast under load.
  async function healthz(req, res) {
    sendJson(res, 200, { status: 'ok' });
  }

  // Readiness: the database answers, and the process is not shutting down.
  async function readyz(req, res) {
    if (ctx.stopping) throw new HttpError(503, 'Shutting down');
    try {
      await Promise.race([
        ctx.store.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]);
    } catch (e) {
      logger.warn('readiness check failed', { error: e.message });
      throw new HttpError(503, 'Database unavailable');
    }
    sendJson(res, 200, { status: 'ready', database: ctx.store.kind });
  }

  async function metricsText(req, res) {
    const text = await metrics.register.metrics();
    res.writeHead(200, { 'Content-Type': metrics.register.contentType, 'Cache-Control': 'no-store' });
    res.end(text);
  }

  // path -> method -> handler
  return new Map([
    ['/api/users/login', { POST: login }],
    ['/api/users/check-token', { GET: checkToken }],
    ['/api/sync/push', { POST: pushEvents }],
    ['/api/sync/pull', { GET: pullEvents }],
    ['/api/sync/push/audit-logs', { POST: pushAuditLogs }],
    ['/api/sync/pull/audit-logs', { GET: pullAuditLogs }],
    ['/healthz', { GET: healthz }],
    ['/readyz', { GET: readyz }],
    ['/metrics', { GET: metricsText }],
  ]);
}
