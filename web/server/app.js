// The reference sync server: node:http, SQLite or PostgreSQL, JWT; serves the demo PWA too.
//
//   const server = createServer({ dataDir });            // or { databaseUrl: 'postgres://…' }
//   await server.listen();   // -> url (opens the database, applies migrations, seeds if asked)
//   ...
//   await server.close();    // stops accepting, finishes requests in flight, closes the database
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from './db.js';
import { LoginLimiter, checkNewPassword, checkSecret, hashPassword, secretKey, verifyPassword } from './auth.js';
import { HttpError, sendError, sendJson, splitUrl } from './http.js';
import { createMetrics } from './metrics.js';
import { DEFAULT_MAX_ENTRIES_PER_PUSH, createRoutes } from './routes.js';
import { createStaticHandler } from './static.js';
import { ValidatorUnavailableError, loadPackageValidator } from './validation.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const DEFAULTS = Object.freeze({
  dataDir: path.join(REPO_ROOT, '.data', 'server'),
  host: '127.0.0.1',
  port: 8080,
  tokenTtlSeconds: 12 * 60 * 60,
  bodyLimit: 16 * 1024 * 1024,
  // The documented demo account. createServer() (embedding, tests) creates it unless
  // `seedUser: false`; the command line creates it only with --seed-demo (npm start). It is
  // created only when absent: an existing account is never changed.
  seedUser: { email: 'demo@example.org', password: 'demo-password', configIds: ['default'] },
  staticDirs: {
    '/': path.join(REPO_ROOT, 'web', 'app'),
    '/dist/': path.join(REPO_ROOT, 'dist'),
    '/js/': path.join(REPO_ROOT, 'js'),
  },
  loginRateLimit: {},
  bcryptRounds: 10,
  maxEntriesPerPush: DEFAULT_MAX_ENTRIES_PER_PUSH,
  trustProxy: [],
});

const EXPOSED_HEADERS = 'X-Cursor, X-Next-Cursor, X-Remaining, Retry-After';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::']);

// Structured logs: one JSON object per line. Callers pass a message and fields; no caller passes a
// token, a password or a request body (see the test 'no token or password ever reaches the log').
export function jsonLogger(out = process.stdout, err = process.stderr) {
  const write = (stream, level) => (msg, fields) =>
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  return { info: write(out, 'info'), warn: write(err, 'warn'), error: write(err, 'error') };
}

// X-Forwarded-For is believed only from the configured proxies (addresses or CIDR ranges): the
// client is the right-most address of the chain that is not one of them.
export function createAddressResolver(trusted = []) {
  const list = new net.BlockList();
  for (const entry of trusted) {
    const [addr, bits] = String(entry).trim().split('/');
    const type = net.isIPv6(addr) ? 'ipv6' : net.isIPv4(addr) ? 'ipv4' : null;
    if (!type) throw new Error(`Invalid trusted proxy address: ${entry}`);
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  const plain = (a) => (a && a.startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a);
  const isTrusted = (a) => {
    const type = net.isIPv6(a) ? 'ipv6' : net.isIPv4(a) ? 'ipv4' : null;
    return type !== null && list.check(a, type);
  };
  return (req) => {
    let addr = plain(req.socket.remoteAddress) || 'unknown';
    if (!trusted.length || !isTrusted(addr)) return addr;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : header || '').split(',').map((h) => plain(h.trim())).filter(Boolean);
    while (hops.length) {
      const hop = hops.pop();
      if (!net.isIP(hop)) return addr; // garbage in the chain: stop at the last proxy we trust
      addr = hop;
      if (!isTrusted(hop)) return hop;
    }
    return addr;
  };
}

const silent = () => {};

function normaliseLogger(logger) {
  if (logger === false || logger === null) return { info: silent, warn: silent, error: silent };
  const l = logger || jsonLogger();
  return { info: l.info?.bind(l) || silent, warn: l.warn?.bind(l) || silent, error: l.error?.bind(l) || silent };
}

/**
 * Options (all optional):
 *  dataDir          folder for the SQLite file and the generated JWT secret (mode 0700)
 *  databaseUrl      postgres://… : use PostgreSQL instead of SQLite (dataDir is then unused)
 *  host, port       where to listen (port 0 = ephemeral)
 *  jwtSecret        HS256 secret, at least 32 bytes; default: generated once into
 *                   dataDir/jwt-secret (mode 0600), or into the database with PostgreSQL
 *  tokenTtlSeconds  token lifetime (default 12 h)
 *  corsOrigins      allowed browser origins (array; "*" = any); default: the server's own origin
 *  seedUser         {email, password, configIds} created at listen() if absent; false = none
 *  tenants          extra configIds to create ("default" always exists)
 *  staticDirs       {urlPrefix: folder}; false = no static files
 *  logger           {info, warn, error}(string); false = silent
 *  validateEvent    (obj) -> {ok, event} | {ok:false, code, message}, sync or async; default: the
 *                   package's, loaded from js/index.js on first push
 *  bodyLimit        max request body bytes (default 16 MB)
 *  maxEntriesPerPush  max events (or audit entries) per push request (default 10,000; more: 413)
 *  loginRateLimit   {windowMs, maxPerEmail, maxPerIp, baseDelayMs, maxDelayMs} (see auth.js)
 *  trustProxy       addresses / CIDR ranges of reverse proxies whose X-Forwarded-For is believed
 *  bcryptRounds     cost for hashes made by this server (seed user)
 *  hooks            test-only ({beforeCommit}), honoured only with DC_TEST_HOOKS=1
 */
export function createServer(options = {}) {
  const opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const logger = normaliseLogger(options.logger === undefined ? undefined : options.logger);
  const dataDir = path.resolve(opts.dataDir);
  if (opts.jwtSecret) checkSecret(opts.jwtSecret);
  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics !== false });

  let validatorPromise = null;
  const ctx = {
    store: null, // opened by listen()
    logger,
    metrics,
    jwtSecret: null,
    stopping: false,
    tokenTtlSeconds: opts.tokenTtlSeconds,
    bodyLimit: opts.bodyLimit,
    maxEntriesPerPush: opts.maxEntriesPerPush,
    loginLimiter: null,
    clientAddress: createAddressResolver(opts.trustProxy || []),
    async getValidator() {
      if (opts.validateEvent) return opts.validateEvent;
      validatorPromise ??= loadPackageValidator();
      try {
        return await validatorPromise;
      } catch (e) {
        validatorPromise = null; // retry on the next push: the package may have been built since
        if (e instanceof ValidatorUnavailableError) {
          logger.error(e.message);
          throw new HttpError(503, 'Event validation is unavailable on this server');
        }
        throw e;
      }
    },
  };
  const routes = createRoutes(ctx);
  const serveStatic = createStaticHandler(opts.staticDirs);

  let url = null;
  let ownOrigins = [];

  function corsHeadersFor(origin) {
    const allowed = opts.corsOrigins || ownOrigins;
    if (!allowed.includes('*') && !allowed.includes(origin)) return null;
    return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin', 'Access-Control-Expose-Headers': EXPOSED_HEADERS };
  }

  async function handle(req, res) {
    const started = process.hrtime.bigint();
    let pathname = '?';
    let routeLabel = 'other';
    // Access log: method, path (never the query, headers or body: no token or password), status.
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      metrics.requests.inc({ route: routeLabel, method: req.method, status: String(res.statusCode) });
      logger.info('request', { method: req.method, path: pathname, status: res.statusCode, ms: Number(ms.toFixed(1)), address: ctx.clientAddress(req) });
      // Shutting down: a keep-alive connection whose last request just finished is closed now
      // rather than when the grace period ends.
      if (ctx.stopping) setImmediate(() => server.closeIdleConnections());
    });
    try {
      const parts = splitUrl(req.url || '/');
      pathname = parts.pathname;
      const origin = req.headers.origin;
      if (origin) {
        const cors = corsHeadersFor(origin);
        if (cors) for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
        else if (req.method === 'OPTIONS') throw new HttpError(403, 'Origin not allowed');
        // Other requests from foreign origins are answered without CORS headers: the browser
        // then withholds the response from the page.
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          Allow: 'GET, HEAD, POST, OPTIONS',
          ...(origin && {
            'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
            'Access-Control-Allow-Headers': 'Authorization, Content-Type',
            'Access-Control-Max-Age': '600',
          }),
        });
        res.end();
        return;
      }
      const route = routes.get(pathname);
      if (route) routeLabel = pathname; // a fixed set: bounded label values
      else if (!pathname.startsWith('/api/')) routeLabel = 'static';
      if (route) {
        const handler = route[req.method];
        if (!handler) {
          throw new HttpError(405, `Method ${req.method} not allowed on ${pathname}`, {
            headers: { Allow: Object.keys(route).join(', ') },
          });
        }
        await handler(req, res, parts.query);
        return;
      }
      if (!pathname.startsWith('/api/') && serveStatic(req, res, pathname)) return;
      throw new HttpError(404, 'Not found');
    } catch (err) {
      if (err instanceof HttpError) {
        sendError(res, err);
      } else {
        // Internals go to the log only; the client gets a fixed message.
        logger.error('request failed', { method: req.method, path: pathname, error: err && err.stack ? err.stack : String(err) });
        sendJson(res, 500, { error: 'Internal server error' });
      }
    }
  }

  // Requests being handled: close() waits for them (they may hold a database transaction).
  const inFlight = new Set();
  const server = http.createServer((req, res) => {
    const p = handle(req, res)
      .catch((err) => {
        logger.error('response failed', { error: err && err.stack ? err.stack : String(err) });
        res.destroy();
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  });
  server.requestTimeout = 120_000;
  // Malformed HTTP never reaches handle(); answer it in JSON as well.
  server.on('clientError', (err, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({ error: status === 431 ? 'Request headers too large' : 'Bad request' });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  // Creates the seed account only when it does not exist; never changes an existing one (an
  // operator may have changed its password). Returns what happened, for the start banner.
  async function seed(store) {
    const seedUser = opts.seedUser;
    if (!seedUser) return null;
    const configIds = seedUser.configIds || ['default'];
    for (const c of configIds) await store.addTenant(c);
    const existing = await store.getUserByEmail(seedUser.email);
    if (existing) {
      return { email: existing.email, created: false, passwordIsDefault: await verifyPassword(DEFAULTS.seedUser.password, existing.passwordHash) };
    }
    checkNewPassword(seedUser.password);
    const { created } = await store.createUserIfAbsent(seedUser.email, await hashPassword(seedUser.password, opts.bcryptRounds), configIds);
    return { email: seedUser.email, created, passwordIsDefault: seedUser.password === DEFAULTS.seedUser.password };
  }

  let opening = null;
  async function open() {
    const store = await openStore({ dataDir, databaseUrl: opts.databaseUrl, hooks: opts.hooks, logger });
    try {
      for (const t of opts.tenants || []) await store.addTenant(t);
      ctx.store = store;
      ctx.jwtSecret = secretKey(checkSecret(opts.jwtSecret || (await store.loadOrCreateSecret()), 'The stored JWT secret'));
      ctx.loginLimiter = new LoginLimiter(store, opts.loginRateLimit);
      ctx.seeded = await seed(store);
    } catch (e) {
      ctx.store = null;
      await store.close();
      throw e;
    }
  }

  return {
    server,
    metrics,
    // The store (db.js interface); available once listen() (or ready()) has resolved.
    get db() {
      return ctx.store;
    },
    get url() {
      return url;
    },
    // {email, created, passwordIsDefault} of the seed account, or null when none is seeded.
    get seeded() {
      return ctx.seeded ?? null;
    },
    // Opens the database (migrations, tenants, secret, seed) without listening.
    ready() {
      opening ??= open().catch((e) => {
        opening = null;
        throw e;
      });
      return opening;
    },
    async listen() {
      await this.ready();
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const { port } = server.address();
      const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      url = `http://${hostForUrl}:${port}`;
      ownOrigins = [url];
      if (LOOPBACK.has(opts.host)) {
        ownOrigins.push(`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`);
      }
      return url;
    },
    // Stops accepting connections, lets requests in flight finish (bounded by `graceMs`), then
    // closes the database (the pool, with PostgreSQL).
    async close({ graceMs = 10000 } = {}) {
      ctx.stopping = true;
      if (server.listening) {
        await new Promise((resolve) => {
          const timer = setTimeout(() => server.closeAllConnections(), graceMs);
          server.close(() => {
            clearTimeout(timer);
            resolve();
          });
          server.closeIdleConnections();
          // Keep-alive connections that become idle after their request are closed too.
          server.on('request', (req, res) => res.setHeader('Connection', 'close'));
        });
      }
      await Promise.allSettled([...inFlight]);
      if (opening) await opening.catch(() => {});
      await ctx.store?.close();
    },
  };
}
