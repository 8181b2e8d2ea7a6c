// Starts the reference sync server (web/server/app.js) in this process on 127.0.0.1,
// an ephemeral port and a temporary data directory, and logs in the demo user.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// DC_BENCH_ROOT: another checkout's server (bench/run.mjs measures the "before" side with it).
const ROOT = process.env.DC_BENCH_ROOT ? path.resolve(process.env.DC_BENCH_ROOT) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO = { email: 'demo@example.org', password: 'demo-password' };

export function serverAvailable() {
  return fs.existsSync(path.join(ROOT, 'web/server/app.js'));
}

function listen(server) {
  return new Promise((resolve, reject) => {
    if (server.listening) return resolve();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

// `serverOptions` are passed on to createServer (e.g. an injected validateEvent).
export async function startReferenceServer({ label = 'bench', serverOptions = {} } = {}) {
  if (!serverAvailable()) throw new Error('web/server/app.js does not exist yet');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `dc-bench-server-${label}-`));
  const mod = await import(pathToFileURL(path.join(ROOT, 'web/server/app.js')).href);
  const create = mod.createServer ?? mod.default?.createServer ?? mod.createApp ?? mod.default;
  if (typeof create !== 'function') throw new Error('web/server/app.js exports no createServer');
  // createServer(options) -> {server, db, listen() -> url, close()} (web/server/app.js).
  const made = await create({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    logger: false,
    jwtSecret: 'bench-secret-not-for-production-0123456789',
    seedUser: { ...DEMO, configIds: ['default'] },
    bcryptRounds: 4,
    ...serverOptions,
  });
  let server = null;
  let closeFn = null;
  if (typeof made?.listen === 'function' && made?.server instanceof net.Server) {
    await made.listen();
    server = made.server;
    closeFn = made.close.bind(made);
  } else if (made instanceof net.Server) server = made;
  else if (typeof made === 'function') server = http.createServer(made);
  if (!server) throw new Error('createServer() returned nothing that can listen');
  await listen(server);
  const url = `http://127.0.0.1:${server.address().port}`;
  const close = async () => {
    try {
      if (closeFn) await closeFn();
      else {
        server.closeAllConnections?.();
        await new Promise((r) => server.close(r));
      }
    } catch {}
    try {
      made?.db?.close?.();
    } catch {}
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { url, dataDir, close, made, mod };
}

export async function login(url, creds = DEMO) {
  const res = await fetch(`${url}/api/users/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(creds),
  });
  const body = await res.json().catch(() => ({}));
  if (res.status !== 200 || !body.token) throw new Error(`login as ${creds.email} failed: HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
  return body.token;
}
