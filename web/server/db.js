// The storage interface of the sync server, and its choice of back-end: SQLite in a data
// directory (the default: `npm start`, tests, small deployments) or PostgreSQL for several server
// processes on one database (`--database postgres://…` / DC_DATABASE_URL). Both implement the
// same asynchronous methods; the routes use nothing else:
//
//   migrate()                           apply pending schema migrations (also done by open)
//   schemaVersion()                     the version applied
//   ping()                              resolves when the database answers (readiness)
//   addTenant(id) / hasTenant(id) / listTenants()
//   getUserByEmail(email) / getUserById(id)   -> {id, email, passwordHash?, configIds, tokenVersion}
//   upsertUser(email, hash, configIds)  create, or change password and grants (a new hash bumps
//                                       tokenVersion, which revokes the user's tokens)
//   createUserIfAbsent(email, hash, configIds) -> {id, created}
//   append(log, configId, items, pushedBy) -> per item 'stored' (new), 'accepted' (the same
//                                       content was already stored) or 'conflict'
//   page(log, configId, {afterSeq, minTsMs, limit}) -> {rows: [{seq, body: Buffer}], more, maxSeq, remaining}
//   count(log, configId) / entryMeta(log, configId, guid) -> {seq, pushedBy, receivedAt}
//   loginLimit(keys, now, decide)       atomic read-modify-write of the login limiter's rows
//   loadOrCreateSecret()                the JWT secret shared by every process on this database
//   close()
//
// Positions (`seq`) are per tenant and log, gap-free, and committed in position order, so a pull
// reading `seq > cursor` never skips an event that commits later (see docs/server.md, 'Cursors').
import { SqliteStore } from './db-sqlite.js';

export const LOGS = Object.freeze({ events: 'events', audit: 'audit_logs' });

export function normaliseEmail(email) {
  return String(email).trim().toLowerCase();
}

export function isPostgresUrl(url) {
  return typeof url === 'string' && /^postgres(ql)?:\/\//i.test(url);
}

// {dataDir} -> SQLite; {databaseUrl: 'postgres://…'} -> PostgreSQL. Migrations are applied.
export async function openStore({ dataDir, databaseUrl, hooks, logger } = {}) {
  if (databaseUrl) {
    if (!isPostgresUrl(databaseUrl)) throw new Error('--database must be a postgres:// or postgresql:// URL');
    const { PgStore } = await import('./db-postgres.js');
    return PgStore.open(databaseUrl, { hooks, logger });
  }
  if (!dataDir) throw new Error('openStore needs a dataDir or a databaseUrl');
  return SqliteStore.open(dataDir, { hooks });
}

// Shared by both back-ends: walks the batch in order; the first occurrence of a new guid is
// stored, a later one in the same batch is compared with it. `stored` maps guid -> content hash
// of what is already in the database.
export function planAppend(items, stored) {
  const seen = new Map(stored);
  const fresh = [];
  const outcomes = items.map((item) => {
    const have = seen.get(item.guid);
    if (have === undefined) {
      seen.set(item.guid, item.hash);
      fresh.push(item);
      return 'stored';
    }
    return have === item.hash ? 'accepted' : 'conflict';
  });
  return { fresh, outcomes };
}

// Test-only hooks (holding a push transaction open to force an interleaving) are honoured only
// when DC_TEST_HOOKS=1, so a production configuration cannot enable them by accident.
export function activeHooks(hooks) {
  return process.env.DC_TEST_HOOKS === '1' && hooks ? hooks : {};
}
