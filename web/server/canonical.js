// Canonical JSON (keys sorted recursively, no whitespace) and its SHA-256. Push idempotency
// compares events by this form, so a client resending an event whose `data` keys come in another
// order, or whose syncLevel changed, is recognised as the same event (docs/protocol.md lets servers
// reorder keys, so clients may too).
import crypto from 'node:crypto';

// The definition: what is stored and hashed. canonicalJson() must return exactly this.
export function canonicalJsonReference(value) {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify(undefined) is undefined; treat like JSON.stringify does inside arrays.
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJsonReference).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJsonReference(value[k])}`).join(',')}}`;
}

// True when JSON.stringify(value) equals canonicalJsonReference(value): only plain objects and
// dense arrays whose keys already come in sorted order at every level, and JSON primitives.
// The package's validator returns events parsed from nlohmann::json output, whose keys are
// sorted, so on the push path this holds and the native serialiser does the work.
function alreadyCanonical(value, depth) {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false; // undefined, function, symbol, bigint: serialised differently
  }
  if (depth > 200) return false; // the reference recursion decides (and throws) on deep input
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !alreadyCanonical(value[i], depth + 1)) return false; // holes differ
    }
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false; // toJSON, boxed primitives
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1] < keys[i])) return false; // `<` is sort()'s code-unit order
    if (!alreadyCanonical(value[keys[i]], depth + 1)) return false;
  }
  return true;
}

export function canonicalJson(value) {
  if (alreadyCanonical(value, 0)) return JSON.stringify(value);
  return canonicalJsonReference(value);
}

// crypto.hash (Node >= 20.12) is a one-shot digest without a Hash object per call.
export const sha256Hex =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
