#!/usr/bin/env node
// Metadata-heavy work for bench/mount.sh, one phase per run (the script
// remounts between phases, so no phase is served from the kernel's caches):
//   node bench/meta.mjs create|stat|unlink DIR [N]
// create: N empty files in DIR/meta (made if missing); stat: each of them;
// unlink: each of them. Prints one JSON line: {phase, files, seconds, opsPerSec}.
import fs from 'node:fs'
import path from 'node:path'

const [phase, dir, nArg] = process.argv.slice(2)
const n = Number(nArg ?? 10000)
const d = path.join(dir, 'meta')
if (phase === 'create') fs.mkdirSync(d, {recursive: true})
const op = {
  create: (p) => fs.closeSync(fs.openSync(p, 'wx', 0o644)),
  stat: (p) => fs.statSync(p),
  unlink: (p) => fs.unlinkSync(p),
}[phase]
if (!op) {
  process.stderr.write('usage: meta.mjs create|stat|unlink DIR [N]\n')
  process.exit(2)
}
const names = Array.from({length: n}, (_, i) => path.join(d, `file-${String(i).padStart(6, '0')}`))
const t = process.hrtime.bigint()
for (const p of names) op(p)
const s = Number(process.hrtime.bigint() - t) / 1e9
process.stdout.write(JSON.stringify({phase, files: n, seconds: +s.toFixed(3), opsPerSec: Math.round(n / s)}) + '\n')
