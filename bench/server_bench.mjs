// Server-only benchmarks. Two modes:
//
// Scale-out (the default, `npm run bench:server`): throughput of 1, 2 and 4 server processes on
// one PostgreSQL beside one process on SQLite. `node bench/server_bench.mjs [--seconds 8]
// [--clients 16] [--batch 100] [--processes 1,2,4]`. PostgreSQL is a private, durable
// (fsync on) cluster started by scripts/with-postgres.sh. Per configuration, on fresh storage:
// start the processes (the CLI, as deployed), then `--clients` concurrent HTTP clients, each
// bound to one process in turn, loop for `--seconds`: push `--batch` new events, then pull from
// their own cursor (limit 1000) until caught up. Reported: events pushed per second and pull
// requests per second (wall clock), and that every event was stored once.
//
// Cycle (`--cycle`): the reference server's share of the full cycle, without the
// wasm clients. `node bench/server_bench.mjs --cycle [--sizes 10000,100000] [--first-chunk 10]
// [--chunk 500] [--pull-limit N] [--guids ordered|random] [--profile DIR] [--json FILE]`
//
// The server runs in a child process started like bench/lib/server.mjs does (in-process
// createServer, temp data dir, demo user), so its CPU (process.cpuUsage in the child, asked for
// over IPC) is the server's alone. Per N, on a fresh server: log in, push N synthetic
// create-individual events in the chunks the C++ client sends (10 first, then 500 once the server
// has shown the extensions (docs/protocol.md): kOriginalBatch / kExtendedBatch in src/sync/sync_manager.cpp),
// then pull them all with the largest page the server allows (MAX_PULL_LIMIT) and again with the
// client's page (500). Request bodies are serialised before the clock starts; the pull's wall
// time includes parsing each page here (to check that every event arrives exactly once).
// Then the audit log as the client syncs it: one ≈ 700-byte entry per event, pushed in the same
// chunks, pulled in one request (the client sends no `limit` there).
// The package's validator is injected with a timer around it, so the table splits the push's
// server CPU into the validator's share (wasm, the largest server cost measured) and the rest.
// --profile DIR runs the server under `node --cpu-prof` and writes its .cpuprofile there.
import { fork, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createForm } from './lib/data.mjs';
import { login, startReferenceServer } from './lib/server.mjs';
import { MAX_PULL_LIMIT } from '../web/server/routes.js';
import { loadPackageValidator } from '../web/server/validation.js';

const SELF = fileURLToPath(import.meta.url);

// --- parent: the client --------------------------------------------------------------------------
function opt(name, fallback) {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return fallback;
  return argv[i].includes('=') ? argv[i].slice(name.length + 1) : argv[i + 1];
}

function startChild(profileDir) {
  const execArgv = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = fork(SELF, ['--child'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies = [];
  const waiters = [];
  child.on('message', (m) => (waiters.length ? waiters.shift()(m) : replies.push(m)));
  const next = () => new Promise((resolve) => (replies.length ? resolve(replies.shift()) : waiters.push(resolve)));
  return {
    child,
    next,
    async cpuMs() {
      child.send('cpu');
      const { cpu, validatorMs, maxRssKB } = await next();
      return { ms: (cpu.user + cpu.system) / 1000, validatorMs, maxRssKB };
    },
    close() {
      return new Promise((resolve) => {
        child.once('exit', resolve);
        child.send('close');
      });
    },
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(url, { method = 'GET', token, body, via = agent }) {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = body.length;
    }
    const req = http.request(url, { method, headers, agent: via }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(300_000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

// The client's chunking: `first` events, then `chunk` at a time.
function chunkSizes(n, first, chunk) {
  const sizes = [];
  for (let done = 0; done < n; ) {
    const k = Math.min(n - done, done === 0 ? first : chunk);
    sizes.push(k);
    done += k;
  }
  return sizes;
}

async function push(url, token, n, tag, sizes, randomGuids) {
  // Serialised up front: the client's cost is not the server's.
  const bodies = [];
  let i = 0;
  for (const k of sizes) {
    const events = [];
    for (let j = 0; j < k; j++, i++) {
      const form = createForm(tag, i);
      if (randomGuids) form.guid = randomUUID();
      events.push({ ...form, syncLevel: 0 });
    }
    bodies.push(Buffer.from(JSON.stringify({ events, configId: 'default' })));
  }
  const bytes = bodies.reduce((a, b) => a + b.length, 0);
  const t0 = performance.now();
  let accepted = 0;
  for (const body of bodies) {
    const r = await request(`${url}/api/sync/push`, { method: 'POST', token, body });
    const json = JSON.parse(r.text);
    if (r.status !== 200 || json.status !== 'success' || json.rejected.length) {
      throw new Error(`push failed: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    }
    accepted += json.accepted.length;
  }
  const wallMs = performance.now() - t0;
  if (accepted !== n) throw new Error(`push: ${accepted} accepted, expected ${n}`);
  return { requests: bodies.length, wallMs, bytes };
}

// JSON with keys sorted at every level, as the C++ client (nlohmann::json) sends it.
function sortedKeys(v) {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys(v[k])]));
}

// The audit entry the engine records for a create-individual form (≈ 700 bytes).
function auditEntryFor(form, randomGuids, i) {
  return sortedKeys({
    guid: randomGuids ? randomUUID() : `a0d17000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    timestamp: form.timestamp,
    userId: form.userId,
    action: form.type,
    eventGuid: form.guid,
    entityGuid: form.entityGuid,
    changes: { data: form.data, guid: form.entityGuid, name: form.data.name, type: 'individual' },
    signature: '',
  });
}

// The client pushes its audit log in chunks of its push chunk size (src/sync/sync_manager.cpp
// pushAuditLogs) once the server has shown the extensions, i.e. `chunk` from the start.
async function pushAudit(url, token, n, tag, chunk, randomGuids) {
  const bodies = [];
  for (let i = 0; i < n; i += chunk) {
    const auditLogs = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) auditLogs.push(auditEntryFor(createForm(tag, j), randomGuids, j));
    bodies.push(Buffer.from(JSON.stringify({ auditLogs, configId: 'default' })));
  }
  const bytes = bodies.reduce((a, b) => a + b.length, 0);
  const t0 = performance.now();
  let accepted = 0;
  for (const body of bodies) {
    const r = await request(`${url}/api/sync/push/audit-logs`, { method: 'POST', token, body });
    const json = JSON.parse(r.text);
    if (r.status !== 200 || json.status !== 'success' || json.rejected.length) {
      throw new Error(`audit push failed: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    }
    accepted += json.accepted.length;
  }
  const wallMs = performance.now() - t0;
  if (accepted !== n) throw new Error(`audit push: ${accepted} accepted, expected ${n}`);
  return { requests: bodies.length, wallMs, bytes };
}

// The client's audit pull: one request without `limit` (the server's default page).
async function pullAudit(url, token, n) {
  const t0 = performance.now();
  const r = await request(`${url}/api/sync/pull/audit-logs?since=&configId=default`, { token });
  if (r.status !== 200) throw new Error(`audit pull failed: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  const entries = JSON.parse(r.text);
  const wallMs = performance.now() - t0;
  if (entries.length !== n) throw new Error(`audit pull: ${entries.length} entries, expected ${n}`);
  return { requests: 1, wallMs, bytes: Buffer.byteLength(r.text) };
}

async function pull(url, token, n, limit) {
  const t0 = performance.now();
  let since = '';
  let requests = 0;
  let count = 0;
  let bytes = 0;
  const seen = new Set();
  for (;;) {
    const q = new URLSearchParams({ since, configId: 'default', limit: String(limit) });
    const r = await request(`${url}/api/sync/pull?${q}`, { token });
    requests++;
    bytes += Buffer.byteLength(r.text);
    if (r.status !== 200) throw new Error(`pull failed: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    const page = JSON.parse(r.text);
    for (const e of page.events) seen.add(e.guid);
    count += page.events.length;
    since = page.cursor;
    if (page.nextCursor === null) break;
    if (requests > n / limit + 10) throw new Error('pull: too many pages');
  }
  const wallMs = performance.now() - t0;
  if (count !== n || seen.size !== n) throw new Error(`pull: ${count} events (${seen.size} distinct), expected ${n}`);
  return { requests, wallMs, bytes };
}

const fmt = (v, d = 0) => Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main() {
  const sizes = String(opt('--sizes', '10000,100000')).split(',').map(Number);
  const first = Number(opt('--first-chunk', 10));
  const chunk = Number(opt('--chunk', 500));
  const pullLimit = Number(opt('--pull-limit', MAX_PULL_LIMIT));
  const profileDir = opt('--profile', null);
  const jsonOut = opt('--json', null);
  // bench/lib/data.mjs makes ordered guids (as the cycle benchmark submits); the library makes
  // random UUID v4s, which land all over the server's guid index.
  const randomGuids = opt('--guids', 'ordered') === 'random';
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const results = [];
  const lines = [
    `Server benchmark — ${new Date().toISOString()}, Node ${process.version}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' / ')}`,
    '',
    `Push chunks: ${first} then ${chunk} events${first === 10 && chunk === 500 ? " (the C++ client's)" : ''}, ${randomGuids ? 'random UUID' : 'ordered'} guids; ` +
      `pull pages: ${pullLimit}${pullLimit === MAX_PULL_LIMIT ? ' (server maximum)' : ''}${pullLimit !== 500 ? " and 500 (the client's)" : ''}.`,
    '',
    '| N | phase | requests | MB | wall ms | server CPU ms | of which in the validator | server CPU ms without it | events/s (wall) | events per server CPU-s |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const n of sizes) {
    const srv = startChild(profileDir);
    const { url, validatorLoadCpuMs } = await srv.next();
    try {
      const token = await login(url);
      const tag = 0x3000;
      const phases = [];
      const measure = async (phase, fn) => {
        const c0 = await srv.cpuMs();
        const r = await fn();
        const c1 = await srv.cpuMs();
        phases.push({ phase, ...r, cpuMs: c1.ms - c0.ms, validatorMs: c1.validatorMs - c0.validatorMs, maxRssMB: c1.maxRssKB / 1024 });
        process.stderr.write(`server_bench: N=${n} ${phase}: ${fmt(r.wallMs)} ms wall, ${fmt(c1.ms - c0.ms)} ms server CPU\n`);
      };
      await measure('push', () => push(url, token, n, tag, chunkSizes(n, first, chunk), randomGuids));
      await measure(`pull (limit ${pullLimit})`, () => pull(url, token, n, pullLimit));
      if (pullLimit !== 500) await measure('pull (limit 500)', () => pull(url, token, n, 500));
      await measure('push audit logs', () => pushAudit(url, token, n, tag, chunk, randomGuids));
      await measure('pull audit logs (one request)', () => pullAudit(url, token, n));
      for (const p of phases) {
        lines.push(
          `| ${fmt(n)} | ${p.phase} | ${p.requests} | ${fmt(p.bytes / 1e6, 1)} | ${fmt(p.wallMs)} | ${fmt(p.cpuMs)} | ` +
            `${fmt(p.validatorMs)} | ${fmt(p.cpuMs - p.validatorMs)} | ${fmt(n / (p.wallMs / 1000))} | ${fmt(n / (p.cpuMs / 1000))} |`,
        );
      }
      results.push({ n, phases, validatorLoadCpuMs, serverMaxRssMB: phases.at(-1).maxRssMB });
    } finally {
      await srv.close();
    }
  }
  agent.destroy();
  lines.push(
    '',
    `Server peak RSS: ${results.map((r) => `N=${fmt(r.n)}: ${fmt(r.serverMaxRssMB)} MB`).join(', ')}. ` +
      `Loading the package's validator (wasm), once per server process: ${results.map((r) => `${fmt(r.validatorLoadCpuMs)} ms CPU`).join(', ')}.`,
  );
  console.log(lines.join('\n'));
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), first, chunk, pullLimit, results }, null, 2));
  if (profileDir) console.log(`\nServer CPU profiles: ${path.resolve(profileDir)}`);
}

// --- child: the server ---------------------------------------------------------------------------
async function runChild() {
  // The package's validator, loaded here and injected (as the server would load it on the first
  // push), wrapped to count the CPU spent in it (process CPU: wall time would count waiting for
  // a core on a loaded machine; a getrusage per call costs about a microsecond).
  const c0 = process.cpuUsage();
  const validate = await loadPackageValidator();
  const loadCpu = process.cpuUsage(c0);
  let validatorMs = 0;
  const timed = (f) => {
    const before = process.cpuUsage();
    try {
      return f();
    } finally {
      const used = process.cpuUsage(before);
      validatorMs += (used.user + used.system) / 1000;
    }
  };
  const validateEvent = (obj) => timed(() => validate(obj));
  // The package's batch validator (one wasm call per slice of a push), timed the same way.
  if (typeof validate.validateBatch === 'function') validateEvent.validateBatch = (list) => timed(() => validate.validateBatch(list));
  const s = await startReferenceServer({ label: 'server-bench', serverOptions: { validateEvent } });
  process.on('disconnect', () => process.exit(1)); // the parent died: do not linger
  process.on('message', async (m) => {
    if (m === 'cpu') process.send({ cpu: process.cpuUsage(), validatorMs, maxRssKB: process.resourceUsage().maxRSS });
    else if (m === 'close') {
      await s.close();
      process.exit(0); // --cpu-prof writes its profile at exit
    }
  });
  process.send({ url: s.url, validatorLoadCpuMs: (loadCpu.user + loadCpu.system) / 1000 });
}

// --- scale-out -------------------------------------------------------------------------------------
const ROOT = path.resolve(path.dirname(SELF), '..');
const scaleAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const CLI = path.join(ROOT, 'web', 'server', 'cli.js');

function startProcess(args, env) {
  const child = spawn(process.execPath, [CLI, '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
      if (out.length > 1e6) out = out.slice(-1000); // access logs: keep memory bounded
    });
    exited.then(() => reject(new Error('server process exited')));
  });
  return { ready, stop: () => (child.kill('SIGTERM'), exited) };
}

async function pgDatabase(name) {
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: process.env.DC_TEST_PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(process.env.DC_TEST_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.href;
}

async function scaleRun({ backend, processes, seconds, clients, batch }) {
  const dataDir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'dc-scale-'));
  const args = ['--data', dataDir, '--seed-demo'];
  if (backend === 'postgres') args.push('--database', await pgDatabase(`dc_bench_${processes}_${Date.now()}`));
  const procs = Array.from({ length: processes }, () => startProcess(args, {}));
  try {
    const urls = await Promise.all(procs.map((p) => p.ready));
    const token = await login(urls[0]);
    let pushed = 0;
    let pulls = 0;
    let errors = 0;
    const sent = new Set();
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const url = urls[c % urls.length];
        let cursor = '';
        let round = 0;
        while (performance.now() < deadline) {
          const events = Array.from({ length: batch }, (_, i) => ({
            guid: randomUUID(),
            entityGuid: randomUUID(),
            type: 'create-individual',
            data: { name: `P ${c}.${round}.${i}`, age: i % 90, village: 'Kisumu' },
            timestamp: new Date(Date.UTC(2024, 0, 1) + round * batch + i).toISOString(),
            userId: `bench-${c}`,
          }));
          round++;
          const r = await request(`${url}/api/sync/push`, { method: 'POST', token, via: scaleAgent, body: Buffer.from(JSON.stringify({ configId: 'default', events })) });
          if (r.status !== 200 || JSON.parse(r.text).accepted.length !== batch) {
            errors++;
            continue;
          }
          pushed += batch;
          for (const e of events) sent.add(e.guid);
          for (let page = 0; page < 100; page++) {
            const q = await request(`${url}/api/sync/pull?configId=default&limit=1000&since=${encodeURIComponent(cursor)}`, { token, via: scaleAgent });
            pulls++;
            if (q.status !== 200) {
              errors++;
              break;
            }
            const j = JSON.parse(q.text);
            cursor = j.cursor;
            if (j.nextCursor === null) break;
          }
        }
      }),
    );
    const wall = (performance.now() - started) / 1000;
    // Every pushed event is stored exactly once.
    let stored = 0;
    const guids = new Set();
    for (let cursor = '', more = true; more; ) {
      const q = JSON.parse((await request(`${urls[0]}/api/sync/pull?configId=default&limit=1000&since=${cursor}`, { token, via: scaleAgent })).text);
      for (const e of q.events) guids.add(e.guid);
      stored += q.events.length;
      cursor = q.cursor;
      more = q.nextCursor !== null;
    }
    const complete = stored === sent.size && guids.size === stored && [...sent].every((g) => guids.has(g));
    return { backend, processes, pushed, pulls, errors, wall, eventsPerSecond: pushed / wall, pullsPerSecond: pulls / wall, complete };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function scaleMain() {
  if (!process.env.DC_TEST_PG_ADMIN_URL) {
    // Re-run inside a private, durable PostgreSQL cluster.
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'with-postgres.sh'), '--durable', process.execPath, SELF, ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  const seconds = Number(opt('--seconds', 8));
  const clients = Number(opt('--clients', 16));
  const batch = Number(opt('--batch', 100));
  const counts = String(opt('--processes', '1,2,4')).split(',').map(Number);
  const os = await import('node:os');
  const runs = [{ backend: 'sqlite', processes: 1 }, ...counts.map((processes) => ({ backend: 'postgres', processes }))];
  const results = [];
  for (const run of runs) {
    process.stderr.write(`server_bench: ${run.backend} x ${run.processes} ...\n`);
    results.push(await scaleRun({ ...run, seconds, clients, batch }));
  }
  agent.destroy();
  scaleAgent.destroy();
  const lines = [
    `Server scale-out benchmark — ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}`,
    '',
    `${clients} concurrent clients for ${seconds} s each, each pushing ${batch} new events then pulling (limit 1000) to catch up; one tenant. ` +
      'PostgreSQL with fsync on; SQLite with synchronous=FULL. Clients, server processes and PostgreSQL share this machine.',
    '',
    '| storage | processes | events pushed | events/s pushed | pull requests | pulls/s | errors | every event stored once |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${r.processes} | ${fmt(r.pushed)} | ${fmt(r.eventsPerSecond)} | ${fmt(r.pulls)} | ${fmt(r.pullsPerSecond)} | ${r.errors} | ${r.complete ? 'yes' : 'NO'} |`,
    ),
  ];
  console.log(lines.join('\n'));
  if (results.some((r) => !r.complete || r.errors)) process.exitCode = 1;
}

if (process.argv[2] === '--child') await runChild();
else if (process.argv.includes('--cycle')) await main();
else await scaleMain();
