#!/usr/bin/env node
// `npm run server` (see web/server/README.md and docs/server.md):
//   node web/server/cli.js [--port N] [--host H] [--data DIR | --database URL] [--seed-demo]
//                          [--trust-proxy ADDR,CIDR,...]                      start the server
//   node web/server/cli.js add-user <email> <password> [--config-ids a,b] [--data DIR | --database URL]
//   node web/server/cli.js add-tenant <configId> [--data DIR | --database URL]
//   node web/server/cli.js migrate [--data DIR | --database URL]
// Environment: DC_PORT, DC_HOST, DC_DATA_DIR, DC_DATABASE_URL, DC_JWT_SECRET (>= 32 bytes),
// DC_SEED_DEMO=1, DC_DEMO_EMAIL, DC_DEMO_PASSWORD, DC_TRUST_PROXY, DC_CORS_ORIGINS
// (comma-separated), DC_TOKEN_TTL_SECONDS, DC_MAX_EVENTS_PER_PUSH. Options win over the
// environment.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, createServer, jsonLogger } from './app.js';
import { normaliseEmail, openStore } from './db.js';
import { checkNewPassword, checkSecret, hashPassword } from './auth.js';
import { loadPackageValidator } from './validation.js';

const USAGE = `usage:
  node web/server/cli.js [--port N] [--host H] [--data DIR | --database postgres://...] [--seed-demo]
                         [--trust-proxy 10.0.0.5,10.1.0.0/16]
  node web/server/cli.js add-user <email> <password> [--config-ids default,other] [--data DIR | --database URL]
  node web/server/cli.js add-tenant <configId> [--data DIR | --database URL]
  node web/server/cli.js migrate [--data DIR | --database URL]`;

const BOOLEAN_FLAGS = new Set(['seed-demo']);

function parseArgs(argv) {
  const positional = [];
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') flags.help = true;
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (BOOLEAN_FLAGS.has(a.slice(2))) flags[a.slice(2)] = true;
      else {
        if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
        flags[a.slice(2)] = argv[++i];
      }
    } else positional.push(a);
  }
  return { positional, flags };
}

function parsePort(text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`Invalid port: ${text}`);
  return n;
}

export async function main(argv = process.argv.slice(2), env = process.env) {
  const { positional, flags } = parseArgs(argv);
  if (flags.help) {
    console.log(USAGE);
    return null;
  }
  const dataDir = path.resolve(flags.data || env.DC_DATA_DIR || DEFAULTS.dataDir);
  const databaseUrl = flags.database || env.DC_DATABASE_URL || undefined;
  // Never echo the URL: it may hold the database password.
  const where = databaseUrl ? 'PostgreSQL' : dataDir;
  const list = (text) => (text ? String(text).split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  const [command, ...rest] = positional;
  const withStore = async (fn) => {
    const store = await openStore({ dataDir, databaseUrl });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };

  if (command === 'add-user') {
    const [email, password] = rest;
    if (!email || !password) throw new Error(USAGE);
    checkNewPassword(password);
    const configIds = list(flags['config-ids'] || 'default');
    await withStore(async (store) => {
      const id = await store.upsertUser(email, await hashPassword(password), configIds);
      console.log(`user ${normaliseEmail(email)} (id ${id}) may use: ${configIds.join(', ')}`);
    });
    return null;
  }
  if (command === 'add-tenant') {
    const [configId] = rest;
    if (!configId) throw new Error(USAGE);
    await withStore(async (store) => {
      await store.addTenant(configId);
      console.log(`configId ${configId} exists`);
    });
    return null;
  }
  if (command === 'migrate') {
    // Opening applies the migrations; report what was done.
    await withStore(async (store) => {
      const { from, to } = store.migrated ?? (await store.migrate());
      console.log(from === to ? `schema is at version ${to}; nothing to do` : `schema migrated from version ${from} to ${to}`);
    });
    return null;
  }
  if (command) throw new Error(`Unknown command: ${command}\n${USAGE}`);

  if (env.DC_JWT_SECRET) checkSecret(env.DC_JWT_SECRET, 'DC_JWT_SECRET');
  // Fail at start, not at the first push, when the package's validation is missing.
  const validateEvent = await loadPackageValidator();
  const seedDemo = flags['seed-demo'] === true || env.DC_SEED_DEMO === '1';
  const seedUser = seedDemo && {
    email: env.DC_DEMO_EMAIL || DEFAULTS.seedUser.email,
    password: env.DC_DEMO_PASSWORD || DEFAULTS.seedUser.password,
    configIds: ['default'],
  };
  const logger = jsonLogger();
  const server = createServer({
    dataDir,
    databaseUrl,
    host: flags.host || env.DC_HOST || DEFAULTS.host,
    port: parsePort(flags.port ?? env.DC_PORT ?? DEFAULTS.port),
    jwtSecret: env.DC_JWT_SECRET || undefined,
    tokenTtlSeconds: env.DC_TOKEN_TTL_SECONDS ? Number(env.DC_TOKEN_TTL_SECONDS) : undefined,
    corsOrigins: list(env.DC_CORS_ORIGINS),
    trustProxy: list(flags['trust-proxy'] ?? env.DC_TRUST_PROXY) ?? [],
    maxEntriesPerPush: env.DC_MAX_EVENTS_PER_PUSH ? Number(env.DC_MAX_EVENTS_PER_PUSH) : undefined,
    seedUser,
    validateEvent,
    logger,
  });
  const url = await server.listen();
  const shown = url.replace('//127.0.0.1:', '//localhost:');
  const seeded = server.seeded;
  // The password is shown only when it is the documented default (never one set by an operator).
  const demoLine = !seeded
    ? '  demo user: none (start with --seed-demo, as npm start does, to create it)'
    : `  demo user: ${seeded.email}${seeded.passwordIsDefault ? ` / ${DEFAULTS.seedUser.password}` : ' (password not shown)'}${seeded.created ? '' : ' (existing account, unchanged)'}`;
  // One write, so a process reading our output sees the whole banner at once.
  console.log([`DataCollect sync server listening on ${url}`, `  demo app:  ${shown}/`, demoLine, `  data:      ${where}`].join('\n'));

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    // Stop accepting, finish requests in flight, close the database (pool), then exit.
    logger.info('shutting down', { signal });
    await server.close();
    logger.info('stopped', { signal });
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return server;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
  });
}
