// Canonical JSON (keys sorted recursively, no whitespace) and its SHA-256. Push idempotency
// compares events by this form, so a client resending an event whose `data` keys come in another
// order, or whose syncLevel changed, is recognised as the same event (SPEC §6.1 lets servers
// reorder keys, so clients may too).
import { createHash } from 'node:crypto';

export function canonicalJson(value) {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify(undefined) is undefined; treat like JSON.stringify does inside arrays.
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
}

export function sha256Hex(text) {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
