// A small fault-injecting HTTP proxy for the sync tests: forwards to a target server, or answers
// the next matching request(s) with a fault.
//
//   const proxy = await startFaultProxy(targetUrl);
//   proxy.inject({ path: '/api/sync/push', fault: '500', times: 1 });
//   ... proxy.url ...
//   await proxy.close();
//
// Faults: "500" (JSON error), "html" (HTML error page, status 502), "malformed" (200 with broken
// JSON), "reset" (socket destroyed before any answer), "timeout" (no answer at all),
// "reset-after" (request forwarded, the server's answer dropped: the server did the work).
import http from 'node:http';
import { before, after } from 'node:test';
import { startReferenceServer } from './env.mjs';

// Hooks for a test file: a reference server with a fault proxy in front of it, started before the
// file's tests and closed after them. `env.server` and `env.proxy` are set once `before` has run.
export function serverBehindFaultProxy() {
  const env = { server: null, proxy: null };
  before(async () => {
    env.server = await startReferenceServer();
    env.proxy = await startFaultProxy(env.server.url);
  });
  after(async () => {
    await env.proxy?.close();
    await env.server?.close();
  });
  return env;
}

export async function startFaultProxy(target) {
  const targetUrl = new URL(target);
  const faults = [];
  const log = [];
  const hanging = new Set();

  const forward = (req, body, onResponse) => {
    const upstream = http.request({
      host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: targetUrl.host },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => onResponse(res.statusCode, res.headers, Buffer.concat(chunks)));
    });
    upstream.on('error', () => onResponse(502, { 'content-type': 'text/plain' }, Buffer.from('bad gateway')));
    upstream.end(body);
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url.split('?')[0];
      const index = faults.findIndex((f) => path.startsWith(f.path) && (!f.method || f.method === req.method));
      const fault = index >= 0 ? faults[index] : null;
      if (fault && --fault.times <= 0) faults.splice(index, 1);
      log.push({ method: req.method, url: req.url, fault: fault?.fault ?? null });
      switch (fault?.fault) {
        case undefined:
          return forward(req, body, (status, headers, data) => {
            res.writeHead(status, headers);
            res.end(data);
          });
        case '500':
          res.writeHead(500, { 'Content-Type': 'application/json' });
          return res.end(JSON.stringify({ error: 'Injected internal error' }));
        case 'html':
          res.writeHead(502, { 'Content-Type': 'text/html' });
          return res.end('<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>');
        case 'malformed':
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return res.end('{"events": [ {"guid": ');
        case 'reset':
          return req.socket.destroy();
        case 'timeout':
          hanging.add(res);
          return undefined;  // never answers; the client's timeout must fire
        case 'reset-after':
          return forward(req, body, () => req.socket.destroy());
        default:
          throw new Error(`unknown fault ${fault.fault}`);
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    log,
    inject({ path, fault, times = 1, method }) {
      faults.push({ path, fault, times, method });
    },
    clear() {
      faults.length = 0;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
