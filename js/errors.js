// Errors (codes: docs/errors.md): an Error whose `code` says what went wrong and `message` says what to do.
// The engine answers every call with a Result: the JSON text of the value (a string) or an error
// object {ok: false, code, message, status}; this file turns Results into values or thrown errors.

// The list of src/core/error_codes.def (the one source; tests/js/error-codes.test.mjs checks this copy).
/** @type {readonly import('./index.d.ts').ErrorCode[]} (checkJs: every code here is declared) */
export const ErrorCodes = Object.freeze([
  'INVALID_FORM', 'INVALID_MEMBER_DATA', 'INVALID_GROUP', 'ENTITY_NOT_FOUND', 'NO_APPLIER',
  'DUPLICATES_EXIST', 'UNAUTHORIZED', 'NETWORK', 'SERVER_ERROR', 'BAD_RESPONSE', 'STORAGE',
  'STORE_LOCKED', 'CLOSED', 'INVALID_ARGUMENT', 'INTERNAL', 'LOAD_FAILED',
]);

export class DataCollectError extends Error {
  constructor(code, message, status) {
    super(message);
    this.name = /** @type {const} */ ('DataCollectError');
    this.code = code;
    if (status) this.status = status;  // HTTP status when a server answered
  }
}

export function errorOf(result) {
  return new DataCollectError(result.code, result.message, result.status);
}

export const isOk = (result) => typeof result === 'string';

// Result -> parsed value, or throws.
export function unwrap(result) {
  if (isOk(result)) return JSON.parse(result);
  throw errorOf(result);
}

export function invalid(message) {
  return new DataCollectError('INVALID_FORM', message);
}

// JSON text of a caller's value for the engine. undefined -> null; cycles/BigInt -> INVALID_FORM.
export function toJsonText(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw invalid(`${what} cannot be converted to JSON: ${e.message}`);
  }
  return text === undefined ? 'null' : text;
}

export function requireString(value, what) {
  if (typeof value !== 'string') throw invalid(`${what} must be a string, got ${value === null ? 'null' : typeof value}`);
  return value;
}
