// A counting HTTP proxy on 127.0.0.1: counts requests and bytes per route, and can make the
// reference server behave like the original one on pull (10 events a page) by rewriting `limit`.
import http from 'node:http';

export async function startCountingProxy(targetUrl) {
  const target = new URL(targetUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const state = { counts: {}, bytesIn: 0, bytesOut: 0, forcePullLimit: null };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const route = `${req.method} ${url.pathname}`;
    state.counts[route] = (state.counts[route] ?? 0) + 1;
    if (state.forcePullLimit && url.pathname === '/api/sync/pull') url.searchParams.set('limit', String(state.forcePullLimit));
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: url.pathname + url.search, headers: req.headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode, upRes.headers);
        upRes.on('data', (c) => (state.bytesOut += c.length));
        upRes.pipe(res);
      },
    );
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `proxy: ${e.message}` }));
    });
    req.on('data', (c) => (state.bytesIn += c.length));
    req.pipe(up);
  });
  server.keepAliveTimeout = 5000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    reset() {
      state.counts = {};
      state.bytesIn = 0;
      state.bytesOut = 0;
    },
    snapshot() {
      const c = { ...state.counts };
      const total = Object.values(c).reduce((a, b) => a + b, 0);
      return { counts: c, total, bytesIn: state.bytesIn, bytesOut: state.bytesOut };
    },
    async close() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}
