// A form's `data` must be plain JSON: JSON.stringify would silently turn a Uint8Array into
// {"0":1,...}, a Date into a string, a Map or Set into {}, NaN into null, and drop functions.
// Such values are rejected with INVALID_FORM naming where they are (binary content belongs in
// a base64 string or outside the event).
import { DataCollectError } from './errors.js';

function describe(value) {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'number') return String(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `binary data (${value.constructor?.name ?? 'ArrayBuffer'})`;
  if (typeof Blob !== 'undefined' && value instanceof Blob) return `binary data (${value.constructor?.name ?? 'Blob'})`;
  return `a ${value?.constructor?.name ?? 'non-plain object'}`;
}

function isPlainContainer(value) {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const keyPath = (path, key) => (Array.isArray(key) ? `${path}[${key[0]}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

// Throws INVALID_FORM at the first value that is not JSON; iterative (hostile forms nest deeply).
export function checkFormData(form, what = 'Form submission') {
  if (!form || typeof form !== 'object' || !('data' in form)) return;
  const seen = new WeakSet();
  const stack = [[form.data, 'data']];
  while (stack.length) {
    const [value, path] = stack.pop();
    const type = typeof value;
    if (value === null || type === 'string' || type === 'boolean' || type === 'undefined') continue;
    if (type === 'number') {
      if (Number.isFinite(value)) continue;
    } else if (type === 'object' && isPlainContainer(value)) {
      if (seen.has(value)) continue;  // a cycle: JSON.stringify reports it
      seen.add(value);
      if (Array.isArray(value)) value.forEach((item, i) => stack.push([item, keyPath(path, [i])]));
      else for (const key of Object.keys(value)) stack.push([value[key], keyPath(path, key)]);
      continue;
    }
    throw new DataCollectError('INVALID_FORM',
      `${what}: ${path} is ${describe(value)}, which JSON cannot store; use plain JSON values (strings, numbers, booleans, null, arrays, objects)${
        type === 'object' && value instanceof Date ? ', e.g. an ISO-8601 string' : ''}`);
  }
}
