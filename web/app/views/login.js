// Sign in (the static form of index.html). The password is only passed to the sync manager.
import { $ } from '../lib/dom.js';
import { humanError } from '../lib/error-labels.js';
import { app, saveSession } from '../data/store.js';
import { login } from '../data/sync.js';

export function showLogin(message) {
  const err = $('#login-error');
  err.hidden = !message; err.textContent = message || '';
  if (app.session && app.session.email) $('#login-email').value = app.session.email;
  $('#login-email').focus();
}

export function mountLogin({ onSignedIn }) {
  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const email = $('#login-email').value.trim();
    const password = $('#login-password').value;
    const err = $('#login-error');
    const btn = $('[data-testid="login-submit"]');
    err.hidden = true;
    if (!email || !password) { err.textContent = 'Enter your email and password.'; err.hidden = false; return; }
    if (!navigator.onLine) { err.textContent = 'You are offline. Signing in needs the sync server once; connect and try again.'; err.hidden = false; return; }
    btn.disabled = true; btn.textContent = 'Signing in…';
    try {
      const r = await login(email, password);
      saveSession({ email, userId: r && r.userId != null ? String(r.userId) : email });
      $('#login-password').value = '';
      onSignedIn();
    } catch (e) {
      err.textContent = e && e.code === 'UNAUTHORIZED' ? 'Wrong email or password.' : humanError(e);
      err.hidden = false;
    } finally {
      btn.disabled = false; btn.textContent = 'Sign in';
    }
  });
}
