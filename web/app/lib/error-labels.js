// What each error code of the package means to the person using the app. Keyed by the package's
// error codes (ErrorCodes in js/errors.js); tests/browser/error-labels.test.mjs fails when a code
// has no label here or a label names a code the package does not have.
// `detail`: the engine's message says what and where (never a token); append it where it helps.
export const ERROR_LABELS = Object.freeze({
  INVALID_FORM: { text: 'The form could not be saved', detail: 'colon' },
  INVALID_MEMBER_DATA: { text: 'A household member could not be saved', detail: 'colon' },
  INVALID_GROUP: { text: 'The household could not be found', detail: 'colon' },
  ENTITY_NOT_FOUND: { text: 'That record no longer exists on this device', detail: 'colon' },
  NO_APPLIER: { text: 'This kind of change is not supported by this version of the app', detail: 'colon' },
  INVALID_ARGUMENT: { text: 'The app asked the sync engine for something it does not accept (a bug in the app, or a wrong setting)', detail: 'colon' },
  DUPLICATES_EXIST: { text: 'Sync is blocked: some records look like duplicates. Resolve them first (Duplicates tab).' },
  UNAUTHORIZED: { text: 'The sync server did not accept your sign-in (it may have expired). Sign in again; nothing on this device is lost.' },
  NETWORK: { text: 'The sync server cannot be reached. Your data is safe on this device and will sync when the connection is back.' },
  SERVER_ERROR: { text: 'The sync server ran into a problem. Try again in a moment; nothing was lost.', detail: 'sentence' },
  BAD_RESPONSE: { text: 'The sync server sent an answer the app could not read. Try again later or tell your supervisor.', detail: 'sentence' },
  STORAGE: { text: 'This device could not save the data (storage full or unavailable). Free some space, then try again; what was already saved is kept.' },
  STORE_LOCKED: { text: 'The survey is open in another tab or window of this browser. Close it there; this tab will continue automatically.' },
  CLOSED: { text: 'The local store was closed. Reload the page.' },
  INTERNAL: { text: 'The sync engine hit an internal problem. Nothing saved is lost; reload the page and tell your supervisor if it happens again.', detail: 'sentence' },
  LOAD_FAILED: { text: 'The sync engine could not be loaded. Check the connection and try again.', detail: 'sentence' },
});

export function humanError(err) {
  const code = err && err.code;
  const msg = (err && err.message) || String(err);
  const label = code && Object.hasOwn(ERROR_LABELS, code) ? ERROR_LABELS[code] : null;
  if (!label) return `Something went wrong: ${msg}`;
  if (label.detail === 'colon' && err.message) return `${label.text}: ${err.message}`;
  if (label.detail === 'sentence' && err.message) return `${label.text} Details: ${err.message}`;
  return label.text;
}
