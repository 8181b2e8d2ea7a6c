// The API of docs/protocol.md with its extensions. Each handler gets (req, res, query) and the
// shared context built by app.js; errors are thrown as HttpError and turned into JSON there.
import { HttpError, readJsonObject, sendJson } from './http.js';
import { Store } from './db.js';
import { bearerToken, dummyHash, signToken, verifyPassword, verifyToken } from './auth.js';
import { canonicalJson, sha256Hex } from './canonical.js';

export const DEFAULT_PULL_LIMIT = 100;
export const MAX_PULL_LIMIT = 1000;
// Audit pulls keep the original's plain-array answer; without `limit` they return everything
// since the position, up to this bound (X-Next-Cursor then says there is more).
export const DEFAULT_AUDIT_PULL_LIMIT = 100000;
const LOGIN_BODY_LIMIT = 64 * 1024;

// Fixed pieces of the pull responses, which are assembled from the stored bytes.
const EVENTS_OPEN = Buffer.from('{"events":[');
const SYNC_LEVEL_REMOTE_CLOSE = Buffer.from(',"syncLevel":1}');
const COMMA = Buffer.from(',');
const OPEN_BRACKET = Buffer.from('[');
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
  const { store, limiters, logger } = ctx;

  // Token -> {userId, email, configIds}. The configIds are the token's, narrowed to what the user
  // may still use, so removing a user or a grant takes effect before the token expires.
  function authenticate(req) {
    const payload = verifyToken(ctx.jwtSecret, bearerToken(req));
    const user = store.getUserById(payload.sub);
    if (!user) throw new HttpError(401, 'Invalid token');
    const configIds = payload.configIds.filter((c) => user.configIds.includes(c));
    return { userId: user.id, email: user.email, configIds, exp: payload.exp };
  }

  // Unknown configId -> 400 (docs/protocol.md, 'Error shapes'); known but not granted -> 403.
  function tenantFor(auth, raw) {
    const configId = raw === undefined || raw === null || raw === '' ? 'default' : raw;
    if (typeof configId !== 'string') throw new HttpError(400, 'configId must be a string');
    if (!store.hasTenant(configId)) throw new HttpError(400, `Unknown configId: ${configId}`);
    if (!auth.configIds.includes(configId)) {
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
    const emailKey = Store.normaliseEmail(email);
    const ipKey = req.socket.remoteAddress || 'unknown';
    const wait = Math.max(limiters.email.retryAfter(emailKey), limiters.ip.retryAfter(ipKey));
    if (wait > 0) {
      const message = `Too many failed login attempts; try again in ${wait} s`;
      logger.warn('login rate-limited');
      throw new HttpError(429, message, { headers: { 'Retry-After': String(wait) }, body: { error: message, message } });
    }
    const user = store.getUserByEmail(emailKey);
    const ok = await verifyPassword(password, user ? user.passwordHash : dummyHash());
    if (!user || !ok) {
      limiters.email.fail(emailKey);
      limiters.ip.fail(ipKey);
      logger.info('login failed');
      throw new HttpError(401, 'Invalid email or password', { body: { message: 'Invalid email or password' } });
    }
    limiters.email.reset(emailKey);
    const configIds = user.configIds.filter((c) => store.hasTenant(c));
    const token = signToken(ctx.jwtSecret, ctx.tokenTtlSeconds, user, configIds);
    logger.info(`login ok userId=${user.id}`);
    sendJson(res, 200, { token, userId: user.id });
  }

  async function checkToken(req, res) {
    const auth = authenticate(req);
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
    const auth = authenticate(req);
    const body = await readJsonObject(req, ctx.bodyLimit);
    const configId = tenantFor(auth, body.configId);
    const entries = body[field];
    if (!Array.isArray(entries)) throw new HttpError(400, `'${field}' must be an array`);
    const validate = await getValidate();

    const results = new Array(entries.length);
    const items = [];
    const itemIndex = [];
    for (let i = 0; i < entries.length; i++) {
      const raw = entries[i];
      const guid = raw && typeof raw === 'object' && typeof raw.guid === 'string' ? raw.guid : null;
      let verdict = validate(raw);
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
    // Logged before the transaction: the crash test uses this line to kill the server mid-write.
    logger.info(`push ${logName} configId=${configId} storing=${items.length}`);
    const outcomes = items.length ? await store.append(logName, configId, items) : [];
    outcomes.forEach((outcome, k) => {
      const guid = items[k].guid;
      results[itemIndex[k]] =
        outcome === 'accepted'
          ? guid
          : { guid, code: 'CONFLICT', message: `A different ${logName === 'events' ? 'event' : 'audit log entry'} with guid ${guid} is already stored` };
    });
    const accepted = results.filter((r) => typeof r === 'string');
    const rejected = results.filter((r) => typeof r !== 'string');
    logger.info(`push ${logName} configId=${configId} accepted=${accepted.length} rejected=${rejected.length}`);
    sendJson(res, 200, { status: 'success', accepted, rejected });
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

  function readPage(req, query, logName, defaultLimit, maxLimit) {
    const auth = authenticate(req);
    const configId = tenantFor(auth, query.get('configId'));
    const since = parseSince(query.get('since'));
    const limit = parseLimit(query.get('limit'), defaultLimit, maxLimit);
    const page = store.page(logName, configId, { ...since, limit });
    return { page, ...pageCursors(since, page) };
  }

  async function pullEvents(req, res, query) {
    const { page, cursor, nextCursor } = readPage(req, query, 'events', DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT);
    // Bodies are stored as canonical JSON objects; splice syncLevel in rather than parse and
    // re-serialise every event, and join the stored bytes as they are (pull is the hot path).
    const parts = [EVENTS_OPEN];
    page.rows.forEach((r, i) => {
      if (i) parts.push(COMMA);
      parts.push(r.body.subarray(0, r.body.length - 1), SYNC_LEVEL_REMOTE_CLOSE);
    });
    // `remaining`: events after this page (the client's download progress total).
    parts.push(Buffer.from(`],"nextCursor":${JSON.stringify(nextCursor)},"cursor":${JSON.stringify(cursor)},"remaining":${page.remaining}}`));
    sendJson(res, 200, Buffer.concat(parts), { 'X-Cursor': cursor, ...(nextCursor ? { 'X-Next-Cursor': nextCursor } : {}) });
  }

  async function pullAuditLogs(req, res, query) {
    const { page, cursor, nextCursor } = readPage(req, query, 'audit', DEFAULT_AUDIT_PULL_LIMIT, DEFAULT_AUDIT_PULL_LIMIT);
    const parts = [OPEN_BRACKET];
    page.rows.forEach((r, i) => (i ? parts.push(COMMA, r.body) : parts.push(r.body)));
    parts.push(CLOSE_BRACKET);
    sendJson(res, 200, Buffer.concat(parts), {
      'X-Cursor': cursor,
      ...(nextCursor ? { 'X-Next-Cursor': nextCursor } : {}),
    });
  }

  // path -> method -> handler
  return new Map([
    ['/api/users/login', { POST: login }],
    ['/api/users/check-token', { GET: checkToken }],
    ['/api/sync/push', { POST: pushEvents }],
    ['/api/sync/pull', { GET: pullEvents }],
    ['/api/sync/push/audit-logs', { POST: pushAuditLogs }],
    ['/api/sync/pull/audit-logs', { GET: pullAuditLogs }],
  ]);
}
