// New person (#/new-individual) and edit person (#/entity/<guid>/edit of an individual).
import { h, toast, uuid } from '../lib/dom.js';
import { displayName } from '../lib/format.js';
import { humanError } from '../lib/error-labels.js';
import { submit } from '../data/store.js';
import { changedFields, field, formError, personFields, readPerson } from './fields.js';

const entityHref = (guid) => `#/entity/${encodeURIComponent(guid)}`;

export function personForm(existing) {
  const d = (existing && existing.data) || {};
  const editing = !!existing;
  const form = h('form', { class: 'panel form', testid: 'individual-form', novalidate: true, 'aria-labelledby': 'ind-title' },
    h('h1', { id: 'ind-title', tabindex: '-1' }, editing ? `Edit ${displayName(existing)}` : 'Register a person'),
    h('div', { class: 'grid' },
      personFields('person-', d, { withRelationship: false }),
      field('Phone', h('input', { name: 'phone', type: 'tel', value: d.phone || '', autocomplete: 'off', testid: 'person-phone' }))),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'person-save' }, editing ? 'Save changes' : 'Save person'),
      h('a', { href: editing ? entityHref(existing.guid) : '#/list', class: 'btn btn-quiet' }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = readPerson(form);
    if (!data.name) return formError(form, 'Enter the person’s full name.');
    const guid = editing ? existing.guid : uuid();
    const payload = editing ? changedFields(data, d, ['name', 'dateOfBirth', 'sex', 'phone']) : data;
    if (!payload) { location.hash = entityHref(guid); return; }
    try {
      await submit({ entityGuid: guid, type: editing ? 'update-individual' : 'create-individual', data: payload });
      toast(editing ? 'Changes saved on this device.' : `“${data.name}” saved on this device.`);
      location.hash = entityHref(guid);
    } catch (e) { formError(form, humanError(e)); }
  });
  return form;
}
