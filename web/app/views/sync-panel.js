// The sync panel (always visible once signed in), drawn from the sync manager's status:
// idle / pushing / pulling (with a real bar: done of total) / offline (calm: the data is safe and
// syncs by itself) / error (red, with what to do). Also the unsynced badge, the persisted
// last-sync time, the duplicates that block sync, and the outcome of a sync started here.
import { $, h } from '../lib/dom.js';
import { fmtAgo, fmtTime, plural } from '../lib/format.js';
import { humanError } from '../lib/error-labels.js';
import { onChange, potentialDuplicates } from '../data/store.js';
import { onSyncStatus, syncNow } from '../data/sync.js';

const PHASE_TEXT = { push: 'Sending changes', audit: 'Sending history', pull: 'Downloading changes' };
const isRunning = (s) => s.state === 'pushing' || s.state === 'pulling';

export function mountSyncPanel({ onSignInAgain }) {
  const panel = $('[data-testid="sync-panel"]');
  const btn = $('#sync-btn');
  const bar = $('#sync-progress');
  const phase = $('#sync-phase');
  const badge = $('#unsynced-badge');
  const blocked = $('#sync-blocked');
  const offline = $('#sync-offline');
  const result = $('#sync-status');
  const error = $('#sync-error');
  const last = $('#last-synced');

  let status = null;
  let duplicates = 0;
  let wasRunning = false;

  function drawButton() {
    const running = status && isRunning(status);
    btn.disabled = duplicates > 0 || running || !navigator.onLine;
    btn.textContent = running ? 'Syncing…' : 'Sync now';
    if (running) btn.setAttribute('aria-busy', 'true'); else btn.removeAttribute('aria-busy');
    btn.setAttribute('aria-describedby', duplicates > 0 ? 'sync-blocked' : !navigator.onLine ? 'sync-offline' : 'sync-status');
  }

  function drawLast() {
    const at = status && status.lastSyncedAt;
    last.dataset.at = at || '';
    last.textContent = at ? `Last synced ${fmtAgo(at)} (${fmtTime(at)})` : 'Not synced yet on this device';
  }

  // Offline, or the server out of reach: said calmly, because nothing is wrong with the data.
  function drawOffline(s) {
    const unreachable = s.state === 'offline' || (s.lastError && s.lastError.code === 'NETWORK' && s.state !== 'idle' && !isRunning(s));
    offline.hidden = !unreachable;
    if (!unreachable) return;
    const pending = s.unsynced ? `${plural(s.unsynced, 'change')} saved on this device will be sent` : 'New changes will sync';
    offline.textContent = navigator.onLine
      ? `The sync server cannot be reached right now. ${pending} automatically when it can be reached again.`
      : `You are offline. ${pending} automatically when the connection is back.`;
  }

  function drawError(err) {
    const show = !!err && err.code !== 'NETWORK' && err.code !== 'DUPLICATES_EXIST';
    error.hidden = !show;
    if (!show) { error.dataset.code = ''; return; }
    error.dataset.code = err.code || '';
    error.replaceChildren(humanError(err));
    if (err.code === 'UNAUTHORIZED') {
      error.append(' ', h('button', { type: 'button', class: 'btn btn-small', testid: 'relogin', onclick: onSignInAgain }, 'Sign in again'));
    }
  }

  function drawProgress(s) {
    const running = isRunning(s);
    if (running && !wasRunning) { // a sync starts (from here, automatic, or after coming online)
      bar.dataset.phases = '';
      error.hidden = true;
    }
    if (running) {
      bar.dataset.state = 'running';
      const p = s.progress;
      if (p) {
        const seen = new Set((bar.dataset.phases || '').split(' ').filter(Boolean));
        seen.add(p.phase);
        bar.dataset.phases = [...seen].join(' ');
      }
      if (p && p.total > 0) {
        bar.max = p.total;
        bar.value = Math.min(p.done, p.total);
        phase.textContent = `${PHASE_TEXT[p.phase] || 'Syncing'}: ${p.done.toLocaleString('en')} of ${p.total.toLocaleString('en')}`;
      } else {
        bar.removeAttribute('value'); // indeterminate until a total is known
        phase.textContent = p ? `${PHASE_TEXT[p.phase] || 'Syncing'}: ${p.done.toLocaleString('en')}` : 'Starting';
      }
    } else if (wasRunning) { // a sync ended
      if (s.state === 'idle') {
        bar.max = 1; bar.value = 1; bar.dataset.state = 'done'; phase.textContent = 'Done';
      } else if (s.lastError && s.lastError.code === 'DUPLICATES_EXIST') {
        bar.max = 1; bar.value = 0; bar.dataset.state = 'blocked'; phase.textContent = 'Waiting for the duplicates to be resolved';
      } else if (s.state === 'offline' || (s.lastError && s.lastError.code === 'NETWORK')) {
        bar.max = 1; bar.value = 0; bar.dataset.state = 'offline'; phase.textContent = 'Waiting for the network';
      } else {
        bar.max = 1; bar.value = 0; bar.dataset.state = 'error'; phase.textContent = 'Failed';
      }
    }
    if (!running && s.state === 'offline') { // nothing moves until the network is back
      bar.max = 1; bar.value = 0; bar.dataset.state = 'offline'; phase.textContent = 'Waiting for the network';
    }
    document.body.dataset.syncing = String(running);
    wasRunning = running;
  }

  function draw(next) {
    // The browser knows it is offline before the next automatic sync finds out.
    const s = !navigator.onLine && !isRunning(next) ? { ...next, state: 'offline' } : next;
    status = next;
    panel.dataset.state = duplicates > 0 ? 'blocked' : s.state;
    const n = Number(s.unsynced) || 0;
    badge.textContent = String(n);
    badge.dataset.count = String(n);
    badge.setAttribute('aria-label', `${plural(n, 'change')} not yet synced`);
    drawProgress(s);
    drawOffline(s);
    if (!isRunning(s)) drawError(s.state === 'error' ? s.lastError : null);
    drawLast();
    drawButton();
  }

  async function refreshDuplicates() {
    const before = duplicates;
    try { duplicates = (await potentialDuplicates()).length; } catch { return; /* store closing */ }
    // The last pair resolved: sync now rather than when the automatic sync's backoff ends.
    if (before > 0 && duplicates === 0 && navigator.onLine) syncNow().catch(() => { /* shown by the status */ });
    const dc = $('#dup-count');
    dc.hidden = duplicates === 0; dc.textContent = String(duplicates);
    blocked.hidden = duplicates === 0;
    if (duplicates > 0) {
      blocked.replaceChildren(`Sync is blocked: ${plural(duplicates, 'potential duplicate')} must be resolved first. `,
        h('a', { href: '#/duplicates' }, 'Review duplicates'));
    }
    if (status) draw(status);
  }

  // The outcome of a sync started with the button (automatic ones show in the last-sync line).
  function showResult(x) {
    const n = (v) => (Array.isArray(v) ? v.length : Number(v) || 0);
    result.replaceChildren(
      h('span', { testid: 'last-result' }, `Last sync ${new Date().toLocaleTimeString()}: `,
        h('span', { testid: 'result-pushed' }, `${n(x.pushed)} sent`), ', ',
        // "received" = events new to this device (applied), not our own events echoed back by the pull.
        h('span', { testid: 'result-pulled' }, `${n(x.applied ?? x.pulled)} received`), ', ',
        h('span', { testid: 'result-rejected' }, `${n(x.rejected)} rejected`), ', ',
        h('span', { testid: 'result-conflicts' }, plural(n(x.conflicts), 'conflict')), '.'));
    if (n(x.rejected)) result.append(' Rejected changes are kept on this device and listed in the record\'s history.');
    if (n(x.conflicts)) result.append(' Concurrent edits were merged in a fixed order; every device ends with the same result.');
  }

  btn.addEventListener('click', async () => {
    result.textContent = '';
    try {
      showResult((await syncNow()) || {});
    } catch (e) {
      // The status shows offline and errors; a refusal before the sync started may not reach it.
      if (e && e.code === 'NETWORK') drawOffline({ ...status, state: 'offline' });
      else drawError(e);
      if (!isRunning(status)) {
        bar.dataset.state = e && e.code === 'NETWORK' ? 'offline' : 'error';
      }
    }
  });

  const onNet = () => { if (status) draw(status); };
  addEventListener('online', onNet);
  addEventListener('offline', onNet);
  const ticker = setInterval(drawLast, 30_000);
  const offStatus = onSyncStatus(draw);
  const offChange = onChange(() => refreshDuplicates());
  refreshDuplicates();

  return () => {
    offStatus(); offChange(); clearInterval(ticker);
    removeEventListener('online', onNet); removeEventListener('offline', onNet);
    document.body.dataset.syncing = 'false';
  };
}
