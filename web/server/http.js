// Small HTTP helpers on top of node:http: JSON responses, bounded body reading, typed errors.
// Every error the server answers goes through sendJson, so clients never see HTML.

export class HttpError extends Error {
  // `body` overrides the default {error: message} JSON (login's 401 uses {message}, per SPEC §6.1).
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
