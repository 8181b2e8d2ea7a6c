// Household survey: the demo PWA of the DataCollect sync engine. Native ES modules, no framework,
// no build step; everything goes through the package's public API (js/index.d.ts), via data/.
//   app.js         boot: load the package, open the store (one tab at a time), sign in or enter
//   data/          the store and sync manager as the views use them
//   router.js      #/routes -> views/
//   views/         list, detail, forms, duplicates, sync panel, login
//   lib/           DOM helpers, labels and formatting, error labels
import { $ } from './lib/dom.js';
import { ERROR_LABELS, humanError } from './lib/error-labels.js';
import { app, closeStore, openStore, saveSession } from './data/store.js';
import { isLoggedIn, logout, startAutoSync } from './data/sync.js';
import { createRouter } from './router.js';
import { mountLogin, showLogin } from './views/login.js';
import { mountSyncPanel } from './views/sync-panel.js';

const router = createRouter($('#view'));
let unmountPanel = null;

function showOnly(which) {
  $('#boot').hidden = which !== 'boot';
  $('#login').hidden = which !== 'login';
  $('#app').hidden = which !== 'app';
  const signedIn = which === 'app';
  $('#logout-btn').hidden = !signedIn;
  const ul = $('[data-testid="user-label"]');
  ul.hidden = !signedIn;
  ul.textContent = signedIn && app.session ? app.session.email || app.session.userId : '';
}

function updateNet() {
  const el = $('[data-testid="net-status"]');
  el.dataset.online = String(navigator.onLine);
  $('.net-text', el).textContent = navigator.onLine ? 'Online' : 'Offline';
}

let lockTimer = null;
async function start() {
  const msg = $('#boot-msg');
  showOnly('boot');
  try {
    msg.textContent = 'Opening the data stored on this device.';
    await openStore();
  } catch (err) {
    document.body.dataset.ready = 'false';
    if (err && err.code === 'STORE_LOCKED') {
      $('#boot-title').textContent = 'Open in another tab';
      msg.textContent = humanError(err);
      $('#boot').dataset.state = 'locked';
      clearTimeout(lockTimer);
      lockTimer = setTimeout(start, 1500);
      return;
    }
    $('#boot-title').textContent = 'Could not start';
    $('#boot').dataset.state = 'error';
    console.error('Opening the store failed:', err && err.code, err && err.message);
    msg.textContent = err && err.code ? humanError(err) : humanError({ code: 'LOAD_FAILED', message: (err && err.message) || String(err) });
    $('#boot-retry').hidden = false;
    return;
  }
  checkErrorLabels();
  $('#boot').dataset.state = 'open';
  if (await isLoggedIn()) enterApp(); else toLogin();
}

// The labels are keyed by the package's codes; a package newer than the app may add one.
function checkErrorLabels() {
  const missing = (app.pkg.ErrorCodes || []).filter((c) => !Object.hasOwn(ERROR_LABELS, c));
  if (missing.length) console.warn(`No label for error code(s) ${missing.join(', ')}; they are shown with the engine's message`);
}

function toLogin(message) {
  showOnly('login');
  document.body.dataset.ready = 'login';
  showLogin(message);
}

function enterApp() {
  showOnly('app');
  document.body.dataset.ready = 'true';
  unmountPanel?.();
  unmountPanel = mountSyncPanel({ onSignInAgain: signOut });
  router.start();
  startAutoSync(); // its first sync starts at once
}

async function signOut() {
  try { await logout(); } catch { /* still sign out locally */ }
  router.stop();
  unmountPanel?.();
  unmountPanel = null;
  const email = app.session && app.session.email;
  saveSession(null);
  if (email) $('#login-email').value = email;
  toLogin();
}

function registerServiceWorker() {
  const el = $('#sw-state');
  if (!('serviceWorker' in navigator)) { el.textContent = 'Offline mode is not available in this browser.'; return; }
  navigator.serviceWorker.register('sw.js').then(() => navigator.serviceWorker.ready).then(() => {
    el.textContent = 'Available offline.';
    document.body.dataset.sw = 'ready';
  }).catch(() => { el.textContent = 'Offline mode could not be set up.'; });
}

function boot() {
  registerServiceWorker();
  updateNet();
  addEventListener('online', updateNet);
  addEventListener('offline', updateNet);
  mountLogin({ onSignedIn: enterApp });
  $('#logout-btn').addEventListener('click', signOut);
  $('#boot-retry').addEventListener('click', () => { $('#boot-retry').hidden = true; start(); });
  // Release the store (and its Web Lock) as soon as the page goes away, so another tab can open it;
  // a page restored from the back/forward cache then reopens from scratch.
  addEventListener('pagehide', closeStore);
  addEventListener('pageshow', (ev) => { if (ev.persisted) location.reload(); });
  start();
}

// For debugging and for the browser tests (read-only use).
/** @type {any} */ (window).__dcApp = { state: app };

boot();
