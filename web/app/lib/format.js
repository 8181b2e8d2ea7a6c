// Labels and formatting of the survey's fields.
export const SEX = [['', 'Select…'], ['female', 'Female'], ['male', 'Male'], ['other', 'Other'], ['unknown', 'Prefer not to say']];
export const RELATIONSHIP = [['', 'Select…'], ['head', 'Head of household'], ['spouse', 'Spouse / partner'], ['child', 'Child'],
  ['parent', 'Parent'], ['sibling', 'Sibling'], ['grandchild', 'Grandchild'], ['other-relative', 'Other relative'],
  ['non-relative', 'Not related']];
export const FIELD_LABELS = { name: 'Name', dateOfBirth: 'Date of birth', sex: 'Sex', relationship: 'Relationship', village: 'Village / address', phone: 'Phone', externalId: 'External ID' };
export const SEARCH_FIELDS = [['sex', 'Sex'], ['relationship', 'Relationship'], ['dateOfBirth', 'Date of birth'], ['village', 'Village / address'], ['type', 'Record type (individual / group)']];

export const isGroup = (e) => !!e && e.type === 'group';
export const displayName = (e) => (e && (e.name || (e.data && e.data.name))) || (isGroup(e) ? 'Unnamed household' : 'Unnamed person');
const labelOf = (list, v) => (list.find(([k]) => k === v) || [null, v])[1];

export function formatValue(key, v) {
  if (v === undefined || v === null || v === '') return '—';
  if (key === 'sex') return labelOf(SEX, v);
  if (key === 'relationship') return labelOf(RELATIONSHIP, v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function ageOf(dob) {
  const d = Date.parse(dob);
  if (Number.isNaN(d)) return '';
  const now = new Date(); const b = new Date(d);
  let a = now.getFullYear() - b.getFullYear();
  if (now.getMonth() < b.getMonth() || (now.getMonth() === b.getMonth() && now.getDate() < b.getDate())) a--;
  return a >= 0 ? `${a} y` : '';
}

export function fmtTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

// "just now", "5 min ago", "3 h ago", else the date and time.
export function fmtAgo(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 6 * 3600) return `${Math.round(s / 3600)} h ago`;
  return fmtTime(iso);
}

export const plural = (n, one, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

// A case-insensitive "contains" search criterion on one field.
export function containsCriterion(field, text) {
  return { [field]: { $regex: text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), $options: 'i' } };
}
