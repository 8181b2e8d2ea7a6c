// Shared helpers for the server tests: a server on 127.0.0.1 with an ephemeral port and a temp
// data dir, JSON fetch, login, and event factories.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createServer } from '../../web/server/app.js';
import { loadPackageValidator } from '../../web/server/validation.js';

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
  let server;
  try {
    server = createServer({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      logger: false,
      bcryptRounds: 4,
      seedUser: { email: 'demo@example.org', password: 'demo-password', configIds: ['default'] },
      // No validator injected: the server loads the package's on the first push, like in production.
      ...options,
    });
    await server.listen();
  } catch (e) {
    await server?.close().catch(() => {});
    if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const url = server.url;
  return {
    server,
    url,
    dataDir,
    async close({ keepData = false } = {}) {
      await server.close();
      if (!keepData && !options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
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
