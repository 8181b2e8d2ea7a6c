// PostgreSQL back-end (the `pg` client with a connection pool): any number of server processes
// on one database. The interface is described in db.js.
//
// Lossless cursors: every tenant and log has a row in log_heads holding its last position. A push
// locks that row (SELECT … FOR UPDATE) inside its transaction, numbers its new entries after it,
// and moves it on before committing, so positions of one tenant are handed out and committed
// strictly one transaction after the other: commit order is position order. A pull reads the
// head and the rows after the cursor up to it in one statement (one snapshot), so it never returns
// position n+1 while n is still uncommitted. See docs/server.md, 'Cursors'.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { LOGS, activeHooks, normaliseEmail, planAppend } from './db.js';
import { maxEntryBytes, takeWithinBudget } from './page-budget.js';

// The event log and the audit log have the same columns. The primary key makes a pull an index
// range scan; the unique guid makes push idempotency one index probe per guid. Part of migration
// 1: a later schema change is a new migration (ALTER TABLE), never an edit here.
const logTable = (name) => `CREATE TABLE ${name} (
     config_id    TEXT NOT NULL REFERENCES tenants(config_id),
     seq          BIGINT NOT NULL,
     guid         TEXT NOT NULL,
     timestamp    TEXT NOT NULL,
     ts_ms        BIGINT,
     body         TEXT NOT NULL,
     content_hash TEXT NOT NULL,
     pushed_by    TEXT,
     received_at  TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (config_id, seq),
     UNIQUE (config_id, guid)
   );`;

// Each entry takes the schema from version i to i+1. Never edit what an applied migration does.
const MIGRATIONS = [
  `CREATE TABLE tenants (
     config_id  TEXT PRIMARY KEY,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE users (
     id            TEXT PRIMARY KEY,
     email         TEXT NOT NULL UNIQUE,        -- unique index: login is O(log n)
     password_hash TEXT NOT NULL,
     config_ids    JSONB NOT NULL,
     token_version INTEGER NOT NULL DEFAULT 0,  -- bumped on a password change: revokes tokens
     created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE log_heads (
     config_id TEXT NOT NULL REFERENCES tenants(config_id),
     log       TEXT NOT NULL,
     last_seq  BIGINT NOT NULL DEFAULT 0,
     PRIMARY KEY (config_id, log)
   );
   ${logTable('events')}
   ${logTable('audit_logs')}
   CREATE TABLE login_limits (
     key           TEXT PRIMARY KEY,
     count         INTEGER NOT NULL,
     first_at      BIGINT NOT NULL,
     last_at       BIGINT NOT NULL,
     blocked_until BIGINT NOT NULL
   );
   CREATE TABLE settings (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

// Serialises concurrent migrations of processes starting together (any constant will do).
const MIGRATION_LOCK = 4242013;
const INSERT_CHUNK = 250;

// BIGINT columns come back as strings by default; ours are positions and ms timestamps, far below
// 2^53.
const INT8 = 20;
const types = {
  getTypeParser(oid, format) {
    if (oid === INT8) return (v) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

// PostgreSQL text cannot hold U+0000, which JSON strings (guids, audit timestamps, emails in
// limiter keys) can. Key columns therefore store this injective escape of the value (\ -> \\,
// NUL -> \0); the entry's body keeps the exact text as JSON escapes. Values without either
// character are stored unchanged.
export function pgText(value) {
  const v = String(value);
  return v.includes('\\') || v.includes('\0') ? v.replaceAll('\\', '\\\\').replaceAll('\0', '\\0') : v;
}

// The inverse of pgText.
function pgUntext(value) {
  return value.includes('\\') ? value.replace(/\\(\\|0)/g, (_, c) => (c === '0' ? '\0' : '\\')) : value;
}

export class PgStore {
  static async open(url, options = {}) {
    const store = new PgStore(url, options);
    try {
      store.migrated = await store.migrate();
      await store.addTenant('default');
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  constructor(url, { hooks, logger, poolSize = Number(process.env.DC_DATABASE_POOL_SIZE) || 10 } = {}) {
    this.kind = 'postgres';
    this.hooks = activeHooks(hooks);
    this.inflight = new Set();
    this.pool = new pg.Pool({ connectionString: url, max: poolSize, types, connectionTimeoutMillis: 10000 });
    // An idle client losing its connection (database restart) must not crash the process.
    this.pool.on('error', (err) => logger?.error?.('database connection error', { error: err.message }));
  }

  // Every operation is tracked so that close() can let them finish before ending the pool (a
  // push being committed during a graceful shutdown must still be answered).
  #track(promise) {
    this.inflight.add(promise);
    const done = () => this.inflight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  #query(text, params) {
    if (this.closed) return Promise.reject(new Error('The database is closed'));
    return this.#track(this.pool.query(text, params));
  }

  #tx(fn) {
    if (this.closed) return Promise.reject(new Error('The database is closed'));
    return this.#track(this.#runTx(fn));
  }

  async #runTx(fn) {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async migrate() {
    return this.#tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const { rows } = await c.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
      const from = rows[0].v;
      if (from > MIGRATIONS.length) throw new Error(`Database schema version ${from} is newer than this server (${MIGRATIONS.length})`);
      for (let v = from; v < MIGRATIONS.length; v++) {
        await c.query(MIGRATIONS[v]);
        await c.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v + 1]);
      }
      return { from, to: MIGRATIONS.length };
    });
  }
  async schemaVersion() {
    const { rows } = await this.#query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
    return rows[0].v;
  }
  async ping() {
    await this.#query('SELECT 1');
  }
  async close() {
    if (!this.closed) {
      this.closed = true;
      await Promise.allSettled([...this.inflight]);
      await this.pool.end();
    }
  }

  // --- tenants -------------------------------------------------------------------------------
  async addTenant(configId) {
    if (typeof configId !== 'string' || !configId) throw new Error('configId must be a non-empty string');
    await this.#tx(async (c) => {
      await c.query('INSERT INTO tenants (config_id) VALUES ($1) ON CONFLICT DO NOTHING', [configId]);
      await c.query(
        `INSERT INTO log_heads (config_id, log) VALUES ($1, 'events'), ($1, 'audit_logs') ON CONFLICT DO NOTHING`,
        [configId],
      );
    });
  }
  async hasTenant(configId) {
    const { rowCount } = await this.#query('SELECT 1 FROM tenants WHERE config_id = $1', [configId]);
    return rowCount === 1;
  }
  async listTenants() {
    const { rows } = await this.#query('SELECT config_id FROM tenants ORDER BY config_id');
    return rows.map((r) => r.config_id);
  }

  // --- users ---------------------------------------------------------------------------------
  async getUserByEmail(email) {
    const { rows } = await this.#query(
      'SELECT id, email, password_hash, config_ids, token_version FROM users WHERE email = $1',
      [pgText(normaliseEmail(email))],
    );
    const r = rows[0];
    return r && { id: r.id, email: r.email, passwordHash: r.password_hash, configIds: r.config_ids, tokenVersion: r.token_version };
  }
  async getUserById(id) {
    const { rows } = await this.#query('SELECT id, email, config_ids, token_version FROM users WHERE id = $1', [id]);
    const r = rows[0];
    return r && { id: r.id, email: r.email, configIds: r.config_ids, tokenVersion: r.token_version };
  }
  async #checkTenants(configIds) {
    for (const c of configIds) {
      if (!(await this.hasTenant(c))) throw new Error(`Unknown configId: ${c} (add the tenant first)`);
    }
  }
  async upsertUser(email, passwordHash, configIds) {
    await this.#checkTenants(configIds);
    const { rows } = await this.#query(
      `INSERT INTO users (id, email, password_hash, config_ids) VALUES ($1, $2, $3, $4)
       ON CONFLICT (email) DO UPDATE SET config_ids = excluded.config_ids, password_hash = excluded.password_hash,
         token_version = users.token_version + CASE WHEN users.password_hash <> excluded.password_hash THEN 1 ELSE 0 END
       RETURNING id`,
      [randomUUID(), pgText(normaliseEmail(email)), passwordHash, JSON.stringify(configIds)],
    );
    return rows[0].id;
  }
  async createUserIfAbsent(email, passwordHash, configIds) {
    await this.#checkTenants(configIds);
    const id = randomUUID();
    const { rowCount } = await this.#query(
      'INSERT INTO users (id, email, password_hash, config_ids) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING',
      [id, pgText(normaliseEmail(email)), passwordHash, JSON.stringify(configIds)],
    );
    return { id: rowCount ? id : (await this.getUserByEmail(email)).id, created: rowCount === 1 };
  }

  // --- event and audit logs ------------------------------------------------------------------
  async append(logName, configId, items, pushedBy = null) {
    const table = LOGS[logName]; // one of two constants, never input
    return this.#tx(async (c) => {
      // The per-tenant position lock, held until COMMIT (see the top of this file).
      const head = await c.query('SELECT last_seq FROM log_heads WHERE config_id = $1 AND log = $2 FOR UPDATE', [configId, table]);
      if (!head.rowCount) throw new Error(`Unknown configId: ${configId}`);
      const lastSeq = head.rows[0].last_seq;
      const keyed = items.map((i) => ({ ...i, guid: pgText(i.guid), timestamp: pgText(i.timestamp) }));
      const existing = await c.query(`SELECT guid, content_hash FROM ${table} WHERE config_id = $1 AND guid = ANY($2::text[])`, [
        configId,
        keyed.map((i) => i.guid),
      ]);
      const { fresh, outcomes } = planAppend(keyed, existing.rows.map((r) => [r.guid, r.content_hash]));
      // In statements of INSERT_CHUNK rows: serialising the parameters is synchronous work, and
      // between statements other requests get the event loop.
      for (let from = 0; from < fresh.length; from += INSERT_CHUNK) {
        const chunk = fresh.slice(from, from + INSERT_CHUNK);
        await c.query(
          `INSERT INTO ${table} (config_id, seq, guid, timestamp, ts_ms, body, content_hash, pushed_by, received_at)
           SELECT $1, $2::bigint + n, guid, ts, ts_ms, body, hash, $3, now()
           FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[]) WITH ORDINALITY AS t(guid, ts, ts_ms, body, hash, n)`,
          [
            configId,
            lastSeq + from,
            pushedBy,
            chunk.map((i) => i.guid),
            chunk.map((i) => i.timestamp),
            chunk.map((i) => i.tsMs),
            chunk.map((i) => i.body),
            chunk.map((i) => i.hash),
          ],
        );
      }
      if (fresh.length) {
        await c.query('UPDATE log_heads SET last_seq = $3 WHERE config_id = $1 AND log = $2', [configId, table, lastSeq + fresh.length]);
      }
      if (this.hooks.beforeCommit) {
        await this.hooks.beforeCommit({ logName, configId, firstSeq: lastSeq + 1, lastSeq: lastSeq + fresh.length, guids: fresh.map((i) => i.guid) });
      }
      return outcomes;
    });
  }

  async page(logName, configId, { afterSeq, minTsMs, limit, maxBytes }) {
    const table = LOGS[logName];
    const timeFilter = minTsMs === undefined ? '' : 'AND ts_ms > $5';
    const params = [configId, table, afterSeq, limit + 1];
    if (minTsMs !== undefined) params.push(minTsMs);
    // With a byte budget (docs/protocol.md, 'Response size') the rows carry their size, a body
    // only when it can be sent as itself, and are cut where the bodies before them already fill
    // the budget, so neither the database nor this process reads much past it; the exact cut
    // (placeholders included) is takeWithinBudget's.
    let select = 'SELECT seq, body';
    let rowsFrom = `${table} WHERE config_id = $1 AND seq > $3 AND seq <= h.last_seq ${timeFilter} ORDER BY seq LIMIT $4`;
    if (maxBytes !== undefined) {
      params.push(maxEntryBytes(maxBytes), maxBytes);
      const cap = `$${params.length - 1}`;
      const budget = `$${params.length}`;
      select = `SELECT seq, guid, timestamp, size, CASE WHEN size <= ${cap} THEN body END AS body, total`;
      rowsFrom = `(SELECT *, COUNT(*) OVER () AS total,
                          COALESCE(SUM(CASE WHEN size <= ${cap} THEN size ELSE 0 END)
                                   OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                   FROM (SELECT seq, guid, timestamp, body, octet_length(body) AS size FROM ${rowsFrom}) l) w
                  WHERE before < ${budget} ORDER BY seq`;
    }
    // One statement, one snapshot: the head bounds the rows (a visibility watermark), and with a
    // time filter the count of what is left comes from the same snapshot.
    const { rows } = await this.#query(
      `WITH h AS (SELECT last_seq FROM log_heads WHERE config_id = $1 AND log = $2)
       SELECT h.last_seq AS max_seq, p.*,
              ${minTsMs === undefined ? 'NULL::bigint' : `(SELECT COUNT(*) FROM ${table} WHERE config_id = $1 AND seq > $3 AND seq <= h.last_seq ${timeFilter})`} AS matching
       FROM h LEFT JOIN LATERAL (${select} FROM ${rowsFrom}) p ON true`,
      params,
    );
    const maxSeq = rows.length ? rows[0].max_seq : 0;
    const matching = rows.length ? rows[0].matching : 0;
    const found = rows.filter((r) => r.seq !== null);
    let page;
    let more;
    if (maxBytes === undefined) {
      page = found.map((r) => ({ seq: r.seq, body: Buffer.from(r.body, 'utf8') }));
      more = page.length > limit;
      if (more) page.length = limit;
    } else {
      const sized = found.map((r) => ({
        seq: r.seq,
        guid: pgUntext(r.guid),
        timestamp: pgUntext(r.timestamp),
        size: Number(r.size),
        body: r.body === null ? null : Buffer.from(r.body, 'utf8'),
      }));
      ({ rows: page, more } = takeWithinBudget(sized, limit, maxBytes));
      if (found.length && Number(found[0].total) > page.length) more = true;
    }
    const lastSeq = page.length ? page[page.length - 1].seq : afterSeq;
    const remaining = minTsMs === undefined ? Math.max(0, maxSeq - lastSeq) : Math.max(0, matching - page.length);
    return { rows: page, more, maxSeq, remaining };
  }

  async count(logName, configId) {
    const { rows } = await this.#query(`SELECT COUNT(*)::int AS n FROM ${LOGS[logName]} WHERE config_id = $1`, [configId]);
    return rows[0].n;
  }

  async entryMeta(logName, configId, guid) {
    const { rows } = await this.#query(`SELECT seq, pushed_by, received_at FROM ${LOGS[logName]} WHERE config_id = $1 AND guid = $2`, [
      configId,
      pgText(guid),
    ]);
    const r = rows[0];
    return r && { seq: r.seq, pushedBy: r.pushed_by, receivedAt: r.received_at.toISOString() };
  }

  // --- login limiter -------------------------------------------------------------------------
  async loginLimit(keys, now, decide) {
    const sorted = keys.map(pgText).sort(); // one lock order for every process: no deadlock
    return this.#tx(async (c) => {
      await c.query(
        `INSERT INTO login_limits (key, count, first_at, last_at, blocked_until)
         SELECT k, 0, $2, $2, 0 FROM unnest($1::text[]) AS k ON CONFLICT DO NOTHING`,
        [sorted, now],
      );
      const { rows } = await c.query(
        'SELECT key, count, first_at, last_at, blocked_until FROM login_limits WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE',
        [sorted],
      );
      const byKey = new Map(rows.map((r) => [r.key, r]));
      const current = new Map(
        keys.map((k) => {
          const r = byKey.get(pgText(k));
          return [k, r && r.count > 0 ? { count: r.count, firstAt: r.first_at, lastAt: r.last_at, blockedUntil: r.blocked_until } : null];
        }),
      );
      const { updates, result } = decide(current, now);
      for (const k of keys) {
        const row = updates.has(k) ? updates.get(k) : current.get(k);
        if (row) {
          await c.query('UPDATE login_limits SET count = $2, first_at = $3, last_at = $4, blocked_until = $5 WHERE key = $1', [
            pgText(k),
            row.count,
            row.firstAt,
            row.lastAt,
            row.blockedUntil,
          ]);
        } else {
          await c.query('DELETE FROM login_limits WHERE key = $1', [pgText(k)]);
        }
      }
      return result;
    });
  }

  // --- JWT secret ----------------------------------------------------------------------------
  // Generated by whichever process starts first; every process on this database reads the same.
  async loadOrCreateSecret() {
    await this.#query(`INSERT INTO settings (key, value) VALUES ('jwt_secret', $1) ON CONFLICT DO NOTHING`, [
      randomBytes(48).toString('base64url'),
    ]);
    const { rows } = await this.#query(`SELECT value FROM settings WHERE key = 'jwt_secret'`);
    return rows[0].value;
  }
}
