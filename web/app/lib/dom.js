// DOM helpers shared by every view: h('div', {class: 'x', onclick: fn}, 'text', child).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

let toastTimer = 0;
export function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; plain http on a LAN address is not one.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((n) => n.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// "Are you sure?" in place of the button, without a modal dialog.
export function confirmButton(label, confirmLabel, testid, action, cls = 'btn btn-danger') {
  const wrap = h('span', { class: 'confirm' });
  const first = h('button', { type: 'button', class: cls, testid, onclick: () => {
    wrap.replaceChildren(
      h('span', { class: 'small', role: 'status' }, 'Are you sure? '),
      h('button', { type: 'button', class: 'btn btn-danger btn-small', testid: `${testid}-confirm`, onclick: action }, confirmLabel),
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => { wrap.replaceChildren(first); first.focus(); } }, 'Cancel'));
    $('[data-testid$="-confirm"]', wrap).focus();
  } }, label);
  wrap.append(first);
  return wrap;
}
