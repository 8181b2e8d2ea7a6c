// New household (#/new-household, with its members) and edit household (#/entity/<guid>/edit).
import { $, h, toast, uuid } from '../lib/dom.js';
import { displayName } from '../lib/format.js';
import { humanError } from '../lib/error-labels.js';
import { submit } from '../data/store.js';
import { changedFields, field, formError, personFields, readPerson } from './fields.js';

const entityHref = (guid) => `#/entity/${encodeURIComponent(guid)}`;

export function newHouseholdForm() {
  const members = h('div', { class: 'members', testid: 'member-rows' });
  function addRow(data = {}) {
    const i = members.children.length + 1;
    const fs = h('fieldset', { class: 'member', testid: 'member-row' },
      h('legend', {}, `Member ${i}`),
      h('div', { class: 'grid' }, personFields('member-', data, { idx: `-${i}` })),
      h('button', { type: 'button', class: 'btn btn-quiet btn-small', testid: `member-remove-${i}`, onclick: () => { fs.remove(); renumber(); } }, `Remove member ${i}`));
    members.append(fs);
    return fs;
  }
  function renumber() {
    [...members.children].forEach((fs, k) => {
      $('legend', fs).textContent = `Member ${k + 1}`;
      const b = $('button', fs); b.textContent = `Remove member ${k + 1}`; b.dataset.testid = `member-remove-${k + 1}`;
      for (const el of fs.querySelectorAll('[data-testid^="member-"]')) {
        if (el.tagName !== 'BUTTON') el.dataset.testid = el.dataset.testid.replace(/-\d+$/, `-${k + 1}`);
      }
    });
  }
  addRow({ relationship: 'head' });
  const form = h('form', { class: 'panel form', testid: 'household-form', novalidate: true, 'aria-labelledby': 'hh-title' },
    h('h1', { id: 'hh-title', tabindex: '-1' }, 'Register a household'),
    h('div', { class: 'grid' },
      field('Household name', h('input', { name: 'hh-name', required: true, autocomplete: 'off', testid: 'household-name' }), 'Usually the family name of the head'),
      field('Village / address', h('input', { name: 'hh-village', autocomplete: 'off', testid: 'household-village' }))),
    h('h2', {}, 'Members'),
    members,
    h('button', { type: 'button', class: 'btn', testid: 'add-member-row', onclick: () => { const fs = addRow(); $('input', fs).focus(); } }, '+ Add a member'),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'household-save' }, 'Save household'),
      h('a', { href: '#/list', class: 'btn btn-quiet' }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = form.elements['hh-name'].value.trim();
    const village = form.elements['hh-village'].value.trim();
    const rows = [...members.children].map(readPerson);
    if (!name) return formError(form, 'Enter the household name.');
    const bad = rows.findIndex((r) => !r.name);
    if (bad >= 0) return formError(form, `Enter the name of member ${bad + 1}, or remove that member.`);
    const guid = uuid();
    const data = { name };
    if (village) data.village = village;
    data.members = rows.map((r) => ({ guid: uuid(), type: 'individual', ...r }));
    const btn = $('[data-testid="household-save"]', form);
    btn.disabled = true;
    try {
      await submit({ entityGuid: guid, type: 'create-group', data });
      toast(`Household “${name}” saved on this device.`);
      location.hash = entityHref(guid);
    } catch (e) { formError(form, humanError(e)); btn.disabled = false; }
  });
  return form;
}

export function editHouseholdForm(g) {
  const d = g.data || {};
  const form = h('form', { class: 'panel form', testid: 'household-edit-form', novalidate: true, 'aria-labelledby': 'hh-edit-title' },
    h('h1', { id: 'hh-edit-title', tabindex: '-1' }, `Edit ${displayName(g)}`),
    h('div', { class: 'grid' },
      field('Household name', h('input', { name: 'name', required: true, value: d.name || '', testid: 'household-name' })),
      field('Village / address', h('input', { name: 'village', value: d.village || '', testid: 'household-village' }))),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'household-save' }, 'Save changes'),
      h('a', { href: entityHref(g.guid), class: 'btn btn-quiet' }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const next = { name: form.elements.name.value.trim(), village: form.elements.village.value.trim() };
    if (!next.name) return formError(form, 'Enter the household name.');
    const payload = changedFields(next, d, ['name', 'village']);
    if (!payload) { location.hash = entityHref(g.guid); return; }
    try {
      await submit({ entityGuid: g.guid, type: 'update-group', data: payload });
      toast('Changes saved on this device.');
      location.hash = entityHref(g.guid);
    } catch (e) { formError(form, humanError(e)); }
  });
  return form;
}
