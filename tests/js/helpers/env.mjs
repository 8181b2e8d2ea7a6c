// Shared test helpers: temp folders, forms, the reference sync server on 127.0.0.1.
import { mkdtempSync, rmSync } from 'node:fs';
import { before, after } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

export const REPO = new URL('../../../', import.meta.url);
export const DEMO_USER = { email: 'demo@example.org', password: 'demo-password' };

export function tempDir(prefix = 'dc-js-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let clock = Date.parse('2024-05-01T10:00:00.000Z');
// A form with every field; timestamps strictly increase across calls.
export function form(type, entityGuid, data, extra = {}) {
  clock += 1000;
  return {
    guid: randomUUID(),
    entityGuid,
    type,
    data,
    timestamp: new Date(clock).toISOString(),
    userId: 'user-1',
    ...extra,
  };
}

// Starts the reference server (web/server/app.js) on an ephemeral port with a fresh data folder.
export async function startReferenceServer(options = {}) {
  const { createServer } = await import(new URL('web/server/app.js', REPO).href);
  const data = tempDir('dc-server-');
  const server = createServer({ dataDir: data.dir, port: 0, host: '127.0.0.1', logger: false, bcryptRounds: 4,
    staticDirs: false, ...options });
  const url = await server.listen();
  return {
    url: String(url).replace(/\/+$/, ''),
    server,
    async close() {
      await server.close();
      data.cleanup();
    },
  };
}

// Entities of a store as a canonical, comparable value.
export async function entitySnapshot(store) {
  const pairs = await store.entityStore.getAllEntities();
  return pairs.map((p) => p.modified).sort((a, b) => a.guid.localeCompare(b.guid));
}

export async function login(url, { email, password } = DEMO_USER) {
  const res = await fetch(`${url}/api/users/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`login failed: ${res.status}`);
  return (await res.json()).token;
}

// A reference server started before the file's tests, with the demo account logged in, and
// stopped after them. Read `.server` and `.token` inside tests (they are set by then).
export function useLoggedInServer(options) {
  const ctx = { server: null, token: null };
  before(async () => {
    ctx.server = await startReferenceServer(options);
    ctx.token = await login(ctx.server.url);
  });
  after(async () => {
    await ctx.server?.close();
  });
  return ctx;
}
