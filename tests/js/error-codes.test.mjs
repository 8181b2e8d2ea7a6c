// The error codes are said once, in src/core/error_codes.def (docs/errors.md, 'The one list'): every
// other copy must list exactly the same codes, or this fails naming the difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCodes } from '../../js/errors.js';
import { ERROR_LABELS } from '../../web/app/lib/error-labels.js';
import { readErrorCodes, renderDoc, renderTable, DOC_PATH } from '../../scripts/error-codes.mjs';

const root = new URL('../../', import.meta.url);
const source = readErrorCodes().map((c) => c.name);

function sameSet(actual, where) {
  const missing = source.filter((c) => !actual.includes(c));
  const extra = actual.filter((c) => !source.includes(c));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] },
    `${where} differs from src/core/error_codes.def (missing: ${missing.join(', ') || '-'}; not in the .def: ${extra.join(', ') || '-'})`);
  assert.equal(new Set(actual).size, actual.length, `${where} lists a code twice`);
}

test('the .def is readable and holds the codes every layer needs', () => {
  assert.ok(source.length >= 16);
  for (const code of ['INVALID_ARGUMENT', 'INTERNAL', 'LOAD_FAILED', 'STORAGE', 'SERVER_ERROR', 'BAD_RESPONSE'])
    assert.ok(source.includes(code), code);
  assert.throws(() => readErrorCodes('DC_ERROR_CODE(Broken, lower_case, "x")\n'), /cannot read line/);
});

test('js/errors.js ErrorCodes = the .def', () => sameSet([...ErrorCodes], 'js/errors.js ErrorCodes'));

test('js/index.d.ts ErrorCode union = the .def', () => {
  const dts = readFileSync(new URL('js/index.d.ts', root), 'utf8');
  const code = dts.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const m = /export type ErrorCode =([^;]*);/.exec(code);
  assert.ok(m, 'js/index.d.ts declares `export type ErrorCode = ...;`');
  sameSet([...m[1].matchAll(/'([A-Z_]+)'/g)].map((x) => x[1]), 'js/index.d.ts ErrorCode');
});

test("the demo's labels (web/app/lib/error-labels.js) = the .def", () => sameSet(Object.keys(ERROR_LABELS), 'ERROR_LABELS'));

test('docs/errors.md table is the one generated from the .def', () => {
  const doc = readFileSync(DOC_PATH, 'utf8');
  assert.ok(doc.includes(renderTable()), 'docs/errors.md is out of date: run node scripts/error-codes.mjs --write');
  assert.equal(renderDoc(doc), doc);
});

test('the C++ side builds its enum and names from the .def (no second list)', () => {
  const hpp = readFileSync(new URL('src/core/error.hpp', root), 'utf8');
  const cpp = readFileSync(new URL('src/core/error.cpp', root), 'utf8');
  assert.match(hpp, /#include "core\/error_codes\.def"/);
  assert.match(cpp, /#include "core\/error_codes\.def"/);
  // A code spelled out by hand in either file would be a second list.
  for (const code of source) {
    assert.ok(!hpp.includes(`"${code}"`) && !cpp.includes(`"${code}"`), `${code} is written out in src/core/error.*`);
  }
});
