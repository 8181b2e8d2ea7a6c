#!/usr/bin/env node
// The error codes' one source is src/core/error_codes.def (docs/errors.md). This script reads it,
// renders the table of docs/errors.md between its markers, and with --write updates the file.
// tests/js/error-codes.test.mjs uses readErrorCodes() to check every other copy against it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const DEF_PATH = `${root}src/core/error_codes.def`;
export const DOC_PATH = `${root}docs/errors.md`;
export const BEGIN = '<!-- error-codes:begin (generated from src/core/error_codes.def by scripts/error-codes.mjs --write) -->';
export const END = '<!-- error-codes:end -->';

// [{enumerator, name, meaning}] in the .def's order.
export function readErrorCodes(text = readFileSync(DEF_PATH, 'utf8')) {
  const codes = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('DC_ERROR_CODE(')) continue;
    const m = /^DC_ERROR_CODE\((\w+), ([A-Z_]+), "((?:[^"\\]|\\.)*)"\)$/.exec(line.trim());
    if (!m) throw new Error(`error_codes.def: cannot read line: ${line}`);
    codes.push({ enumerator: m[1], name: m[2], meaning: m[3].replace(/\\"/g, '"') });
  }
  return codes;
}

export function renderTable(codes = readErrorCodes()) {
  const rows = codes.map((c) => `| \`${c.name}\` | ${c.meaning.replace(/\|/g, '\\|')} |`);
  return [BEGIN, '| Code | Meaning |', '| --- | --- |', ...rows, END].join('\n');
}

// docs/errors.md with its table replaced by the current rendering.
export function renderDoc(doc = readFileSync(DOC_PATH, 'utf8')) {
  const start = doc.indexOf(BEGIN), end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error('docs/errors.md: the error-codes markers are missing');
  return doc.slice(0, start) + renderTable() + doc.slice(end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const next = renderDoc();
  if (process.argv.includes('--write')) writeFileSync(DOC_PATH, next);
  else if (next !== readFileSync(DOC_PATH, 'utf8')) {
    console.error('docs/errors.md is out of date: run node scripts/error-codes.mjs --write');
    process.exit(1);
  }
}
