// The same round trip inside a worker (module or classic, depending on the build).
import { roundTrip } from './app.js';

self.onmessage = async (event) => {
  try {
    self.postMessage({ ok: true, result: await roundTrip(event.data.name, event.data.options) });
  } catch (error) {
    self.postMessage({ ok: false, code: error?.code, message: String(error?.message ?? error) });
  }
};
