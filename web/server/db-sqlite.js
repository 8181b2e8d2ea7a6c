// SQLite back-end (better-sqlite3): one file under the data directory, WAL mode, prepared
// statements only. The interface is described in db.js; methods are async only to match the
// PostgreSQL back-end (better-sqlite3 itself is synchronous).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { LOGS, activeHooks, normaliseEmail } from './db.js';
import { maxEntryBytes, takeWithinBudget } from './page-budget.js';

export const DB_FILE = 'sync-server.sqlite';
export const SECRET_FILE = 'jwt-secret';

// Each entry takes the schema from version i to i+1 (PRAGMA user_version). Never edit an applied
// migration; append a new one.
const MIGRATIONS = [
  // 1: the original schema (databases made before versioning already have it: IF NOT EXISTS).
  `CREATE TABLE IF NOT EXISTS tenants (
     config_id  TEXT PRIMARY KEY,
     created_at TEXT NOT NULL
   );
   CREATE TABLE IF NOT EXISTS users (
     id            TEXT PRIMARY KEY,
     email         TEXT NOT NULL UNIQUE,   -- the unique index makes login O(log n)
     password_hash TEXT NOT NULL,
     config_ids    TEXT NOT NULL,          -- JSON array of the configIds this user may use
     created_at    TEXT NOT NULL
   );
   CREATE TABLE IF NOT EXISTS events (
     config_id    TEXT NOT NULL REFERENCES tenants(config_id),
     seq          INTEGER NOT NULL,        -- ingestion order within the tenant, from 1, gap-free
     guid         TEXT NOT NULL,
     timestamp    TEXT NOT NULL,           -- the event's (normalised) timestamp
     ts_ms        INTEGER,                 -- the same in ms since the epoch, for ISO 'since'
     body         TEXT NOT NULL,           -- canonical JSON of the event without syncLevel
     content_hash TEXT NOT NULL,           -- SHA-256 of body: the idempotency comparison
     received_at  TEXT NOT NULL,
     PRIMARY KEY (config_id, seq),         -- pull: a range scan
     UNIQUE (config_id, guid)              -- push idempotency: one lookup per guid
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS audit_logs (
     config_id    TEXT NOT NULL REFERENCES tenants(config_id),
     seq          INTEGER NOT NULL,
     guid         TEXT NOT NULL,
     timestamp    TEXT NOT NULL,
     ts_ms        INTEGER,
     body         TEXT NOT NULL,
     content_hash TEXT NOT NULL,
     received_at  TEXT NOT NULL,
     PRIMARY KEY (config_id, seq),
     UNIQUE (config_id, guid)
   ) WITHOUT ROWID;`,
  // 2: who pushed each entry, token versions, the login limiter's counters, settings.
  `ALTER TABLE events ADD COLUMN pushed_by TEXT;
   ALTER TABLE audit_logs ADD COLUMN pushed_by TEXT;
   ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE login_limits (
     key        TEXT PRIMARY KEY,
     count      INTEGER NOT NULL,
     first_at   INTEGER NOT NULL,          -- ms since the epoch
     last_at    INTEGER NOT NULL,
     blocked_until INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE settings (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

// Created by the server: readable by its owner only (the database holds password hashes).
function ensurePrivateDir(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

function ensurePrivateFile(file) {
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
}

export class SqliteStore {
  static async open(dataDir, options) {
    return new SqliteStore(dataDir, options);
  }

  constructor(dataDir, { hooks } = {}) {
    this.kind = 'sqlite';
    this.dataDir = dataDir;
    this.hooks = activeHooks(hooks);
    ensurePrivateDir(dataDir);
    this.file = path.join(dataDir, DB_FILE);
    // SQLite gives the -wal and -shm files the mode of the database file.
    ensurePrivateFile(this.file);
    const db = new Database(this.file);
    this.sqlite = db;
    db.pragma('journal_mode = WAL');
    // FULL: a push the server acknowledged must survive a power cut too, because the client then
    // marks those events REMOTE and never sends them again.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000'); // the add-user CLI may write while the server runs
    this.#migrate();
    for (const f of fs.readdirSync(dataDir)) {
      if (f.startsWith(DB_FILE)) fs.chmodSync(path.join(dataDir, f), 0o600);
    }

    const s = (sql) => db.prepare(sql);
    this.stmts = {
      addTenant: s('INSERT OR IGNORE INTO tenants (config_id, created_at) VALUES (?, ?)'),
      getTenant: s('SELECT config_id FROM tenants WHERE config_id = ?'),
      listTenants: s('SELECT config_id FROM tenants ORDER BY config_id'),
      userByEmail: s('SELECT id, email, password_hash, config_ids, token_version FROM users WHERE email = ?'),
      userById: s('SELECT id, email, config_ids, token_version FROM users WHERE id = ?'),
      insertUser: s('INSERT INTO users (id, email, password_hash, config_ids, created_at) VALUES (?, ?, ?, ?, ?)'),
      insertUserIfAbsent: s(
        'INSERT INTO users (id, email, password_hash, config_ids, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING',
      ),
      updateUser: s(
        `UPDATE users SET config_ids = ?,
           token_version = token_version + (password_hash <> ?), password_hash = ? WHERE id = ?`,
      ),
      limitRow: s('SELECT key, count, first_at, last_at, blocked_until FROM login_limits WHERE key = ?'),
      limitPut: s(
        `INSERT INTO login_limits (key, count, first_at, last_at, blocked_until) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET count = excluded.count, first_at = excluded.first_at,
           last_at = excluded.last_at, blocked_until = excluded.blocked_until`,
      ),
      limitDelete: s('DELETE FROM login_limits WHERE key = ?'),
    };
    this.logs = { events: this.#logStatements(LOGS.events), audit: this.#logStatements(LOGS.audit) };
    // A push batch is stored entirely or not at all: it runs as a savepoint inside the group's
    // IMMEDIATE transaction (see append()); taking the write lock up front avoids a read-to-write
    // upgrade failing under contention with another process (the CLI). The write lock also makes
    // commit order equal position order.
    this.appendTx = db.transaction((log, configId, items, pushedBy, now) => {
      let seq = log.maxSeq.get(configId).m ?? 0;
      return items.map((item) => {
        // One statement per new event: the insert is skipped when the guid is already stored,
        // and only then is the stored hash read (a resend or a conflict).
        if (log.insertNew.run(configId, seq + 1, item.guid, item.timestamp, item.tsMs, item.body, item.hash, now, pushedBy).changes) {
          seq += 1;
          return 'stored';
        }
        return log.hashByGuid.get(configId, item.guid).content_hash === item.hash ? 'accepted' : 'conflict';
      });
    });
    this.pending = [];
    this.groupTx = db.transaction((jobs, now) =>
      jobs.map((job) => {
        try {
          return this.appendTx(job.log, job.configId, job.items, job.pushedBy, now); // nested: a savepoint
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      }),
    );
    // One read transaction: rows and maxSeq come from the same snapshot.
    this.pageTx = db.transaction((log, configId, afterSeq, minTsMs, limit, maxBytes) => {
      let rows;
      let more;
      if (maxBytes === undefined) {
        rows =
          minTsMs === undefined
            ? log.page.all(configId, afterSeq, limit + 1)
            : log.pageAfterTime.all(configId, afterSeq, minTsMs, limit + 1);
        more = rows.length > limit;
        if (more) rows.length = limit;
      } else {
        // Stepped through, so reading stops where the byte budget does (docs/protocol.md,
        // 'Response size'); bodies over the budget are not read at all.
        const cap = maxEntryBytes(maxBytes);
        const it =
          minTsMs === undefined
            ? log.pageSized.iterate(cap, configId, afterSeq, limit + 1)
            : log.pageSizedAfterTime.iterate(cap, configId, afterSeq, minTsMs, limit + 1);
        ({ rows, more } = takeWithinBudget(it, limit, maxBytes));
      }
      const maxSeq = log.maxSeq.get(configId).m ?? 0;
      const lastSeq = rows.length ? rows[rows.length - 1].seq : afterSeq;
      // Positions are gap-free, so without a time filter the rest is a subtraction.
      const remaining =
        minTsMs === undefined ? Math.max(0, maxSeq - lastSeq) : log.countAfterTime.get(configId, lastSeq, minTsMs).n;
      return { rows, more, maxSeq, remaining };
    });
    this.limitTx = db.transaction((keys, now, decide) => {
      const rows = new Map(keys.map((k) => [k, rowToLimit(this.stmts.limitRow.get(k))]));
      const { updates, result } = decide(rows, now);
      for (const [k, row] of updates) {
        if (row) this.stmts.limitPut.run(k, row.count, row.firstAt, row.lastAt, row.blockedUntil);
        else this.stmts.limitDelete.run(k);
      }
      return result;
    });
    this.stmts.addTenant.run('default', new Date().toISOString());
  }

  #migrate() {
    const db = this.sqlite;
    const apply = db.transaction(() => {
      const from = db.pragma('user_version', { simple: true });
      if (from > MIGRATIONS.length) {
        throw new Error(`Database schema version ${from} is newer than this server (${MIGRATIONS.length})`);
      }
      for (let v = from; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${MIGRATIONS.length}`);
      return { from, to: MIGRATIONS.length };
    });
    this.migrated = apply.immediate();
  }

  #logStatements(table) {
    const db = this.sqlite;
    // Table names cannot be bound; `table` is one of two constants (LOGS), never input.
    return {
      maxSeq: db.prepare(`SELECT MAX(seq) AS m FROM ${table} WHERE config_id = ?`),
      hashByGuid: db.prepare(`SELECT content_hash FROM ${table} WHERE config_id = ? AND guid = ?`),
      // Only a duplicate guid is ignored; any other constraint failure still throws.
      insertNew: db.prepare(
        `INSERT INTO ${table} (config_id, seq, guid, timestamp, ts_ms, body, content_hash, received_at, pushed_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (config_id, guid) DO NOTHING`,
      ),
      // Bodies come back as Buffers of their UTF-8 bytes (CAST AS BLOB): a pull copies them into
      // the response without decoding to JS strings and encoding back.
      page: db.prepare(`SELECT seq, CAST(body AS BLOB) AS body FROM ${table} WHERE config_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
      pageAfterTime: db.prepare(
        `SELECT seq, CAST(body AS BLOB) AS body FROM ${table} WHERE config_id = ? AND seq > ? AND ts_ms > ? ORDER BY seq LIMIT ?`,
      ),
      // The same with a byte budget: sizes, and the body only when it can be sent as itself.
      pageSized: db.prepare(
        `SELECT seq, guid, timestamp, length(CAST(body AS BLOB)) AS size,
                CASE WHEN length(CAST(body AS BLOB)) <= ? THEN CAST(body AS BLOB) END AS body
         FROM ${table} WHERE config_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      pageSizedAfterTime: db.prepare(
        `SELECT seq, guid, timestamp, length(CAST(body AS BLOB)) AS size,
                CASE WHEN length(CAST(body AS BLOB)) <= ? THEN CAST(body AS BLOB) END AS body
         FROM ${table} WHERE config_id = ? AND seq > ? AND ts_ms > ? ORDER BY seq LIMIT ?`,
      ),
      countAfterTime: db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE config_id = ? AND seq > ? AND ts_ms > ?`),
      count: db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE config_id = ?`),
      meta: db.prepare(`SELECT seq, pushed_by, received_at FROM ${table} WHERE config_id = ? AND guid = ?`),
    };
  }

  async migrate() {
    this.#migrate();
    return this.migrated;
  }
  async schemaVersion() {
    return this.sqlite.pragma('user_version', { simple: true });
  }
  async ping() {
    this.sqlite.prepare('SELECT 1').get();
  }

  async close() {
    if (this.pending.length) this.#flushPending(); // answer queued pushes before closing
    if (this.sqlite.open) this.sqlite.close();
  }

  // --- tenants -------------------------------------------------------------------------------
  async addTenant(configId) {
    if (typeof configId !== 'string' || !configId) throw new Error('configId must be a non-empty string');
    this.stmts.addTenant.run(configId, new Date().toISOString());
  }
  async hasTenant(configId) {
    return !!this.stmts.getTenant.get(configId);
  }
  async listTenants() {
    return this.stmts.listTenants.all().map((r) => r.config_id);
  }

  // --- users ---------------------------------------------------------------------------------
  async getUserByEmail(email) {
    const row = this.stmts.userByEmail.get(normaliseEmail(email));
    return row && { id: row.id, email: row.email, passwordHash: row.password_hash, configIds: JSON.parse(row.config_ids), tokenVersion: row.token_version };
  }
  async getUserById(id) {
    const row = this.stmts.userById.get(id);
    return row && { id: row.id, email: row.email, configIds: JSON.parse(row.config_ids), tokenVersion: row.token_version };
  }
  async #checkTenants(configIds) {
    for (const c of configIds) {
      if (!(await this.hasTenant(c))) throw new Error(`Unknown configId: ${c} (add the tenant first)`);
    }
  }
  async upsertUser(email, passwordHash, configIds) {
    await this.#checkTenants(configIds);
    const existing = await this.getUserByEmail(email);
    if (existing) {
      this.stmts.updateUser.run(JSON.stringify(configIds), passwordHash, passwordHash, existing.id);
      return existing.id;
    }
    const id = randomUUID();
    this.stmts.insertUser.run(id, normaliseEmail(email), passwordHash, JSON.stringify(configIds), new Date().toISOString());
    return id;
  }
  async createUserIfAbsent(email, passwordHash, configIds) {
    await this.#checkTenants(configIds);
    const id = randomUUID();
    const created = this.stmts.insertUserIfAbsent.run(id, normaliseEmail(email), passwordHash, JSON.stringify(configIds), new Date().toISOString()).changes === 1;
    return { id: created ? id : (await this.getUserByEmail(email)).id, created };
  }

  // --- event and audit logs ------------------------------------------------------------------
  // Group commit: the appends requested during one turn of the event loop (concurrent pushes)
  // share one transaction, so one fsync instead of one per request, which is the main cost of a
  // push with synchronous=FULL. Each request's batch runs in its own savepoint (better-sqlite3
  // nests transaction functions that way), so one failing batch does not affect the others, and
  // each is still all-or-nothing. A request is answered only after its group has committed.
  append(logName, configId, items, pushedBy = null) {
    return new Promise((resolve, reject) => {
      this.pending.push({ log: this.logs[logName], configId, items, pushedBy, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.#flushPending());
    });
  }

  #flushPending() {
    const jobs = this.pending;
    this.pending = [];
    let results;
    try {
      results = this.groupTx.immediate(jobs, new Date().toISOString());
    } catch (e) {
      for (const job of jobs) job.reject(e);
      return;
    }
    jobs.forEach((job, i) => (results[i] instanceof Error ? job.reject(results[i]) : job.resolve(results[i])));
  }

  async page(logName, configId, { afterSeq, minTsMs, limit, maxBytes }) {
    return this.pageTx(this.logs[logName], configId, afterSeq, minTsMs, limit, maxBytes);
  }

  async count(logName, configId) {
    return this.logs[logName].count.get(configId).n;
  }

  async entryMeta(logName, configId, guid) {
    const r = this.logs[logName].meta.get(configId, guid);
    return r && { seq: r.seq, pushedBy: r.pushed_by, receivedAt: r.received_at };
  }

  // --- login limiter -------------------------------------------------------------------------
  async loginLimit(keys, now, decide) {
    return this.limitTx.immediate(keys, now, decide);
  }

  // --- JWT secret ----------------------------------------------------------------------------
  // Kept next to the database, readable by the owner only, so tokens stay valid across restarts
  // and every process on this data directory signs with the same secret.
  async loadOrCreateSecret() {
    const file = path.join(this.dataDir, SECRET_FILE);
    try {
      const fd = fs.openSync(file, 'wx', 0o600); // 'wx': never overwrite an existing secret
      fs.writeSync(fd, randomBytes(48).toString('base64url'));
      fs.closeSync(fd);
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    fs.chmodSync(file, 0o600);
    return fs.readFileSync(file, 'utf8').trim();
  }
}

function rowToLimit(r) {
  return r ? { count: r.count, firstAt: r.first_at, lastAt: r.last_at, blockedUntil: r.blocked_until } : null;
}
