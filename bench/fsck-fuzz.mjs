#!/usr/bin/env node
// Long fsck fuzzing outside CI (the suite runs 2,000 cases): random damage to
// small base images, fsck --repair, then a check that must be clean.
//   node bench/fsck-fuzz.mjs [CASES=20000] [SEED=random]
// Build first (npx tsc -p .). Prints progress every 1,000 cases and every failure.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as core from '../dist/core/index.js'
import {runFuzz} from '../test/helpers/fuzz-cases.mjs'

const count = Number(process.argv[2] ?? 20000)
const seed = process.argv[3] ?? String(Date.now())
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'razorfs-fuzz-'))
const base = path.join(dir, 'base.img')
const img = core.Image.create(base, {size: 2 << 20, blockSize: 1024, journalBlocks: 64})
core.populate(img, path.join(path.dirname(new URL(import.meta.url).pathname), '../fixtures/fsck/tree'))
img.close()
console.log(`seed ${seed}, ${count} cases`)
const t0 = Date.now()
const r = runFuzz(core, {
  bases: [{path: base, blockSize: 1024}],
  dir,
  count,
  seed,
  onCase: (i) => {
    if ((i + 1) % 1000 === 0) console.log(`${i + 1} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  },
})
fs.rmSync(dir, {recursive: true, force: true})
for (const f of r.failures) console.log(`FAIL ${f}`)
console.log(
  `${r.cases} cases: ${r.repaired} repaired, ${r.untouched} clean, ${r.refused} refused, ${r.failures.length} failures, slowest ${r.slowest} ms`,
)
process.exitCode = r.failures.length ? 1 : 0
