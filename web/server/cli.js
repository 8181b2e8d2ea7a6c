#!/usr/bin/env node
// `npm run server` (see docs/server.md):
//   node web/server/cli.js [--port N] [--host H] [--data DIR]            start the server
//   node web/server/cli.js add-user <email> <password> [--config-ids a,b] [--data DIR]
//   node web/server/cli.js add-tenant <configId> [--data DIR]
// Environment: DC_PORT, DC_HOST, DC_DATA_DIR, DC_JWT_SECRET, DC_DEMO_EMAIL, DC_DEMO_PASSWORD,
// DC_CORS_ORIGINS (comma-separated), DC_TOKEN_TTL_SECONDS. Options win over the environment.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, createServer } from './app.js';
import { Store } from './db.js';
import { hashPassword } from './auth.js';
import { loadPackageValidator } from './validation.js';

const USAGE = `usage:
  node web/server/cli.js [--port N] [--host H] [--data DIR]
  node web/server/cli.js add-user <email> <password> [--config-ids default,other] [--data DIR]
  node web/server/cli.js add-tenant <configId> [--data DIR]`;

function parseArgs(argv) {
  const positional = [];
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') flags.help = true;
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
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
  const [command, ...rest] = positional;

  if (command === 'add-user') {
    const [email, password] = rest;
    if (!email || !password) throw new Error(USAGE);
    const configIds = (flags['config-ids'] || 'default').split(',').map((s) => s.trim()).filter(Boolean);
    const store = new Store(dataDir);
    try {
      const id = store.upsertUser(email, await hashPassword(password), configIds);
      console.log(`user ${Store.normaliseEmail(email)} (id ${id}) may use: ${configIds.join(', ')}`);
    } finally {
      store.close();
    }
    return null;
  }
  if (command === 'add-tenant') {
    const [configId] = rest;
    if (!configId) throw new Error(USAGE);
    const store = new Store(dataDir);
    try {
      store.addTenant(configId);
      console.log(`configId ${configId} exists`);
    } finally {
      store.close();
    }
    return null;
  }
  if (command) throw new Error(`Unknown command: ${command}\n${USAGE}`);

  // Fail at start, not at the first push, when the package's validation is missing.
  const validateEvent = await loadPackageValidator();
  const seedUser = {
    email: env.DC_DEMO_EMAIL || DEFAULTS.seedUser.email,
    password: env.DC_DEMO_PASSWORD || DEFAULTS.seedUser.password,
    configIds: ['default'],
  };
  const server = createServer({
    dataDir,
    host: flags.host || env.DC_HOST || DEFAULTS.host,
    port: parsePort(flags.port ?? env.DC_PORT ?? DEFAULTS.port),
    jwtSecret: env.DC_JWT_SECRET || undefined,
    tokenTtlSeconds: env.DC_TOKEN_TTL_SECONDS ? Number(env.DC_TOKEN_TTL_SECONDS) : undefined,
    corsOrigins: env.DC_CORS_ORIGINS ? env.DC_CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    seedUser,
    validateEvent,
  });
  const url = await server.listen();
  const shown = url.replace('//127.0.0.1:', '//localhost:');
  // One write, so a process reading our output sees the whole banner at once.
  console.log(
    [
      `DataCollect sync server listening on ${url}`,
      `  demo app:  ${shown}/`,
      `  demo user: ${seedUser.email} / ${seedUser.password}`,
      `  data:      ${dataDir}`,
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    await server.close();
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
