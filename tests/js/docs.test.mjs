// The documentation stands on its own: scripts/check-doc-refs.mjs passes on the repository, and
// (so that the check itself is tested) fails, with file:line, on a scratch tree holding each kind
// of bad reference. Needs no build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRepository, slugify } from '../../scripts/check-doc-refs.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHECKER = path.join(ROOT, 'scripts/check-doc-refs.mjs');

// The forbidden words are assembled at run time so this file does not trip the check itself.
const SPEC_WORD = ['SP', 'EC'].join('');
const TOOLCHAIN_FILE = ['TOOL', 'CHAIN.md'].join('');
const ARCH_FILE = ['ARCHI', 'TECTURE.md'].join('');
const SECTION = '\u00a7';
const ISSUE = ['iss', 'ue'].join('');
const QUIRK = ['qu', 'irk'].join('');
const SHARED = ['../sha', 'red'].join('');
// Paths under docs/ in the fixtures are assembled too: they name the scratch tree's files.
const D = ['do', 'cs'].join('');

function scratchTree(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-docrefs-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const GOOD_DOCS = {
  [`${D}/README.md`]: '# Docs\n\n[Protocol](protocol.md), [its pull section](protocol.md#pull), [top](#docs).\n',
  [`${D}/protocol.md`]: '# Wire protocol\n\n## Pull\n\n### 413 halving\n\n## `since` values\n',
};

function runCli(dir) {
  return spawnSync(process.execPath, [CHECKER, dir], { encoding: 'utf8' });
}

test('the repository has no reference to a missing or outside document', () => {
  const problems = checkRepository(ROOT);
  assert.deepEqual(problems.map((p) => `${p.file}:${p.line}: ${p.message}`), []);
  const cli = runCli(ROOT);
  assert.equal(cli.status, 0, cli.stderr);
});

test('a clean scratch tree passes, with references by anchor and by heading name', () => {
  const dir = scratchTree({
    ...GOOD_DOCS,
    'src/a.cpp': [
      `// see ${D}/protocol.md, 'Pull'`,
      `// see ${D}/protocol.md#413-halving and ${D}/protocol.md, "413 halving"`,
      `// headings match without their code marks: ${D}/protocol.md, 'since values'`,
      '// base64url (RFC 4648 \u00a75) is a reference to a public standard',
      '',
    ].join('\n'),
    'web/README.md': `See [the protocol](../${D}/protocol.md#pull) and [a file](../src/a.cpp).\n\n\`\`\`\n[not a link](nowhere.md)\n\`\`\`\n`,
  });
  try {
    assert.deepEqual(checkRepository(dir), []);
    const cli = runCli(dir);
    assert.equal(cli.status, 0, cli.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('each kind of bad reference fails with its file and line', () => {
  const dir = scratchTree({
    ...GOOD_DOCS,
    'src/bad.cpp': [
      '// fine',
      `// validation order of ${SPEC_WORD} ${SECTION}4`,
      `// acorn (${TOOLCHAIN_FILE} ${QUIRK} 1)`,
      `// only target with Emscripten headers (${ARCH_FILE})`,
      `// see ${SHARED}/notes.md`,
      `// limit >= 10 MB (${ISSUE} 5)`,
      `// see ${D}/missing.md`,
      `// see ${D}/protocol.md#no-such-anchor`,
      `// see ${D}/protocol.md, 'No such heading'`,
      `// batch sizes of ${SECTION}6.2`,
      '',
    ].join('\n'),
    'README.md': `# Top\n\nSee [gone](${D}/gone.md), [bad anchor](${D}/protocol.md#nope) and [self](#nowhere).\n`,
  });
  try {
    const found = checkRepository(dir).map((p) => `${p.file}:${p.line}`);
    const expected = [
      'src/bad.cpp:2', 'src/bad.cpp:3', 'src/bad.cpp:4', 'src/bad.cpp:5', 'src/bad.cpp:6', 'src/bad.cpp:7',
      'src/bad.cpp:8', 'src/bad.cpp:9', 'src/bad.cpp:10', 'README.md:3',
    ];
    for (const where of expected) assert.ok(found.includes(where), `${where} not reported; got ${found.join(', ')}`);
    assert.ok(!found.includes('src/bad.cpp:1'), 'a clean line was reported');
    const messages = checkRepository(dir).filter((p) => p.file === 'README.md').map((p) => p.message).join('\n');
    assert.match(messages, /docs\/gone\.md does not exist/);
    assert.match(messages, /#nope/);
    assert.match(messages, /#nowhere/);

    const cli = runCli(dir);
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /^src\/bad\.cpp:7: .*docs\/missing\.md does not exist/m);
    assert.match(cli.stderr, /^src\/bad\.cpp:9: .*no heading 'No such heading'/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('anchors are computed as GitHub does', () => {
  assert.equal(slugify('C++ exceptions at the boundary'), 'c-exceptions-at-the-boundary');
  assert.equal(slugify('No /usr/include in wasm compiles'), 'no-usrinclude-in-wasm-compiles');
  assert.equal(slugify('acorn and NODE_PATH'), 'acorn-and-node_path');
  assert.equal(slugify('Emscripten 3.1.6'), 'emscripten-316');
});
