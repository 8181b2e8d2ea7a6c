// Static files for the demo PWA: URL prefixes mapped to folders. Requests can never
// leave a mounted folder: the decoded path is resolved and checked against the folder, then the
// real path (symlinks resolved) is checked again. Hidden files (a segment starting with '.') are
// never served.
import fs from 'node:fs';
import path from 'node:path';
import { HttpError } from './http.js';

export const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

// staticDirs: {"/": "/abs/web/app", "/dist/": "/abs/dist"}. Longest prefix wins.
export function createStaticHandler(staticDirs) {
  const mounts = Object.entries(staticDirs || {})
    .map(([prefix, dir]) => ({ prefix: prefix.endsWith('/') ? prefix : `${prefix}/`, root: path.resolve(dir) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);

  function resolve(pathname) {
    const mount = mounts.find((m) => pathname.startsWith(m.prefix));
    if (!mount) return null;
    let rel;
    try {
      rel = decodeURIComponent(pathname.slice(mount.prefix.length));
    } catch {
      throw new HttpError(400, 'Malformed URL path');
    }
    if (rel.includes('\0')) throw new HttpError(400, 'Malformed URL path');
    const segments = rel.split(/[/\\]+/).filter(Boolean);
    if (segments.some((s) => s.startsWith('.'))) return null; // '..', '.git', '.env', ...
    const full = path.resolve(mount.root, ...segments);
    if (full !== mount.root && !full.startsWith(mount.root + path.sep)) return null;
    return { full, root: mount.root };
  }

  function statFile(target) {
    let file = target.full;
    let st;
    try {
      st = fs.statSync(file);
      if (st.isDirectory()) {
        file = path.join(file, 'index.html');
        st = fs.statSync(file);
      }
      if (!st.isFile()) return null;
      const real = fs.realpathSync(file);
      const realRoot = fs.realpathSync(target.root);
      if (!real.startsWith(realRoot + path.sep)) return null;
      return { file: real, st };
    } catch {
      return null;
    }
  }

  // Returns true when it answered the request.
  return function serveStatic(req, res, pathname) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const target = resolve(pathname);
    const found = target && statFile(target);
    if (!found) return false;
    const { file, st } = found;
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers = {
      'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream',
      'Content-Length': st.size,
      // no-cache = revalidate each time: the service worker and a reload then see new builds.
      'Cache-Control': 'no-cache',
      ETag: etag,
      'Last-Modified': st.mtime.toUTCString(),
      'X-Content-Type-Options': 'nosniff',
    };
    if (req.headers['if-none-match'] === etag) {
      delete headers['Content-Length'];
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    const stream = fs.createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
    return true;
  };
}
