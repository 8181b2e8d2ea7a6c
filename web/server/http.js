// Small HTTP helpers on top of node:http: JSON responses, bounded body reading, typed errors.
// Every error the server answers goes through sendJson, so clients never see HTML.

export class HttpError extends Error {
  // `body` overrides the default {error: message} JSON (login's 401 uses {message}: docs/protocol.md, 'Login').
  constructor(status, message, { headers, body } = {}) {
    super(message);
    this.status = status;
    this.headers = headers || {};
    this.body = body;
  }
}

// `body`: a value to serialise, or JSON already serialised (a string or a Buffer).
export function sendJson(res, status, body, headers = {}) {
  const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  if (res.headersSent) {
    // Too late for a status; end what we have rather than hang the client.
    res.end();
    return;
  }
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

export function sendError(res, err) {
  sendJson(res, err.status, err.body ?? { error: err.message }, err.headers);
}

// Reads the whole request body, refusing more than `limit` bytes with 413. After a 413 the rest of
// the body is still read and discarded (up to `drainLimit`), so that a client that is still
// sending gets to read our answer instead of a connection reset.
export function readBody(req, limit, drainLimit = limit * 4 + 64 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const tooLarge = () =>
      new HttpError(413, `Request body too large (limit ${limit} bytes)`, { headers: { Connection: 'close' } });
    const declared = Number(req.headers['content-length']);
    const chunks = [];
    let size = 0;
    let settled = false;
    const settle = (fn, value) => {
      if (!settled) {
        settled = true;
        fn(value);
      }
    };
    if (Number.isFinite(declared) && declared > limit) {
      settle(reject, tooLarge());
    }
    req.on('data', (chunk) => {
      size += chunk.length;
      if (settled) {
        if (size > drainLimit) req.destroy(); // bounded: never drain forever
        return;
      }
      if (size > limit) {
        chunks.length = 0;
        settle(reject, tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => settle(resolve, Buffer.concat(chunks)));
    req.on('error', () => settle(reject, new HttpError(400, 'Request body could not be read')));
    req.on('close', () => {
      if (!req.complete) settle(reject, new HttpError(400, 'Request aborted'));
    });
  });
}

// JSON endpoints accept only `Content-Type: application/json`: a cross-site HTML form can send
// text/plain or form encodings without a preflight, never application/json.
export function requireJsonContentType(req) {
  const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, "Content-Type must be 'application/json'", { headers: { Accept: 'application/json' } });
  }
}

// Parses a JSON body that must be an object (and be sent as application/json).
export async function readJsonObject(req, limit) {
  requireJsonContentType(req);
  const buf = await readBody(req, limit);
  if (buf.length === 0) throw new HttpError(400, 'Request body is empty; expected a JSON object');
  let value;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `Malformed JSON body: ${e.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'Request body must be a JSON object');
  }
  return value;
}

// Splits req.url ourselves: `new URL('//evil/x', base)` would treat the path as a host.
export function splitUrl(rawUrl) {
  const q = rawUrl.indexOf('?');
  const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
  return { pathname, query };
}

// --- push bodies ----------------------------------------------------------------------------------
// A push body is {"configId": …, "<field>": [entry, …]}. JSON.parse of a whole 16 MB body holds the
// event loop for hundreds of milliseconds (8 million zeros: 0.7 s) and builds every entry before
// the server can refuse the batch. Instead the body is scanned once for its structure: the
// entries of `field` are located without being built, their number is checked against
// `maxEntries` as they are found (so an oversized batch is refused after scanning maxEntries + 1 of
// them), and then each entry is parsed on its own, yielding to the event loop between slices.
// Every value still goes through JSON.parse, so what is accepted is exactly valid JSON.
const WS = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WS[c] = 1;
const DELIM = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d, 0x2c, 0x7d, 0x5d]) DELIM[c] = 1;
const SLICE_MS = 8;

export class TooManyEntriesError extends Error {}

export async function readJsonBatch(req, limit, field, maxEntries) {
  requireJsonContentType(req);
  const buf = await readBody(req, limit);
  if (buf.length === 0) throw new HttpError(400, 'Request body is empty; expected a JSON object');
  const n = buf.length;
  const malformed = (what) => new HttpError(400, `Malformed JSON body: ${what}`);
  const parse = (start, end) => {
    try {
      return JSON.parse(buf.toString('utf8', start, end));
    } catch (e) {
      throw malformed(e.message);
    }
  };
  let i = 0;
  let sliceStart = performance.now();
  const maybeYield = async () => {
    if (performance.now() - sliceStart > SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  };
  const ws = () => {
    while (i < n && WS[buf[i]]) i++;
  };
  const skipString = () => {
    let from = i + 1;
    for (;;) {
      const q = buf.indexOf(0x22, from);
      if (q < 0) throw malformed('unterminated string');
      let b = q - 1;
      while (buf[b] === 0x5c) b--;
      if ((q - 1 - b) % 2 === 0) {
        i = q + 1;
        return;
      }
      from = q + 1;
    }
  };
  const skipValue = () => {
    const c = buf[i];
    if (c === 0x22) return skipString();
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      while (i < n) {
        const d = buf[i];
        if (d === 0x22) {
          skipString();
          continue;
        }
        if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) {
          depth--;
          if (depth === 0) {
            i++;
            return;
          }
        }
        i++;
      }
      throw malformed('unexpected end of data');
    }
    const start = i;
    while (i < n && !DELIM[buf[i]]) i++;
    if (i === start) throw malformed(i < n ? `unexpected character at position ${i}` : 'unexpected end of data');
  };

  // After a value in an array or object: true at its closing byte, false after a comma.
  const listEnds = (close) => {
    ws();
    if (buf[i] === 0x2c) {
      i++;
      return false;
    }
    if (buf[i] === close) {
      i++;
      return true;
    }
    const expected = `',' or '${String.fromCharCode(close)}'`;
    throw malformed(i < n ? `expected ${expected} at position ${i}` : 'unexpected end of data');
  };

  ws();
  if (buf[i] !== 0x7b) {
    // Not an object: tell malformed JSON from another JSON value, without parsing a huge body.
    if (n <= 1024 * 1024) parse(0, n);
    throw new HttpError(400, 'Request body must be a JSON object');
  }
  i++;
  const fields = Object.create(null);
  let ranges = null;
  ws();
  if (buf[i] === 0x7d) i++;
  else {
    for (;;) {
      ws();
      if (buf[i] !== 0x22) throw malformed(i < n ? `expected a property name at position ${i}` : 'unexpected end of data');
      const keyStart = i;
      skipString();
      const key = parse(keyStart, i);
      ws();
      if (buf[i] !== 0x3a) throw malformed(`expected ':' at position ${i}`);
      i++;
      ws();
      if (key === field && buf[i] === 0x5b) {
        i++;
        const found = [];
        ws();
        if (buf[i] === 0x5d) i++;
        else {
          for (;;) {
            ws();
            const start = i;
            skipValue();
            found.push(start, i);
            if (found.length > 2 * maxEntries) throw new TooManyEntriesError(`more than ${maxEntries}`);
            if ((found.length & 511) === 0) await maybeYield();
            if (listEnds(0x5d)) break;
          }
        }
        ranges = found;
        fields[key] = null;
      } else {
        const start = i;
        skipValue();
        fields[key] = parse(start, i);
        if (key === field) ranges = null; // a later duplicate key wins, as in JSON.parse
      }
      if (listEnds(0x7d)) break;
    }
  }
  ws();
  if (i !== n) throw malformed(`unexpected data after the JSON object at position ${i}`);
  if (ranges) {
    const entries = new Array(ranges.length / 2);
    for (let k = 0; k < entries.length; k++) {
      entries[k] = parse(ranges[2 * k], ranges[2 * k + 1]);
      await maybeYield();
    }
    fields[field] = entries;
  }
  return fields;
}
