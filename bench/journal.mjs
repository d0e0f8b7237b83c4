#!/usr/bin/env node
// Journal overhead (issue 3): the same copy into an image with the journal
// and with it disabled (--journal-size 0), side by side. Workloads: many
// small files, and one large file. Each runs twice: acknowledging (flush)
// after every file, as `razorfs cp` reports files done, and flushing once at
// the end. Runs alternate (without, with, without, ...) REPEAT times and the
// fastest of each is kept, so load that drifts during the run hits both
// sides. Not a test: it prints figures. Build first (npx tsc -p .).
//   REPEAT=3 node bench/journal.mjs [SMALL_FILES=20000] [BIG_MIB=1024]
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {Image} from '../dist/core/index.js'

const small = Number(process.argv[2] ?? 20000)
const bigMiB = Number(process.argv[3] ?? 1024)
const repeat = Number(process.env.REPEAT ?? 3)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'razorfs-bench-journal-'))

function run(label, journalBlocks, work) {
  const image = path.join(dir, `${label}.img`)
  const img = Image.create(image, {size: (bigMiB + 2048) * 1024 * 1024, journalBlocks, force: true})
  const t0 = process.hrtime.bigint()
  work(img)
  img.close()
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  fs.rmSync(image)
  return s
}

const payloads = Array.from({length: 64}, (_, i) => crypto.randomBytes(1024 + i * 97))
const smallWork = (perFile) => (img) => {
  for (let i = 0; i < small; i++) {
    const f = img.create(1, `f${i}`, {})
    img.write(f, 0, payloads[i % payloads.length])
    if (perFile) img.flush()
  }
}
const chunk = crypto.randomBytes(4 << 20)
const bigWork = (img) => {
  const f = img.create(1, 'big', {flags: 1}) // nocompress: measure the I/O path, not zstd
  for (let off = 0; off < bigMiB << 20; off += chunk.length) img.write(f, off, chunk)
  img.flush()
}

const rows = []
for (const [name, work] of [
  [`${small} small files, flush per file`, smallWork(true)],
  [`${small} small files, one flush`, smallWork(false)],
  [`one ${bigMiB} MiB file`, bigWork],
]) {
  let off = Infinity
  let on = Infinity
  for (let r = 0; r < repeat; r++) {
    off = Math.min(off, run('nojournal', 0, work))
    on = Math.min(on, run('journal', 8192, work))
  }
  rows.push({
    workload: name,
    noJournalSec: +off.toFixed(2),
    journalSec: +on.toFixed(2),
    overheadPct: +(((on - off) / off) * 100).toFixed(1),
  })
}
fs.rmSync(dir, {recursive: true, force: true})
console.table(rows)
console.log(JSON.stringify(rows))
