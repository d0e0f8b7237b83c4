// Random damage for the fsck fuzz test (test/fsck-fuzz.test.ts) and the
// long-running script (bench/fsck-fuzz.mjs). `core` is the razorfs core
// module (the TypeScript source in tests, dist/ in the script). Each case
// copies a base image, damages it (bit flips, zeroed blocks, random blocks,
// swapped blocks, truncation), runs fsck --repair in-process and then a
// check: fsck must not throw anything but a clean operational error (never
// "no space", also on a full image) and then leave the image byte for byte as
// it was, must finish within the time bound, and the image must check clean
// afterwards (or fsck must have refused it as unusable).
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

const KINDS = ['flip', 'zero', 'random', 'swap', 'truncate', 'multi']

/** SHA-256 of a file and its length: "byte for byte as it was". */
function digest(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

/** Blocks of an image file that are not all zero: where damage matters. */
export function nonZeroBlocks(file, blockSize) {
  const buf = fs.readFileSync(file)
  const zero = Buffer.alloc(blockSize)
  const out = []
  for (let b = 0; b * blockSize < buf.length; b++)
    if (!buf.subarray(b * blockSize, (b + 1) * blockSize).equals(zero)) out.push(b)
  return out
}

export function damage(file, rnd, blockSize, hot) {
  const size = fs.statSync(file).size
  const blocks = size / blockSize
  const kind = KINDS[rnd(KINDS.length)]
  const fd = fs.openSync(file, 'r+')
  const pickBlock = () => (rnd(8) === 0 || !hot.length ? rnd(blocks) : hot[rnd(hot.length)]) // mostly blocks that hold something
  try {
    if (kind === 'flip' || kind === 'multi') {
      for (let i = 0; i < (kind === 'multi' ? 1 + rnd(16) : 1); i++) {
        const pos = pickBlock() * blockSize + rnd(blockSize)
        const b = Buffer.alloc(1)
        fs.readSync(fd, b, 0, 1, pos)
        b[0] ^= 1 << rnd(8)
        fs.writeSync(fd, b, 0, 1, pos)
      }
    } else if (kind === 'zero') fs.writeSync(fd, Buffer.alloc(blockSize), 0, blockSize, pickBlock() * blockSize)
    else if (kind === 'random') fs.writeSync(fd, crypto.randomBytes(blockSize), 0, blockSize, pickBlock() * blockSize)
    else if (kind === 'swap') {
      const [a, b] = [pickBlock(), pickBlock()]
      const x = Buffer.alloc(blockSize)
      const y = Buffer.alloc(blockSize)
      fs.readSync(fd, x, 0, blockSize, a * blockSize)
      fs.readSync(fd, y, 0, blockSize, b * blockSize)
      fs.writeSync(fd, y, 0, blockSize, a * blockSize)
      fs.writeSync(fd, x, 0, blockSize, b * blockSize)
    } else fs.ftruncateSync(fd, Math.max(0, size - (1 + rnd(blocks)) * blockSize))
  } finally {
    fs.closeSync(fd)
  }
  return kind
}

/** Run `count` cases; returns {cases, repaired, refused, clean, failures: [...]} */
export function runFuzz(core, {bases, dir, count, seed, timeLimitMs = 10000, onCase}) {
  let state = crypto.createHash('sha256').update(`fuzz:${seed}`).digest()
  let at = 0
  const rnd = (n) => {
    if (at + 4 > state.length) {
      state = crypto.createHash('sha256').update(state).digest()
      at = 0
    }
    const x = state.readUInt32LE(at)
    at += 4
    return n <= 1 ? 0 : x % n
  }
  const out = {cases: 0, repaired: 0, refused: 0, untouched: 0, failures: [], slowest: 0}
  const file = path.join(dir, 'fuzz.img')
  for (let i = 0; i < count; i++) {
    const base = bases[rnd(bases.length)]
    fs.copyFileSync(base.path, file)
    for (const f of [`${file}.undo`, `${file}.lock`]) fs.rmSync(f, {force: true})
    base.hot ??= nonZeroBlocks(base.path, base.blockSize)
    const kind = damage(file, rnd, base.blockSize, base.hot)
    const damaged = digest(file)
    const t0 = Date.now()
    let report
    try {
      report = core.fsck(file, {mode: 'repair', force: true})
    } catch (e) {
      if (core.isRazorError(e)) {
        // an unusable image, reported cleanly (exit 8), and left as it was; never for lack of space
        if (e.code === 'ENOSPC')
          out.failures.push(
            `case ${i} (${kind}${base.full ? ', full image' : ''}): no space for the repair: ${e.message}`,
          )
        if (digest(file) !== damaged)
          out.failures.push(`case ${i} (${kind}): exit 8 (${e.message}) but the image changed`)
        out.refused++
        out.cases++
        continue
      }
      out.failures.push(
        `case ${i} (${kind}): fsck threw ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`,
      )
      out.cases++
      continue
    }
    const ms = Date.now() - t0
    out.slowest = Math.max(out.slowest, ms)
    if (ms > timeLimitMs) out.failures.push(`case ${i} (${kind}): took ${ms} ms`)
    if (report.exit === 0) out.untouched++
    else if (report.rolledBack && digest(file) !== damaged)
      out.failures.push(`case ${i} (${kind}): rolled back, but the image changed`)
    else if (report.rolledBack)
      out.failures.push(
        `case ${i} (${kind}): repair was rolled back: ${report.problems
          .slice(-3)
          .map((p) => p.message)
          .join('; ')}`,
      )
    else {
      out.repaired++
      try {
        const again = core.fsck(file, {mode: 'check', force: true})
        if (again.exit !== 0)
          out.failures.push(
            `case ${i} (${kind}): second check exit ${again.exit}: ${again.problems
              .slice(0, 3)
              .map((p) => p.message)
              .join('; ')}`,
          )
      } catch (e) {
        out.failures.push(`case ${i} (${kind}): second check threw ${e && e.message}`)
      }
    }
    out.cases++
    onCase?.(i, kind, report)
  }
  return out
}
