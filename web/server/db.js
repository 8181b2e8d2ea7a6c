// SQLite storage for the sync server: one file under the data directory, WAL mode, prepared
// statements only. Events and audit logs carry a per-tenant sequence number (`seq`) assigned at
// ingestion; pulls page by it, which is what makes cursors lossless (docs/protocol.md, 'Cursor').
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenants (
  config_id  TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
  id            TEXT PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  config_ids    TEXT NOT NULL,          -- JSON array of the configIds this user may use
  created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  config_id    TEXT NOT NULL REFERENCES tenants(config_id),
  seq          INTEGER NOT NULL,        -- ingestion order within the tenant, from 1
  guid         TEXT NOT NULL,
  timestamp    TEXT NOT NULL,           -- the event's (normalised) timestamp
  ts_ms        INTEGER,                 -- the same in ms since the epoch, for ISO 'since'
  body         TEXT NOT NULL,           -- canonical JSON of the event without syncLevel
  content_hash TEXT NOT NULL,           -- SHA-256 of body: the idempotency comparison
  received_at  TEXT NOT NULL,
  PRIMARY KEY (config_id, seq),
  UNIQUE (config_id, guid)
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
) WITHOUT ROWID;
`;

export const DB_FILE = 'sync-server.sqlite';

export class Store {
  constructor(dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.file = path.join(dataDir, DB_FILE);
    const db = new Database(this.file);
    this.sqlite = db;
    db.pragma('journal_mode = WAL');
    // FULL: a push the server acknowledged must survive a power cut too, because the client then
    // marks those events REMOTE and never sends them again.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000'); // the add-user CLI may write while the server runs
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);

    const s = (sql) => db.prepare(sql);
    this.stmts = {
      addTenant: s('INSERT OR IGNORE INTO tenants (config_id, created_at) VALUES (?, ?)'),
      getTenant: s('SELECT config_id FROM tenants WHERE config_id = ?'),
      listTenants: s('SELECT config_id FROM tenants ORDER BY config_id'),
      userByEmail: s('SELECT id, email, password_hash, config_ids FROM users WHERE email = ?'),
      userById: s('SELECT id, email, config_ids FROM users WHERE id = ?'),
      insertUser: s('INSERT INTO users (id, email, password_hash, config_ids, created_at) VALUES (?, ?, ?, ?, ?)'),
      updateUser: s('UPDATE users SET password_hash = ?, config_ids = ? WHERE id = ?'),
    };
    this.logs = {
      events: this.#logStatements('events'),
      audit: this.#logStatements('audit_logs'),
    };
    // A push batch is stored entirely or not at all (docs/protocol.md, 'Push'): it runs as a savepoint
    // inside the group's IMMEDIATE transaction (see append()); taking the write lock up front
    // avoids a read-to-write upgrade failing under contention with another process (the CLI).
    this.appendTx = db.transaction((log, configId, items, now) => {
      let seq = log.maxSeq.get(configId).m ?? 0;
      return items.map((item) => {
        // One statement per new event: the insert is skipped when the guid is already stored,
        // and only then is the stored hash read (a resend or a conflict).
        if (log.insertNew.run(configId, seq + 1, item.guid, item.timestamp, item.tsMs, item.body, item.hash, now).changes) {
          seq += 1;
          return 'accepted';
        }
        return log.hashByGuid.get(configId, item.guid).content_hash === item.hash ? 'accepted' : 'conflict';
      });
    });
    this.pending = [];
    this.groupTx = db.transaction((jobs, now) =>
      jobs.map((job) => {
        try {
          return this.appendTx(job.log, job.configId, job.items, now); // nested: a savepoint
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      }),
    );
    this.pageTx = db.transaction((log, configId, afterSeq, minTsMs, limit) => {
      const rows =
        minTsMs === undefined
          ? log.page.all(configId, afterSeq, limit + 1)
          : log.pageAfterTime.all(configId, afterSeq, minTsMs, limit + 1);
      const more = rows.length > limit;
      if (more) rows.length = limit;
      const maxSeq = log.maxSeq.get(configId).m ?? 0;
      // Events the same query would still deliver after this page (seq is dense per tenant).
      const lastSeq = rows.length ? rows[rows.length - 1].seq : afterSeq;
      const remaining = !more ? 0
        : minTsMs === undefined ? Math.max(0, maxSeq - lastSeq) : log.countAfterTime.get(configId, lastSeq, minTsMs).n;
      return { rows, more, maxSeq, remaining };
    });
    this.addTenant('default');
  }

  #logStatements(table) {
    const db = this.sqlite;
    // Table names cannot be bound; `table` is one of two constants above, never input.
    return {
      maxSeq: db.prepare(`SELECT MAX(seq) AS m FROM ${table} WHERE config_id = ?`),
      hashByGuid: db.prepare(`SELECT content_hash FROM ${table} WHERE config_id = ? AND guid = ?`),
      // Only a duplicate guid is ignored; any other constraint failure still throws.
      insertNew: db.prepare(
        `INSERT INTO ${table} (config_id, seq, guid, timestamp, ts_ms, body, content_hash, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (config_id, guid) DO NOTHING`,
      ),
      // Bodies come back as Buffers of their UTF-8 bytes (CAST AS BLOB): a pull copies them into
      // the response without decoding to JS strings and encoding back.
      page: db.prepare(`SELECT seq, CAST(body AS BLOB) AS body FROM ${table} WHERE config_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
      pageAfterTime: db.prepare(
        `SELECT seq, CAST(body AS BLOB) AS body FROM ${table} WHERE config_id = ? AND seq > ? AND ts_ms > ? ORDER BY seq LIMIT ?`,
      ),
      count: db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE config_id = ?`),
      countAfterTime: db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE config_id = ? AND seq > ? AND ts_ms > ?`),
    };
  }

  close() {
    if (this.pending.length) this.#flushPending(); // answer queued pushes before closing
    if (this.sqlite.open) this.sqlite.close();
  }

  // --- tenants -------------------------------------------------------------------------------
  addTenant(configId) {
    if (typeof configId !== 'string' || !configId) throw new Error('configId must be a non-empty string');
    this.stmts.addTenant.run(configId, new Date().toISOString());
  }
  hasTenant(configId) {
    return !!this.stmts.getTenant.get(configId);
  }
  listTenants() {
    return this.stmts.listTenants.all().map((r) => r.config_id);
  }

  // --- users ---------------------------------------------------------------------------------
  static normaliseEmail(email) {
    return String(email).trim().toLowerCase();
  }
  getUserByEmail(email) {
    const row = this.stmts.userByEmail.get(Store.normaliseEmail(email));
    return row && { id: row.id, email: row.email, passwordHash: row.password_hash, configIds: JSON.parse(row.config_ids) };
  }
  getUserById(id) {
    const row = this.stmts.userById.get(id);
    return row && { id: row.id, email: row.email, configIds: JSON.parse(row.config_ids) };
  }
  // Creates the user, or updates password hash and configIds of an existing one. Returns the id.
  upsertUser(email, passwordHash, configIds) {
    for (const c of configIds) {
      if (!this.hasTenant(c)) throw new Error(`Unknown configId: ${c} (add the tenant first)`);
    }
    const existing = this.getUserByEmail(email);
    if (existing) {
      this.stmts.updateUser.run(passwordHash, JSON.stringify(configIds), existing.id);
      return existing.id;
    }
    const id = randomUUID();
    this.stmts.insertUser.run(id, Store.normaliseEmail(email), passwordHash, JSON.stringify(configIds), new Date().toISOString());
    return id;
  }

  // --- event and audit logs ------------------------------------------------------------------
  // items: [{guid, timestamp, tsMs, body, hash}] already validated. Resolves with, per item,
  // 'accepted' (stored now, or already stored with identical content) or 'conflict'.
  //
  // Group commit: the appends requested during one turn of the event loop (concurrent pushes)
  // share one transaction, so one fsync instead of one per request, which is the main cost of a
  // push with synchronous=FULL. Each request's batch runs in its own savepoint (better-sqlite3
  // nests transaction functions that way), so one failing batch does not affect the others, and
  // each is still all-or-nothing. A request is answered only after its group has committed.
  append(logName, configId, items) {
    return new Promise((resolve, reject) => {
      this.pending.push({ log: this.logs[logName], configId, items, resolve, reject });
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

  // One page in ingestion order after position `afterSeq`, optionally only entries whose
  // timestamp is after `minTsMs`; rows are {seq, body: Buffer of the UTF-8 JSON}. Fetches limit+1
  // rows to know whether more exist. `maxSeq` is read in the same transaction so that an empty or
  // final page can report the position that covers everything it looked at.
  page(logName, configId, { afterSeq, minTsMs, limit }) {
    return this.pageTx(this.logs[logName], configId, afterSeq, minTsMs, limit);
  }

  count(logName, configId) {
    return this.logs[logName].count.get(configId).n;
  }
}
