// Passwords (bcryptjs), tokens (HS256 JWT with an expiry, carrying the user's token version), the
// JWT secret check, and the login limiter's policy. Nothing here logs: tokens and passwords must
// never reach a log (docs/server.md, 'Logs').
import { createSecretKey } from 'node:crypto';
import bcrypt from 'bcryptjs';
import jwt from 'jsonwebtoken';
import { HttpError } from './http.js';

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

// Secrets shorter than this are refused: HS256 with a short key can be brute-forced offline from
// any token.
export const MIN_SECRET_BYTES = 32;

export function checkSecret(secret, source = 'the JWT secret') {
  if (typeof secret !== 'string' || Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    throw new Error(`${source} must be at least ${MIN_SECRET_BYTES} bytes long`);
  }
  return secret;
}

// jsonwebtoken, given a string, first tries to parse it as a PEM public key (an exception per
// call, the biggest cost of a request in profiles); a KeyObject made once avoids that.
export function secretKey(secret) {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

// `tv` is the user's token version when the token was made; a password change bumps the stored
// version, and authenticate() then refuses every older token.
export function signToken(secret, ttlSeconds, user, configIds) {
  return jwt.sign({ sub: user.id, email: user.email, configIds, tv: user.tokenVersion ?? 0 }, secret, {
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

// bcrypt uses only the first 72 bytes of a password, so two passwords that differ only after
// byte 72 would both log in. Longer passwords are refused when an account is created or changed,
// and a login with one is a failure without evaluating it (no stored password can match it).
export const MAX_PASSWORD_BYTES = 72;

export function passwordTooLong(password) {
  return Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
}

export function checkNewPassword(password) {
  if (typeof password !== 'string' || !password) throw new Error('The password must be a non-empty string');
  if (passwordTooLong(password)) {
    throw new Error(`The password is longer than ${MAX_PASSWORD_BYTES} bytes (bcrypt ignores the rest); choose a shorter one`);
  }
  return password;
}

// The login limiter's policy. Its counters live in the database (store.loginLimit runs decide()
// atomically), so every process shares them and a restart does not reset them. An attempt is
// counted *before* the password is evaluated (pessimistically, as a failure) and refunded on
// success, so concurrent guesses cannot all pass a check made before any of them counted.
//
//  - per account+address: `maxPerEmail` attempts go through freely; from then on each further
//    attempt must wait baseDelayMs, doubling per failure up to maxDelayMs. The attacker is slowed
//    exponentially; the real user on another address is not affected at all. Forgotten windowMs
//    after the last failure, or at a successful login.
//  - per address, across accounts: at most `maxPerIp` failed attempts per windowMs.
export const LOGIN_LIMIT_DEFAULTS = Object.freeze({
  windowMs: 15 * 60 * 1000,
  maxPerEmail: 5,
  maxPerIp: 100,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60 * 1000,
});

export class LoginLimiter {
  constructor(store, policy = {}) {
    this.store = store;
    this.policy = { ...LOGIN_LIMIT_DEFAULTS, ...policy };
  }

  static keys(email, address) {
    return { pair: `pair:${address}|${email}`, address: `addr:${address}` };
  }

  // Resolves {allowed: true} (the attempt is counted) or {allowed: false, retryAfterSeconds}.
  async reserve(email, address, now = Date.now()) {
    const p = this.policy;
    const k = LoginLimiter.keys(email, address);
    return this.store.loginLimit([k.pair, k.address], now, (rows) => {
      let pair = rows.get(k.pair);
      let addr = rows.get(k.address);
      if (pair && now - pair.lastAt > p.windowMs && pair.blockedUntil <= now) pair = null;
      if (addr && now - addr.firstAt > p.windowMs) addr = null;
      const waits = [];
      if (pair && pair.blockedUntil > now) waits.push(pair.blockedUntil - now);
      if (addr && addr.count >= p.maxPerIp) waits.push(addr.firstAt + p.windowMs - now);
      if (waits.length) {
        return { updates: new Map(), result: { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) } };
      }
      const count = (pair?.count ?? 0) + 1;
      const delay = count >= p.maxPerEmail ? Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.min(30, count - p.maxPerEmail)) : 0;
      const nextPair = { count, firstAt: pair?.firstAt ?? now, lastAt: now, blockedUntil: delay ? now + delay : 0 };
      const nextAddr = { count: (addr?.count ?? 0) + 1, firstAt: addr?.firstAt ?? now, lastAt: now, blockedUntil: 0 };
      return { updates: new Map([[k.pair, nextPair], [k.address, nextAddr]]), result: { allowed: true } };
    });
  }

  // A successful login: the account+address counter is cleared, the address's attempt refunded.
  async succeeded(email, address, now = Date.now()) {
    const k = LoginLimiter.keys(email, address);
    await this.store.loginLimit([k.pair, k.address], now, (rows) => {
      const addr = rows.get(k.address);
      const updates = new Map([[k.pair, null]]);
      if (addr) updates.set(k.address, addr.count > 1 ? { ...addr, count: addr.count - 1 } : null);
      return { updates, result: undefined };
    });
  }
}
