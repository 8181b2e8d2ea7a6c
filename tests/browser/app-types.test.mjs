// The demo's modules are type-checked (tsc checkJs) against the package's declarations
// (js/index.d.ts), so the app cannot drift from the API it showcases: a renamed method, a wrong
// option or a misread result shape fails here. Runs in Node (no browser needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

test('tsc checkJs: web/app/**/*.js against js/index.d.ts', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const project = fileURLToPath(new URL('./types/tsconfig.app.json', import.meta.url));
  const run = spawnSync(process.execPath, [tsc, '--noEmit', '-p', project], { encoding: 'utf8' });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
});
