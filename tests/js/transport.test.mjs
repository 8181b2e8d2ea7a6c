// The engine's HTTP transport (docs/protocol.md, 'Transport'): js/http-node.js on its own against
// real node:http servers, and the wasm glue (src/wasm/http_glue.js, transport_js.cpp) with a
// misbehaving HTTP implementation put in its place (Module.dcHttp), for the paths a real server
// cannot reach: a body the wasm heap cannot hold, a send that throws, a completion given twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { nodeHttpSend } from '../../js/http-node.js';
import { loadModule, open } from '../../js/index.js';

async function withServer(handler, fn) {
  const sockets = new Set();
  const server = http.createServer(handler);
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn(`http://127.0.0.1:${server.address().port}`, sockets);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
const send = (request) => new Promise((resolve) => {
  let calls = 0;
  nodeHttpSend({ method: 'GET', headers: [], body: null, timeoutMs: 2000, maxBytes: 1024, ...request }, (result) => {
    calls++;
    setTimeout(() => resolve({ ...result, calls }), 50);  // a second call would be counted
  });
});

test('node transport: a redirect is reported, not followed, with or without Location', async () => {
  let hits = 0;
  await withServer((req, res) => {
    hits++;
    res.writeHead(req.url === '/none' ? 301 : 307, req.url === '/none' ? {} : { Location: 'http://127.0.0.1:1/elsewhere' });
    res.end();
  }, async (url) => {
    const r = await send({ url: `${url}/a` });
    assert.deepEqual([r.status, r.redirected, r.location, r.calls], [307, true, 'http://127.0.0.1:1/elsewhere', 1]);
    const none = await send({ url: `${url}/none` });
    assert.deepEqual([none.status, none.redirected, none.location], [301, true, '']);
    assert.equal(hits, 2);
  });
});

test('node transport: a body past maxBytes is cut off, by Content-Length and while streaming', async () => {
  await withServer((req, res) => {
    if (req.url === '/declared') {
      res.writeHead(200, { 'Content-Length': '5000' });
      return res.end('x'.repeat(5000));
    }
    res.writeHead(200);
    const pump = () => { while (!res.destroyed && res.write('y'.repeat(512))); if (!res.destroyed) res.once('drain', pump); };
    pump();
  }, async (url, sockets) => {
    const declared = await send({ url: `${url}/declared` });
    assert.deepEqual([declared.status, declared.tooLarge, declared.calls], [200, true, 1]);
    const streamed = await send({ url: `${url}/endless` });
    assert.deepEqual([streamed.status, streamed.tooLarge], [200, true]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(sockets.size, 0, 'the endless response is still connected');
  });
});

test('node transport: a timeout and an abort close the connection; abort() means no callback', async () => {
  await withServer((req, res) => { res.writeHead(200); res.write('{'); }, async (url, sockets) => {
    const started = Date.now();
    const r = await send({ url, timeoutMs: 200 });
    assert.equal(r.timedOut, true);
    assert.ok(Date.now() - started < 1000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(sockets.size, 0, 'the timed-out request is still connected');
    let called = false;
    const abort = nodeHttpSend({ method: 'GET', url, headers: [], body: null, timeoutMs: 5000, maxBytes: 1024 }, () => { called = true; });
    await new Promise((resolve) => setTimeout(resolve, 100));
    abort();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(called, false);
    assert.equal(sockets.size, 0, 'the aborted request is still connected');
  });
});

test('node transport: a bad URL or a refused connection is an error result, never a throw', async () => {
  for (const url of ['localhost:8080', 'http://[::1', 'ftp://x/']) {
    const r = await send({ url });
    assert.equal(r.status, 0);
    assert.match(r.error, /URL|scheme/i);
  }
  const refused = await send({ url: 'http://127.0.0.1:9/' });
  assert.match(refused.error, /refused/);
});

// The wasm glue with a stand-in for Module.dcHttp.
async function storeWith(dcHttp) {
  const module = await loadModule();
  const saved = module.dcHttp;
  module.dcHttp = dcHttp;
  const store = await open({ name: `glue-${Math.random()}`, storage: 'memory', module, syncServerUrl: 'http://127.0.0.1:9',
    authToken: 't', sync: { maxAttempts: 1 } });
  return { module, store, restore: () => { module.dcHttp = saved; } };
}
const okPull = { status: 200, chunks: [Buffer.from('{"events":[],"nextCursor":null}')], length: 31 };

test('wasm glue: a body the heap cannot hold is BAD_RESPONSE, and the next sync works', async () => {
  let huge = true;
  const { module, store, restore } = await storeWith((request, done) => {
    queueMicrotask(() => done(huge ? { status: 200, chunks: [], length: 3.5 * 1024 ** 3 } : request.url.includes('audit')
      ? { status: 200, chunks: [Buffer.from('[]')], length: 2 } : okPull));
    return () => {};
  });
  try {
    const stack = module.stackSave();
    await assert.rejects(store.syncManager.pullFromRemote(), (e) => e.code === 'BAD_RESPONSE' && /memory/.test(e.message));
    assert.equal(module.stackSave(), stack);
    huge = false;
    const result = await store.syncManager.pullFromRemote();
    assert.equal(result.pulled, 0);
  } finally {
    restore();
    await store.close();
  }
});

test('wasm glue: a send that throws is NETWORK; a completion given twice or synchronously counts once', async () => {
  let mode = 'throw';
  const { store, restore } = await storeWith((request, done) => {
    if (mode === 'throw') throw new Error('boom');
    const result = request.url.includes('audit') ? { status: 200, chunks: [Buffer.from('[]')], length: 2 } : okPull;
    done(result);  // synchronously: against the contract, must still not recurse
    done(result);
    queueMicrotask(() => done(result));
    return () => {};
  });
  try {
    await assert.rejects(store.syncManager.pullFromRemote(), (e) => e.code === 'NETWORK' && /boom/.test(e.message));
    mode = 'twice';
    const result = await store.syncManager.pullFromRemote();
    assert.equal(result.pulled, 0);
  } finally {
    restore();
    await store.close();
  }
});
