// Passwords (bcryptjs), tokens (HS256 JWT with an expiry), the JWT secret file, and the login
// rate limiter. Nothing here logs: tokens and passwords must never reach a log.
import fs from 'node:fs';
import path from 'node:path';
import { createSecretKey, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import jwt from 'jsonwebtoken';
import { HttpError } from './http.js';

export const SECRET_FILE = 'jwt-secret';

export function hashPassword(password, rounds = 10) {
  return bcrypt.hash(password, rounds);
}

export function verifyPassword(password, hash) {
  return bcrypt.compare(password, hash);
}

// Compared against when the email is unknown, so a wrong email costs as long as a wrong
// password and response time does not reveal which accounts exist.
const DUMMY_HASH = bcrypt.hashSync('not-a-real-password', 10);
export const dummyHash = () => DUMMY_HASH;

// The secret is generated once and kept next to the database, readable by the owner only, so
// tokens stay valid across restarts without any configuration.
export function loadOrCreateSecret(dataDir) {
  const file = path.join(dataDir, SECRET_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    const fd = fs.openSync(file, 'wx', 0o600); // 'wx': never overwrite an existing secret
    fs.writeSync(fd, randomBytes(48).toString('base64url'));
    fs.closeSync(fd);
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
  }
  fs.chmodSync(file, 0o600);
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`JWT secret in ${file} is too short`);
  return secret;
}

// jsonwebtoken, given a string, first tries to parse it as a PEM public key (an exception per
// call, the biggest cost of a request in profiles); a KeyObject made once avoids that.
export function secretKey(secret) {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

export function signToken(secret, ttlSeconds, user, configIds) {
  return jwt.sign({ sub: user.id, email: user.email, configIds }, secret, {
    algorithm: 'HS256',
    expiresIn: ttlSeconds,
  });
}

// Returns the payload or throws a 401 whose message says what is wrong (never the token).
export function verifyToken(secret, token) {
  try {
    const payload = jwt.verify(token, secret, { algorithms: ['HS256'] });
    if (typeof payload !== 'object' || typeof payload.sub !== 'string' || !Array.isArray(payload.configIds)) {
      throw new HttpError(401, 'Invalid token');
    }
    return payload;
  } catch (e) {
    if (e instanceof HttpError) throw e;
    if (e.name === 'TokenExpiredError') throw new HttpError(401, 'Token expired');
    throw new HttpError(401, 'Invalid token');
  }
}

export function bearerToken(req) {
  const header = req.headers.authorization;
  if (!header) throw new HttpError(401, 'Missing Authorization header');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new HttpError(401, 'Authorization header must be "Bearer <token>"');
  return m[1];
}

// Fixed-window failure counter per key. Bounded: at most `maxKeys` keys; expired ones are
// dropped first, then the oldest, so a flood of distinct emails cannot grow memory.
export class RateLimiter {
  constructor({ windowMs, max, maxKeys = 10000, now = Date.now }) {
    Object.assign(this, { windowMs, max, maxKeys, now });
    this.entries = new Map();
  }
  // Seconds until the key may try again, or 0 if it may try now.
  retryAfter(key) {
    const e = this.entries.get(key);
    if (!e) return 0;
    const t = this.now();
    if (t >= e.resetAt) {
      this.entries.delete(key);
      return 0;
    }
    return e.count >= this.max ? Math.ceil((e.resetAt - t) / 1000) : 0;
  }
  fail(key) {
    const t = this.now();
    let e = this.entries.get(key);
    if (!e || t >= e.resetAt) {
      e = { count: 0, resetAt: t + this.windowMs };
      this.entries.delete(key);
      this.entries.set(key, e);
      this.#prune(t);
    }
    e.count += 1;
  }
  reset(key) {
    this.entries.delete(key);
  }
  #prune(t) {
    if (this.entries.size <= this.maxKeys) return;
    for (const [k, e] of this.entries) if (t >= e.resetAt) this.entries.delete(k);
    // Map iterates in insertion order: the first keys are the oldest windows.
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxKeys) break;
      this.entries.delete(k);
    }
  }
}
