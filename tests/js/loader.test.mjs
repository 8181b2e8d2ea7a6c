// Loading the module: bad wasm bytes or a missing file are LOAD_FAILED (and a later load still
// works); bad loader options are INVALID_ARGUMENT; the browser entry has no Node imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createModuleInstance, open } from '../../js/index.js';

test('bytes that are not WebAssembly, or a .wasm that is not there, reject with LOAD_FAILED', async () => {
  await assert.rejects(createModuleInstance({ wasmBinary: new Uint8Array([0, 1, 2, 3]) }), (e) => e.code === 'LOAD_FAILED');
  await assert.rejects(createModuleInstance({ wasmUrl: '/no/such/datacollect.wasm' }), (e) => e.code === 'LOAD_FAILED' && /no such file|ENOENT/i.test(e.message));
  await assert.rejects(open({ storage: 'memory', wasmBinary: new Uint8Array([9]) }), (e) => e.code === 'LOAD_FAILED');
  // The failed shared load is not remembered: the next open() loads the real module.
  const store = await open({ name: 'loader-after-failure', storage: 'memory' });
  await store.close();
  // The real bytes, passed explicitly.
  const bytes = fs.readFileSync(new URL('../../dist/datacollect.wasm', import.meta.url));
  const module = await createModuleInstance({ wasmBinary: bytes });
  const other = await open({ name: 'loader-bytes', storage: 'memory', module });
  await other.close();
});

test('bad loader options are INVALID_ARGUMENT', async () => {
  for (const bad of ['x', { wasmUrl: 42 }, { wasmBinary: 'bytes' }]) {
    await assert.rejects(createModuleInstance(bad), (e) => e.code === 'INVALID_ARGUMENT', JSON.stringify(bad));
  }
});

test('the browser entry and everything it imports have no Node imports', () => {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(new URL(file, new URL('../../js/', import.meta.url)), 'utf8');
    assert.doesNotMatch(text, /from\s+['"]node:|import\(\s*['"]node:|require\(/, `${file} imports Node modules`);
    for (const [, dep] of text.matchAll(/(?:from|import\()\s*['"]\.\/([\w.-]+\.js)['"]/g)) visit(dep);
  };
  visit('browser.js');
  assert.ok(seen.has('loader.js') && seen.has('api.js') && !seen.has('loader-node.js'), [...seen].join());
});
