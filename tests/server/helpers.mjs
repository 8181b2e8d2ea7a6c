// Shared helpers for the server tests: a server on 127.0.0.1 with an ephemeral port and a temp
// data dir (SQLite) or a fresh database (PostgreSQL), JSON fetch, login, and event factories.
//
// The back-end is chosen by DC_TEST_DATABASE=sqlite|postgres (default sqlite). With postgres the
// tests run under scripts/with-postgres.sh, which provides DC_TEST_PG_ADMIN_URL; every server the
// tests start gets a database of its own, dropped when it closes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { createServer } from '../../web/server/app.js';
import { loadPackageValidator } from '../../web/server/validation.js';

export const BACKEND = process.env.DC_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';
export const onPostgres = BACKEND === 'postgres';
if (onPostgres && !process.env.DC_TEST_PG_ADMIN_URL) {
  throw new Error('DC_TEST_DATABASE=postgres needs DC_TEST_PG_ADMIN_URL: run under scripts/with-postgres.sh');
}

async function admin(sql) {
  const c = new pg.Client({ connectionString: process.env.DC_TEST_PG_ADMIN_URL });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

// A fresh PostgreSQL database: {url, drop()}.
export async function newDatabase() {
  const name = `dc_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(process.env.DC_TEST_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.href, name, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

// Runs one SQL statement on a test database (PostgreSQL only).
export async function sqlOn(databaseUrl, text, params = []) {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

// The JWT secret a test server signs with (to forge tokens in tests).
export async function secretOf(s) {
  if (s.databaseUrl) return (await sqlOn(s.databaseUrl, "SELECT value FROM settings WHERE key = 'jwt_secret'"))[0].value;
  return fs.readFileSync(path.join(s.dataDir, 'jwt-secret'), 'utf8').trim();
}

// Where a test's storage lives: {dataDir, databaseUrl?, cleanup()}. Reusable across restarts.
export async function newStorage() {
  const dataDir = tempDir();
  const db = onPostgres ? await newDatabase() : null;
  return {
    dataDir,
    databaseUrl: db?.url,
    // CLI flags selecting this storage.
    args: db ? ['--data', dataDir, '--database', db.url] : ['--data', dataDir],
    async cleanup() {
      fs.rmSync(dataDir, { recursive: true, force: true });
      await db?.drop();
    },
  };
}

// The server's validation is the package's (js/index.js over the wasm build); the tests use it
// too, so they need `npm run build` first (scripts/test.sh does that).
export async function testValidator() {
  return loadPackageValidator();
}

export function tempDir(prefix = 'dc-server-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startServer(options = {}) {
  const dataDir = options.dataDir || tempDir();
  // A restart passes `storage` (from newStorage()) or dataDir/databaseUrl of the previous server.
  const ownDb = onPostgres && !options.databaseUrl && !options.storage ? await newDatabase() : null;
  const databaseUrl = options.storage?.databaseUrl ?? options.databaseUrl ?? ownDb?.url;
  const dir = options.storage?.dataDir ?? dataDir;
  let server;
  try {
    server = createServer({
      dataDir: dir,
      databaseUrl,
      host: '127.0.0.1',
      port: 0,
      logger: false,
      bcryptRounds: 4,
      seedUser: { email: 'demo@example.org', password: 'demo-password', configIds: ['default'] },
      // No validator injected: the server loads the package's on the first push, like in production.
      ...options,
      storage: undefined,
    });
    await server.listen();
  } catch (e) {
    await server?.close().catch(() => {});
    if (!options.dataDir && !options.storage) fs.rmSync(dataDir, { recursive: true, force: true });
    await ownDb?.drop();
    throw e;
  }
  const url = server.url;
  return {
    server,
    url,
    dataDir: dir,
    databaseUrl,
    async close({ keepData = false } = {}) {
      await server.close();
      if (!keepData && !options.dataDir && !options.storage) fs.rmSync(dataDir, { recursive: true, force: true });
      if (!keepData) await ownDb?.drop();
    },
  };
}

// fetch + JSON, bounded by a timeout so no test hangs.
export async function api(url, pathAndQuery, { method = 'GET', token, body, rawBody, headers = {}, timeoutMs = 30000 } = {}) {
  const res = await fetch(url + pathAndQuery, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined || rawBody !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    body: rawBody !== undefined ? rawBody : body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function login(url, email = 'demo@example.org', password = 'demo-password') {
  const r = await api(url, '/api/users/login', { method: 'POST', body: { email, password } });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return r.json.token;
}

export function makeEvent(overrides = {}) {
  return {
    guid: randomUUID(),
    entityGuid: randomUUID(),
    type: 'create-individual',
    data: { name: 'Jane Doe', age: 31 },
    timestamp: '2024-05-01T10:00:00.000Z',
    userId: 'user-1',
    syncLevel: 0,
    ...overrides,
  };
}

export async function push(url, token, events, configId = 'default') {
  return api(url, '/api/sync/push', { method: 'POST', token, body: { events, configId } });
}

// Pulls every page; bounded by maxPages.
export async function pullAll(url, token, { since = '', configId = 'default', limit, maxPages = 10000 } = {}) {
  const events = [];
  let cursor = since;
  let pages = 0;
  for (; pages < maxPages; pages++) {
    const q = new URLSearchParams({ since: cursor, configId, ...(limit ? { limit: String(limit) } : {}) });
    const r = await api(url, `/api/sync/pull?${q}`, { token });
    if (r.status !== 200) throw new Error(`pull failed: ${r.status} ${r.text}`);
    events.push(...r.json.events);
    cursor = r.json.cursor;
    if (r.json.nextCursor === null) return { events, cursor, pages: pages + 1 };
  }
  throw new Error('pullAll: too many pages');
}
