// The hand-written js/index.d.ts type-checks against a consumer that uses the whole API, and the
// JS files type-check against it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const check = (config) => {
  const project = fileURLToPath(new URL(`./types/${config}`, import.meta.url));
  const run = spawnSync(process.execPath, [tsc, '--noEmit', '-p', project], { encoding: 'utf8' });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
};

test('tsc --noEmit on tests/js/types/consumer.ts', () => check('tsconfig.json'));

// The JS sources are checked against the declarations (checkJs; classes carry @implements).
test('tsc checkJs: js/*.js against js/index.d.ts', () => check('tsconfig.checkjs.json'));
