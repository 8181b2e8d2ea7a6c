// canonicalJson (web/server/canonical.js) takes a fast path (JSON.stringify) when keys are already
// sorted; whatever the input, it must return exactly the reference definition's text, because the
// stored bodies and their hashes decide push idempotency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson, canonicalJsonReference, sha256Hex } from '../../web/server/canonical.js';

const same = (v) => assert.equal(canonicalJson(v), canonicalJsonReference(v), `for ${String(canonicalJsonReference(v)).slice(0, 200)}`);

test('canonicalJson equals the reference on edge cases', () => {
  const cases = [
    null, true, false, 0, -0, 1.5, 1e21, 1e-7, NaN, Infinity, '', 'x', '\u2028"\\\n', undefined,
    {}, [], { a: 1, b: 2 }, { b: 1, a: 2 }, { a: undefined, b: 1 }, [undefined, 1], [1, , 3], // eslint-disable-line no-sparse-arrays
    { 10: 'a', 2: 'b', x: 'c' }, { 1: 1, 2: 2 }, { a: { d: 1, c: 2 } }, { a: [{ z: 1, y: 2 }] },
    { é: 1, e: 2, Z: 3, a: 4 }, { '\ud83d\ude00': 1, '\uffff': 2 }, { a: '\ud800' },
    new Date(0), { d: new Date(0) }, [new Date(0)], { toJSON: 1 }, Object.create(null), Object.assign(Object.create(null), { b: 1, a: 2 }),
    { s: new String('ab') }, [new Number(3)], { f: () => 1, a: 1 }, [() => 1], { s: Symbol('x') },
  ];
  cases.push(JSON.parse('{"b":1,"__proto__":{"y":1,"x":2},"a":[{"__proto__":null}]}'), JSON.parse('{"__proto__":1,"a":2}'));
  for (const v of cases) same(v);
  let chain = 1; // deeper than the fast path's bound: the reference decides
  for (let i = 0; i < 500; i++) chain = i % 2 ? { k: chain } : [chain];
  same(chain);
});

test('canonicalJson equals the reference on random JSON values', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const keys = ['a', 'b', 'B', '_', '1', '10', '2', 'é', 'z', 'name', 'data', '\ud83d\ude00', ''];
  const value = (depth) => {
    const r = rnd();
    if (depth > 4 || r < 0.4) return [null, true, 1, -2.5, 1e300, 'text', 'ü\n"', undefined][Math.floor(rnd() * 8)];
    if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    const o = {};
    for (let i = Math.floor(rnd() * 6); i > 0; i--) o[keys[Math.floor(rnd() * keys.length)]] = value(depth + 1);
    return o;
  };
  for (let i = 0; i < 3000; i++) {
    const v = value(0);
    same(v);
    same(JSON.parse(JSON.stringify(v) ?? 'null')); // as the server sees it
  }
});

test('sha256Hex is the SHA-256 of the UTF-8 text, lone surrogates included', () => {
  for (const t of ['', 'abc', 'é❤\ud83d\ude00', 'a\ud800b\udc00']) {
    assert.equal(sha256Hex(t), createHash('sha256').update(t, 'utf8').digest('hex'));
  }
});
