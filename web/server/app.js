// The reference sync server (docs/server.md): node:http, SQLite, JWT; serves the demo PWA too.
//
//   const server = createServer({ dataDir });
//   await server.listen();   // -> url
//   ...
//   await server.close();
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from './db.js';
import { RateLimiter, hashPassword, loadOrCreateSecret, secretKey, verifyPassword } from './auth.js';
import { HttpError, sendError, sendJson, splitUrl } from './http.js';
import { createRoutes } from './routes.js';
import { createStaticHandler } from './static.js';
import { ValidatorUnavailableError, loadPackageValidator } from './validation.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const DEFAULTS = Object.freeze({
  dataDir: path.join(REPO_ROOT, '.data', 'server'),
  host: '127.0.0.1',
  port: 8080,
  tokenTtlSeconds: 12 * 60 * 60,
  bodyLimit: 16 * 1024 * 1024,
  seedUser: { email: 'demo@example.org', password: 'demo-password', configIds: ['default'] },
  staticDirs: {
    '/': path.join(REPO_ROOT, 'web', 'app'),
    '/dist/': path.join(REPO_ROOT, 'dist'),
    '/js/': path.join(REPO_ROOT, 'js'),
  },
  loginRateLimit: { windowMs: 15 * 60 * 1000, maxPerEmail: 10, maxPerIp: 50 },
  bcryptRounds: 10,
});

const EXPOSED_HEADERS = 'X-Cursor, X-Next-Cursor, Retry-After';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::']);

function consoleLogger() {
  const line = (level, msg) => `${new Date().toISOString()} ${level} ${msg}`;
  return {
    info: (msg) => console.log(line('info', msg)),
    warn: (msg) => console.warn(line('warn', msg)),
    error: (msg) => console.error(line('error', msg)),
  };
}

const silent = () => {};

function normaliseLogger(logger) {
  if (logger === false || logger === null) return { info: silent, warn: silent, error: silent };
  const l = logger || consoleLogger();
  return { info: l.info?.bind(l) || silent, warn: l.warn?.bind(l) || silent, error: l.error?.bind(l) || silent };
}

/**
 * Options (all optional):
 *  dataDir          folder for the SQLite file and the generated JWT secret
 *  host, port       where to listen (port 0 = ephemeral)
 *  jwtSecret        HS256 secret; default: generated once into dataDir/jwt-secret (mode 0600)
 *  tokenTtlSeconds  token lifetime (default 12 h)
 *  corsOrigins      allowed browser origins (array; "*" = any); default: the server's own origin
 *  seedUser         {email, password, configIds} created or updated at listen(); false = none
 *  tenants          extra configIds to create ("default" always exists)
 *  staticDirs       {urlPrefix: folder}; false = no static files
 *  logger           {info, warn, error}(string); false = silent
 *  validateEvent    (obj) -> {ok, event} | {ok:false, code, message}, sync or async; default: the
 *                   package's, loaded from js/index.js on first push
 *  bodyLimit        max request body bytes (default 16 MB)
 *  loginRateLimit   {windowMs, maxPerEmail, maxPerIp} failed logins per window
 *  bcryptRounds     cost for hashes made by this server (seed user)
 */
export function createServer(options = {}) {
  const opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const logger = normaliseLogger(options.logger === undefined ? undefined : options.logger);
  const dataDir = path.resolve(opts.dataDir);
  const store = new Store(dataDir);
  for (const t of opts.tenants || []) store.addTenant(t);

  let validatorPromise = null;
  const ctx = {
    store,
    logger,
    jwtSecret: secretKey(opts.jwtSecret || loadOrCreateSecret(dataDir)),
    tokenTtlSeconds: opts.tokenTtlSeconds,
    bodyLimit: opts.bodyLimit,
    limiters: {
      email: new RateLimiter({ windowMs: opts.loginRateLimit.windowMs, max: opts.loginRateLimit.maxPerEmail }),
      ip: new RateLimiter({ windowMs: opts.loginRateLimit.windowMs, max: opts.loginRateLimit.maxPerIp }),
    },
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
    // Access log: method, path (never the query, headers or body: no token or password), status.
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(`${req.method} ${pathname} ${res.statusCode} ${ms.toFixed(1)}ms`);
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
        logger.error(`${req.method} ${pathname} failed: ${err && err.stack ? err.stack : err}`);
        sendJson(res, 500, { error: 'Internal server error' });
      }
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      logger.error(`response failed: ${err && err.stack ? err.stack : err}`);
      res.destroy();
    });
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

  async function seed() {
    const seedUser = opts.seedUser;
    if (!seedUser) return;
    const configIds = seedUser.configIds || ['default'];
    for (const c of configIds) store.addTenant(c);
    const existing = store.getUserByEmail(seedUser.email);
    // Re-hash only when the configured password changed, so restarts stay fast.
    if (existing && (await verifyPassword(seedUser.password, existing.passwordHash))) {
      store.upsertUser(seedUser.email, existing.passwordHash, configIds);
      return;
    }
    store.upsertUser(seedUser.email, await hashPassword(seedUser.password, opts.bcryptRounds), configIds);
  }

  return {
    db: store,
    server,
    get url() {
      return url;
    },
    async listen() {
      await seed();
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
    // closes the database.
    async close({ graceMs = 5000 } = {}) {
      if (server.listening) {
        await new Promise((resolve) => {
          const timer = setTimeout(() => server.closeAllConnections(), graceMs);
          server.close(() => {
            clearTimeout(timer);
            resolve();
          });
          server.closeIdleConnections();
        });
      }
      store.close();
    },
  };
}
