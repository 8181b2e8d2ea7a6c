// Static files for the demo PWA: content types, 404 JSON, caching headers, and no way out of the
// mounted folders (path traversal through encodings, backslashes, symlinks, hidden files).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { api, startServer, tempDir } from './helpers.mjs';
import { DEFAULTS, REPO_ROOT } from '../../web/server/app.js';

let s;
let root;
const SECRET = 'TOP-SECRET-CONTENT-OUTSIDE-THE-MOUNT';

before(async () => {
  root = tempDir('dc-static-');
  const app = path.join(root, 'app');
  const dist = path.join(root, 'dist');
  fs.mkdirSync(path.join(app, 'sub'), { recursive: true });
  fs.mkdirSync(dist);
  fs.writeFileSync(path.join(root, 'secret.txt'), SECRET);
  fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><title>app</title>');
  fs.writeFileSync(path.join(app, 'sub', 'index.html'), '<p>sub</p>');
  fs.writeFileSync(path.join(app, 'app.js'), 'export const x = 1;');
  fs.writeFileSync(path.join(app, 'mod.mjs'), 'export {};');
  fs.writeFileSync(path.join(app, 'app.css'), 'body{}');
  fs.writeFileSync(path.join(app, 'manifest.webmanifest'), '{}');
  fs.writeFileSync(path.join(app, 'data.json'), '{"a":1}');
  fs.writeFileSync(path.join(app, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  fs.writeFileSync(path.join(app, 'icon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  fs.writeFileSync(path.join(app, 'with space.txt'), 'spaced');
  fs.writeFileSync(path.join(app, '.env'), SECRET);
  fs.writeFileSync(path.join(dist, 'engine.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  fs.symlinkSync(path.join(root, 'secret.txt'), path.join(app, 'link.txt'));
  fs.symlinkSync(root, path.join(app, 'linkdir'));
  s = await startServer({ staticDirs: { '/': app, '/dist/': dist } });
});
after(async () => {
  await s?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

// Raw request: fetch would normalise '..' away before sending.
function raw(urlPath, method = 'GET') {
  const { hostname, port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: urlPath, method, timeout: 10000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('serves files with the right content types', async () => {
  const cases = [
    ['/', 'text/html; charset=utf-8', '<!doctype html><title>app</title>'],
    ['/index.html', 'text/html; charset=utf-8'],
    ['/sub/', 'text/html; charset=utf-8', '<p>sub</p>'],
    ['/app.js', 'text/javascript; charset=utf-8', 'export const x = 1;'],
    ['/mod.mjs', 'text/javascript; charset=utf-8'],
    ['/app.css', 'text/css; charset=utf-8'],
    ['/manifest.webmanifest', 'application/manifest+json'],
    ['/data.json', 'application/json; charset=utf-8'],
    ['/icon.svg', 'image/svg+xml'],
    ['/icon.png', 'image/png'],
    ['/dist/engine.wasm', 'application/wasm'],
    ['/with%20space.txt', 'text/plain; charset=utf-8', 'spaced'],
  ];
  for (const [p, type, body] of cases) {
    const r = await raw(p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers['content-type'], type, p);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    if (body) assert.equal(r.body, body, p);
  }
  const wasm = await fetch(`${s.url}/dist/engine.wasm`);
  assert.deepEqual([...new Uint8Array(await wasm.arrayBuffer())].slice(0, 4), [0, 0x61, 0x73, 0x6d]);
});

test('HEAD, ETag revalidation (304) and no-cache', async () => {
  const head = await raw('/app.js', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['cache-control'], 'no-cache');
  const etag = head.headers.etag;
  const r = await fetch(`${s.url}/app.js`, { headers: { 'If-None-Match': etag } });
  assert.equal(r.status, 304);
});

test('missing files -> 404 JSON', async () => {
  for (const p of ['/nope.js', '/dist/nope.wasm', '/sub/nope/', '/dist']) {
    const r = await raw(p);
    assert.equal(r.status, 404, p);
    assert.match(r.headers['content-type'], /application\/json/);
    assert.deepEqual(JSON.parse(r.body), { error: 'Not found' });
  }
  const post = await api(s.url, '/index.html', { method: 'POST', body: {} });
  assert.equal(post.status, 404);
  assert.equal(typeof post.json.error, 'string');
});

test('path traversal is blocked (encoded dots and slashes, backslashes, symlinks, hidden files)', async () => {
  const attempts = [
    '/../secret.txt',
    '/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/..%2fsecret.txt',
    '/..%5csecret.txt',
    '/..\\secret.txt',
    '/dist/../secret.txt',
    '/dist/..%2f..%2fsecret.txt',
    '/dist/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/%252e%252e/secret.txt',
    '//secret.txt',
    `/${'%2e%2e/'.repeat(12)}etc/passwd`,
    `/..${encodeURIComponent(path.sep)}..${encodeURIComponent(path.sep)}etc/passwd`,
    `/${encodeURIComponent(path.join(root, 'secret.txt'))}`,
    '/link.txt',
    '/linkdir/secret.txt',
    '/.env',
    '/sub/%2e%65nv',
    '/%00secret.txt',
    '/%E0%A4%A',
  ];
  for (const p of attempts) {
    const r = await raw(p);
    assert.ok([400, 404].includes(r.status), `${p} -> ${r.status}`);
    assert.ok(!r.body.includes(SECRET), `${p} leaked the file`);
    assert.ok(!r.body.includes('root:'), `${p} leaked /etc/passwd`);
    assert.equal(typeof JSON.parse(r.body).error, 'string', p);
  }
});

test('API paths never fall through to static files', async () => {
  const r = await raw('/api/index.html');
  assert.equal(r.status, 404);
  assert.deepEqual(JSON.parse(r.body), { error: 'Not found' });
});

test('default mounts: "/" -> web/app, "/dist/" -> dist, "/js/" -> js', () => {
  assert.deepEqual(DEFAULTS.staticDirs, {
    '/': path.join(REPO_ROOT, 'web', 'app'),
    '/dist/': path.join(REPO_ROOT, 'dist'),
    '/js/': path.join(REPO_ROOT, 'js'),
  });
});

test('the default server serves the demo app from web/app', async (t) => {
  if (!fs.existsSync(path.join(REPO_ROOT, 'web', 'app', 'index.html'))) return t.skip('web/app not present yet');
  const d = await startServer({ staticDirs: undefined });
  try {
    const r = await fetch(`${d.url}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/html/);
  } finally {
    await d.close();
  }
});
