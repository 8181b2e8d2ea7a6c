#!/usr/bin/env node
// Checks that the repository's references to documentation point inside the repository and at
// things that exist (see docs/README.md). Usage: node scripts/check-doc-refs.mjs [root]
// Prints one "file:line: problem" per finding and exits 1 if there is any, else exits 0.
//
// Fails on:
//  - references to documents that are not in the repository: the original project's background
//    documents by name, paths into a sibling "shared" folder, numbered sections (a section
//    sign and a number, except after an RFC number), numbered toolchain quirks, and "issue N"
//    (say the reason instead);
//  - a mention of a docs/…md file that does not exist, with `#anchor` or `, 'Heading'` after it
//    checked against that file's headings;
//  - in Markdown files, a relative link whose target does not exist, or whose #anchor is not a
//    heading of the target (or of the same file).
// No dependencies: runs on a fresh clone with Node alone.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Written so that this file does not match its own patterns.
const FORBIDDEN = [
  { re: /\bSP[E]C\b/, why: 'cites a specification outside the repository' },
  { re: /\bTOOLCHAI[N]\b/, why: 'cites toolchain notes outside the repository (use docs/toolchain.md)' },
  { re: /\bARCHITECTUR[E]\b/, why: 'cites an architecture guide outside the repository' },
  { re: /(?:\.\.\/|\/work\/)share[d]\b/, why: 'points at a folder outside the repository' },
  { re: /\bquirks?\s*#?\d/i, why: 'cites a numbered quirk of a document outside the repository (cite docs/toolchain.md by heading)' },
  { re: /(?<!RFC\s*\d+\s*)§\s*\d/, why: 'cites a numbered section of a document outside the repository' },
  { re: /\bissues?\s*#?\d+\b/i, why: 'cites an issue number; describe the reason instead' },
];

const SKIP_DIRS = new Set(['.git', 'node_modules', 'build', 'dist', '.data']);
const SKIP_FILES = new Set(['package-lock.json']);
const MAX_BYTES = 2 * 1024 * 1024;

// Files to check: what git tracks or would track (respects .gitignore), else a directory walk.
export function listFiles(root) {
  if (fs.existsSync(path.join(root, '.git'))) {
    try {
      const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
        cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'],
      });
      return out.split('\0').filter(Boolean).filter((f) => !f.split('/').some((p) => SKIP_DIRS.has(p)))
        .filter((f) => fs.existsSync(path.join(root, f)));
    } catch {
      // not a usable git checkout: walk instead
    }
  }
  const files = [];
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(child);
      } else if (entry.isFile()) {
        files.push(child);
      }
    }
  };
  walk('');
  return files.sort();
}

// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1/-2 for repeats.
export function slugify(text) {
  return text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function plainHeading(text) {
  return text.replace(/<[^>]*>/g, '').replace(/[`*]/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').trim();
}

// Headings of a Markdown file: their anchors and their plain texts (lower case).
function headingsOf(text) {
  const anchors = new Set();
  const titles = new Set();
  const seen = new Map();
  let fence = null;
  for (const line of text.split('\n')) {
    const f = /^\s*(```+|~~~+)/.exec(line);
    if (f) {
      if (!fence) fence = f[1][0];
      else if (f[1][0] === fence) fence = null;
      continue;
    }
    if (fence) continue;
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const title = plainHeading(h[1]);
    titles.add(title.toLowerCase());
    const base = slugify(title);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n ? `${base}-${n}` : base);
  }
  return { anchors, titles };
}

export function checkRepository(root) {
  root = path.resolve(root);
  const problems = [];
  const headingCache = new Map();
  const headings = (abs) => {
    if (!headingCache.has(abs)) headingCache.set(abs, headingsOf(fs.readFileSync(abs, 'utf8')));
    return headingCache.get(abs);
  };
  const inside = (abs) => abs === root || abs.startsWith(root + path.sep);

  // Checks a target (absolute path) with an optional #anchor or heading title.
  const checkTarget = (report, abs, shown, { anchor, title } = {}) => {
    if (!inside(abs)) return report(`${shown} points outside the repository`);
    if (!fs.existsSync(abs)) return report(`${shown} does not exist`);
    if ((anchor === undefined && title === undefined) || !abs.endsWith('.md') || !fs.statSync(abs).isFile()) return;
    const h = headings(abs);
    if (anchor !== undefined && !h.anchors.has(anchor) && !h.anchors.has(decodeURIComponent(anchor))) {
      report(`${shown}: no heading with anchor #${anchor} in ${path.relative(root, abs)}`);
    }
    if (title !== undefined && !h.titles.has(title.trim().toLowerCase()) && !h.anchors.has(slugify(title))) {
      report(`${shown}: no heading '${title}' in ${path.relative(root, abs)}`);
    }
  };

  for (const rel of listFiles(root)) {
    if (SKIP_FILES.has(path.basename(rel))) continue;
    const abs = path.join(root, rel);
    let buf;
    try {
      if (fs.statSync(abs).size > MAX_BYTES) continue;
      buf = fs.readFileSync(abs);
    } catch {
      continue;
    }
    if (buf.includes(0)) continue;  // binary
    const text = buf.toString('utf8');
    const dir = path.dirname(abs);
    const isMarkdown = rel.endsWith('.md');
    let fence = null;
    text.split('\n').forEach((line, i) => {
      const reported = new Set();
      const report = (msg) => {
        if (reported.has(msg)) return;
        reported.add(msg);
        problems.push({ file: rel, line: i + 1, message: msg });
      };
      for (const { re, why } of FORBIDDEN) {
        const m = re.exec(line);
        if (m) report(`"${m[0].trim()}" ${why}`);
      }

      // Mentions of files under docs/, anywhere: the path, optionally followed by #anchor or by a
      // comma and a quoted heading.
      const mention = /(?<![\w./-])((?:\.{1,2}\/)*docs\/[\w./-]*?\.md)(?:#([\w-]+))?(?:,\s*(?:'([^']+)'|"([^"]+)"|“([^”]+)”))?/g;
      for (const m of line.matchAll(mention)) {
        const target = m[1].startsWith('.') ? path.resolve(dir, m[1]) : path.resolve(root, m[1]);
        const title = m[3] ?? m[4] ?? m[5];
        checkTarget(report, target, m[0], { anchor: m[2], title });
      }

      if (!isMarkdown) return;
      const f = /^\s*(```+|~~~+)/.exec(line);
      if (f) {
        if (!fence) fence = f[1][0];
        else if (f[1][0] === fence) fence = null;
        return;
      }
      if (fence) return;
      // Markdown links [text](target) and reference definitions [id]: target.
      const links = [...line.replace(/`[^`]*`/g, '').matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
      const def = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(line);
      if (def) links.push(def[1]);
      for (const link of links) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//')) continue;  // URLs, mailto:
        const [pathPart, anchor] = link.split('#', 2);
        const clean = decodeURIComponent(pathPart.split('?')[0]);
        const target = clean === '' ? abs : clean.startsWith('/') ? path.join(root, clean) : path.resolve(dir, clean);
        checkTarget(report, target, link, { anchor });
      }
    });
  }
  return problems;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const root = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkRepository(root);
  for (const p of problems) console.error(`${p.file}:${p.line}: ${p.message}`);
  if (problems.length) {
    console.error(`check-doc-refs: ${problems.length} bad reference(s); see docs/README.md`);
    process.exit(1);
  }
  console.log('check-doc-refs: every documentation reference points inside the repository and exists');
}
