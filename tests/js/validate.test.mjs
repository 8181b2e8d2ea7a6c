// validateEvent: the export the reference server validates pushed events with (the engine's rules,
// backed by dc::Event::fromJson in the wasm engine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModule, validateEvent } from '../../js/index.js';

const good = {
  guid: 'e-1', entityGuid: 'p-1', type: 'create-individual', data: { name: 'Ada' },
  timestamp: '2024-05-01T12:00:00+02:00', userId: 'u-1',
};

test('before loadModule() validateEvent returns a Promise of the result', async () => {
  const early = validateEvent(good);
  assert.equal(typeof early.then, 'function');
  assert.equal((await early).ok, true);
});

test('after loadModule() it is synchronous and normalises the timestamp to UTC with ms', async () => {
  await loadModule();
  const result = validateEvent(good);
  assert.equal(result.ok, true);
  assert.equal(result.event.timestamp, '2024-05-01T10:00:00.000Z');
  assert.equal(result.event.syncLevel, 0);
  assert.deepEqual(result.event.data, { name: 'Ada' });
});

test('the original\'s messages, in order', async () => {
  await loadModule();
  const cases = [
    [{ ...good, guid: undefined }, 'Form submission is missing a GUID'],
    [{ ...good, entityGuid: '' }, /entity GUID/],
    [{ ...good, type: null }, /type/],
    [{ ...good, data: {} }, 'Form submission has no data'],
    [{ ...good, data: [1] }, 'Form submission has no data'],
    [{ ...good, data: 'x' }, 'Form submission has no data'],
    [{ ...good, timestamp: 'yesterday' }, /timestamp/],
    [{ ...good, timestamp: undefined }, /timestamp/],
    [{ ...good, userId: undefined }, /user/i],
  ];
  for (const [input, message] of cases) {
    const result = validateEvent(input);
    assert.equal(result.ok, false, JSON.stringify(input));
    assert.equal(result.code, 'INVALID_FORM');
    if (typeof message === 'string') assert.equal(result.message, message);
    else assert.match(result.message, message);
  }
});

test('non-objects, cycles and huge strings are answered, never thrown', async () => {
  await loadModule();
  for (const input of [undefined, null, 42, 'text', [], true]) {
    const result = validateEvent(input);
    assert.equal(result.ok, false);
    assert.equal(result.code, 'INVALID_FORM');
  }
  const cyclic = { ...good };
  cyclic.self = cyclic;
  assert.equal(validateEvent(cyclic).code, 'INVALID_FORM');
  assert.equal(validateEvent({ ...good, big: 'x'.repeat(1 << 20) }).ok, true);
  const hugeTimestamp = validateEvent({ ...good, timestamp: 'y'.repeat(1 << 20) });
  assert.equal(hugeTimestamp.ok, false);
  assert.ok(hugeTimestamp.message.length < 500, 'the message stays short');
});

test('validateEvents answers a whole array in one call, each element as validateEvent does', async () => {
  const { validateEvents } = await import('../../js/index.js');
  await loadModule();
  const cyclic = { ...good, data: {} };
  cyclic.data.self = cyclic.data;
  const list = [good, { ...good, guid: undefined }, null, 'text', { ...good, data: { when: new Date(0) } }, cyclic,
    { ...good, guid: 'e-2', timestamp: '2024-05-01T12:00:00Z' }];
  const batch = validateEvents(list);
  assert.equal(batch.length, list.length);
  // The same verdicts; a valid event's `data` is the input's object itself, not a JSON copy.
  list.forEach((item, i) => assert.deepEqual(JSON.parse(JSON.stringify(batch[i])), validateEvent(item), `element ${i}`));
  assert.equal(batch[6].event.data, list[6].data);
  assert.equal(batch[6].event.timestamp, '2024-05-01T12:00:00.000Z');
  assert.deepEqual(validateEvents([]), []);
  assert.throws(() => validateEvents('nope'), (e) => e.code === 'INVALID_FORM');
});
