// Hash router: #/<name>/<arg>/<sub> -> a view. A view resolves with a node, or with
// {node, dispose} when it keeps subscriptions (live lists, detail pages); dispose runs when the
// user leaves it.
import { $, h } from './lib/dom.js';
import { humanError } from './lib/error-labels.js';
import { isGroup } from './lib/format.js';
import { getEntity } from './data/store.js';
import { listView } from './views/list.js';
import { detailView, notFound } from './views/detail.js';
import { personForm } from './views/person-form.js';
import { editHouseholdForm, newHouseholdForm } from './views/household-form.js';
import { duplicatesView } from './views/duplicates.js';

async function editView({ guid }) {
  const e = await getEntity(guid);
  if (!e) return notFound();
  return isGroup(e) ? editHouseholdForm(e) : personForm(e);
}

function resolveRoute(hash) {
  const [name, arg, sub] = hash.replace(/^#\/?/, '').split('/');
  const guid = arg ? decodeURIComponent(arg) : '';
  if (name === 'new-household') return { tab: name, view: newHouseholdForm };
  if (name === 'new-individual') return { tab: name, view: () => personForm(null) };
  if (name === 'entity' && guid && sub === 'edit') return { view: editView, params: { guid } };
  if (name === 'entity' && guid) return { view: detailView, params: { guid } };
  if (name === 'duplicates') return { tab: name, view: duplicatesView };
  return { tab: 'list', view: listView };
}

export function createRouter(outlet) {
  let seq = 0;
  let dispose = null;
  let lastHash = '';
  let active = false;

  async function render() {
    if (!active) return;
    const mine = ++seq;
    const { tab, view, params = {} } = resolveRoute(location.hash);
    for (const a of document.querySelectorAll('.tabs a')) {
      if (a.getAttribute('href') === `#/${tab}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    let out;
    try {
      out = await view(/** @type {{guid: string}} */ (params));
    } catch (e) {
      out = h('section', { class: 'panel' }, h('h1', { tabindex: '-1' }, 'Could not show this page'), h('p', { class: 'form-error', role: 'alert' }, humanError(e)));
    }
    const { node, dispose: next } = out instanceof Node ? { node: out } : out;
    if (mine !== seq) { next?.(); return; } // a newer navigation won
    dispose?.();
    dispose = next || null;
    const focusWasInView = outlet.contains(document.activeElement);
    outlet.replaceChildren(node);
    const h1 = $('h1', outlet);
    if (h1 && (focusWasInView || lastHash !== location.hash)) h1.focus({ preventScroll: false });
    lastHash = location.hash;
  }

  addEventListener('hashchange', render);
  return {
    start() {
      active = true;
      if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/list'; // fires hashchange
      else render();
    },
    stop() {
      active = false;
      seq++;
      dispose?.();
      dispose = null;
      outlet.replaceChildren();
    },
  };
}
