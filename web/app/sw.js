// Service worker of the household survey PWA.
// - The app shell, every module of the app (found by following the static imports of app.js, so
//   a new module needs no list here), every module of the package (the same, from /js/browser.js)
//   and its wasm build (/dist/datacollect.mjs, .wasm) are precached at install. They are then
//   served network-first with a short timeout (a rebuilt package or app is picked up at once, and
//   the JS and wasm always come from the same build when online), falling back to the cache when
//   offline or when the network is too slow.
// - /api/* is never cached and never answered from cache: it always goes to the network, so the
//   sync engine sees real network errors and reports them (NETWORK) instead of stale data.
const VERSION = 'v2';
const CACHE = `dc-survey-${VERSION}`;
const SHELL = ['./', 'index.html', 'app.css', 'manifest.webmanifest', 'icon.svg'];
const APP_ENTRY = 'app.js';
const PACKAGE_ENTRY = '/js/browser.js';
const WASM = ['/dist/datacollect.wasm']; // fetched by the package's loader, not imported

// Follow the static imports from the entries so every module is cached, whatever files the app
// and the package are split into.
async function moduleGraph(entries) {
  const seen = new Set();
  const queue = [...entries];
  while (queue.length) {
    const url = queue.shift();
    if (seen.has(url)) continue;
    seen.add(url);
    let text = '';
    try {
      const res = await fetch(url, { cache: 'no-cache' });
      if (!res.ok) continue;
      text = await res.text();
    } catch { continue; }
    const re = /(?:import|export)\s*(?:[^'"`;]*?\sfrom\s*)?\(?\s*['"]([^'"]+\.m?js)['"]/g;
    for (const m of text.matchAll(re)) {
      const dep = new URL(m[1], url);
      if (dep.origin === self.location.origin) queue.push(dep.href);
    }
  }
  return [...seen];
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const modules = await moduleGraph([new URL(APP_ENTRY, self.registration.scope).href, new URL(PACKAGE_ENTRY, self.location.origin).href]);
    const urls = [...SHELL.map((u) => new URL(u, self.registration.scope).href), ...modules, ...WASM.map((u) => new URL(u, self.location.origin).href)];
    // Cache each file on its own: one missing file must not make the whole install fail.
    await Promise.all([...new Set(urls)].map(async (u) => {
      try {
        const res = await fetch(u, { cache: 'no-cache' });
        if (res.ok) await cache.put(u, res);
      } catch { /* offline during install: cached on next visit */ }
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key.startsWith('dc-survey-') && key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return; // network only, never cached
  event.respondWith(networkFirst(event, req, url));
});

const NETWORK_TIMEOUT_MS = 3000;

async function networkFirst(event, req, url) {
  const cache = await caches.open(CACHE);
  const isPage = req.mode === 'navigate';
  const key = isPage ? new URL('./', self.registration.scope).href : req;
  const network = fetch(req).then(async (res) => {
    if (res.ok && res.type === 'basic') await cache.put(key, res.clone());
    return res;
  });
  event.waitUntil(network.catch(() => undefined)); // a slow answer still refreshes the cache
  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_TIMEOUT_MS, null));
  try {
    const res = await Promise.race([network, timeout]);
    if (res && (res.ok || res.status === 304 || res.status === 404)) return res;
  } catch { /* offline: use the cache */ }
  const cached = await cache.match(key, { ignoreSearch: isPage, ignoreVary: true });
  if (cached) return cached;
  try {
    return await network;
  } catch (err) {
    if (isPage) {
      const shell = await cache.match(new URL('index.html', self.registration.scope).href);
      if (shell) return shell;
    }
    return new Response(`Offline and not cached: ${url.pathname}`, { status: 503, headers: { 'Content-Type': 'text/plain' } });
  }
}
