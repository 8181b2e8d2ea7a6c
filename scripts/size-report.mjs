// Bundle-size report of the npm package: the wasm module and the JS files, raw and gzipped
// (zlib, level 9, what a server's gzip would send). Run by scripts/build.sh after the wasm build.
import { gzipSync } from 'node:zlib';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const files = [
  join(root, 'dist/datacollect.wasm'),
  join(root, 'dist/datacollect.js'),
  ...readdirSync(join(root, 'js')).filter((f) => f.endsWith('.js')).sort().map((f) => join(root, 'js', f)),
].filter(existsSync);

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const rows = files.map((file) => {
  const bytes = readFileSync(file);
  return { file: relative(root, file), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
const sum = (key, pick = () => true) => rows.filter(pick).reduce((n, r) => n + r[key], 0);
const isJs = (r) => r.file.endsWith('.js');
rows.push({ file: 'total JS (loader + API)', raw: sum('raw', isJs), gzip: sum('gzip', isJs) });
rows.push({ file: 'total (what a browser downloads)', raw: sum('raw', (r) => !r.file.startsWith('total')), gzip: sum('gzip', (r) => !r.file.startsWith('total')) });

const width = Math.max(...rows.map((r) => r.file.length), 4);
const line = (a, b, c) => `${a.padEnd(width)}  ${b.padStart(12)}  ${c.padStart(12)}`;
console.log('\nBundle sizes');
console.log(line('file', 'raw', 'gzip'));
console.log(line('-'.repeat(width), '-'.repeat(12), '-'.repeat(12)));
for (const r of rows) console.log(line(r.file, kib(r.raw), kib(r.gzip)));
