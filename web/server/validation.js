// Event validation is the package's (the wasm engine's rules), not a second copy here.
// The server takes `validateEvent(obj) -> {ok: true, event} | {ok: false, code, message}` (sync or
// async) as an injected function; by default it is loaded lazily from the package's js/index.js.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ENTRY = new URL('../../js/index.js', import.meta.url);

export class ValidatorUnavailableError extends Error {}

let cached;

// Resolves to the package's validateEvent. Throws ValidatorUnavailableError when the package is
// not built or does not export it, with a message telling the operator what to do.
// The function may carry `validateBatch(list) -> [result per entry]`, the package's
// validateEvents (routes.js uses it when present).
export async function loadPackageValidator() {
  if (cached) return cached;
  const file = fileURLToPath(PACKAGE_ENTRY);
  if (!fs.existsSync(file)) {
    throw new ValidatorUnavailableError(`The package entry ${file} does not exist; build the package first (npm run build).`);
  }
  let fn;
  let mod;
  try {
    mod = await import(PACKAGE_ENTRY.href);
    // getValidator() waits for the wasm module, after which validateEvent is synchronous (one
    // await per push, not per event); older builds only export validateEvent.
    if (typeof mod.getValidator === 'function') fn = await mod.getValidator();
    else fn = mod.validateEvent ?? mod.default?.validateEvent;
  } catch (e) {
    throw new ValidatorUnavailableError(`The package could not be loaded (${e.message}); build it first (npm run build).`);
  }
  if (typeof fn !== 'function') {
    throw new ValidatorUnavailableError(`${file} does not export validateEvent(); the server needs the package's validation.`);
  }
  // The package's batch form (one wasm call per push instead of one per event), when it has one.
  const batch = typeof mod?.validateEvents === 'function' ? mod.validateEvents : null;
  cached = batch ? Object.assign((obj) => fn(obj), { validateBatch: (list) => batch(list) }) : fn;
  return cached;
}
