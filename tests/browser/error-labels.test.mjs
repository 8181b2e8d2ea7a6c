// The demo's error labels are keyed by the package's error codes (ErrorCodes, the one list):
// every code the package can throw has a sentence for the user, and no label is left for a code
// the package no longer has. Runs in Node (no browser needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../js/errors.js';
import { ERROR_LABELS, humanError } from '../../web/app/lib/error-labels.js';

test('every error code of the package has a label in the demo, and every label a code', () => {
  assert.ok(ErrorCodes.length >= 13);
  const missing = ErrorCodes.filter((c) => !Object.hasOwn(ERROR_LABELS, c));
  assert.deepEqual(missing, [], `codes without a label in web/app/lib/error-labels.js: ${missing.join(', ')}`);
  const stale = Object.keys(ERROR_LABELS).filter((c) => !ErrorCodes.includes(c));
  assert.deepEqual(stale, [], `labels for codes the package does not have: ${stale.join(', ')}`);
  for (const [code, label] of Object.entries(ERROR_LABELS)) {
    assert.ok(typeof label.text === 'string' && label.text.length > 10, `${code}: a sentence`);
  }
});

test('humanError: the label, the engine message where it helps, a fallback for anything else', () => {
  assert.match(humanError({ code: 'NETWORK', message: 'connect ECONNREFUSED' }), /cannot be reached/);
  assert.doesNotMatch(humanError({ code: 'NETWORK', message: 'connect ECONNREFUSED' }), /ECONNREFUSED/);
  assert.equal(humanError({ code: 'INVALID_FORM', message: 'data.name must be a string' }), 'The form could not be saved: data.name must be a string');
  assert.match(humanError({ code: 'SERVER_ERROR', message: 'HTTP 500' }), /problem\. .*Details: HTTP 500$/);
  assert.equal(humanError(new Error('boom')), 'Something went wrong: boom');
  assert.equal(humanError({ code: 'toString', message: 'x' }), 'Something went wrong: x');
});
