// Form parts shared by the person and household forms.
import { $, h } from '../lib/dom.js';
import { RELATIONSHIP, SEX } from '../lib/format.js';

let fieldSeq = 0;
export function field(label, input, hint) {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('span', { class: 'hint muted small' }, hint) : null);
}

export function select(name, options, value, extra = {}) {
  return h('select', { name, ...extra }, options.map(([k, l]) => h('option', { value: k, selected: k === (value || '') }, l)));
}

export function personFields(prefix, data = {}, { withRelationship = true, idx = '' } = {}) {
  const t = (n) => `${prefix}${n}${idx}`;
  return [
    field('Full name', h('input', { name: 'name', required: true, value: data.name || '', autocomplete: 'off', testid: t('name') })),
    field('Date of birth', h('input', { name: 'dateOfBirth', type: 'date', value: data.dateOfBirth || '', max: new Date().toISOString().slice(0, 10), testid: t('dob') })),
    field('Sex', select('sex', SEX, data.sex, { testid: t('sex') })),
    withRelationship ? field('Relationship to head', select('relationship', RELATIONSHIP, data.relationship, { testid: t('relationship') })) : null,
  ];
}

export function readPerson(root) {
  const out = {};
  for (const el of root.querySelectorAll('input[name], select[name]')) {
    const v = el.value.trim();
    if (v) out[el.name] = v;
  }
  return out;
}

export function formError(form, text) {
  let el = $('.form-error', form);
  if (!el) { el = h('p', { class: 'form-error', role: 'alert', testid: 'form-error' }); form.querySelector('.form-actions').before(el); }
  el.textContent = text; el.hidden = !text;
}

// Only the fields that changed (a cleared field becomes ""), or null when nothing did.
export function changedFields(next, prev, keys) {
  const out = {};
  for (const k of keys) {
    const nv = next[k] || ''; const ov = prev[k] || '';
    if (nv !== ov) out[k] = nv;
  }
  return Object.keys(out).length ? out : null;
}
