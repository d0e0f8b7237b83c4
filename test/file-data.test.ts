// File contents through the real Image against a Buffer model: random writes,
// truncates and hole punches over cluster boundaries, with and without
// compression, inline and block extents; then a reopen, and a check that
// removing every file gives back every block (no leak, no double free).
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import {Image, type CompressionSpec} from '../src/core/index.js'
import {Rng} from './helpers/rng.js'
import {tmpDir} from './helpers/image.js'

function payload(rng: Rng, n: number): Buffer {
  const kind = rng.int(0, 3)
  if (kind === 0) return rng.bytes(n) // incompressible
  if (kind === 1) return Buffer.alloc(n) // zeros: become holes
  if (kind === 2) return Buffer.alloc(n, rng.int(1, 255)) // compressible
  return Buffer.from('razorfs '.repeat(Math.ceil(n / 8)).slice(0, n))
}

for (const compression of [
  {algorithm: 'zstd', level: 3},
  {algorithm: 'none', level: 0},
] as CompressionSpec[]) {
  t.test(`random writes, truncates and punches (${compression.algorithm})`, async (t) => {
    const dir = tmpDir(t, 'filedata')
    const p = path.join(dir, 'x.img')
    const rng = new Rng(`filedata-${compression.algorithm}`)
    let img = Image.create(p, {size: 64 << 20, blockSize: 1024, clusterSize: 8192, compression, journalBlocks: 0})
    const free0 = img.info().freeBlocks
    const files = Array.from({length: 6}, (_, i) => ({ino: img.create(1, `f${i}`, {}), model: Buffer.alloc(0)}))
    let mismatches = 0
    for (let op = 0; op < 1500; op++) {
      const f = files[rng.int(0, files.length - 1)]!
      const r = rng.float()
      if (r < 0.6) {
        const off = rng.chance(0.3) ? f.model.length : rng.int(0, Math.max(0, f.model.length + 20000))
        const data = payload(rng, rng.chance(0.7) ? rng.int(1, 3000) : rng.int(3000, 40000))
        img.write(f.ino, off, data)
        const end = off + data.length
        if (end > f.model.length) f.model = Buffer.concat([f.model, Buffer.alloc(end - f.model.length)])
        data.copy(f.model, off)
      } else if (r < 0.8) {
        const size = rng.int(0, f.model.length + 10000)
        img.truncate(f.ino, size)
        f.model =
          size <= f.model.length
            ? Buffer.from(f.model.subarray(0, size))
            : Buffer.concat([f.model, Buffer.alloc(size - f.model.length)])
      } else if (r < 0.9) {
        const off = rng.int(0, f.model.length)
        const len = rng.int(1, 20000)
        img.punchHole(f.ino, off, len)
        f.model.fill(0, off, Math.min(f.model.length, off + len))
      } else {
        const off = rng.int(0, f.model.length)
        const len = rng.int(0, 20000)
        const got = img.read(f.ino, off, len)
        if (!got.equals(f.model.subarray(off, Math.min(f.model.length, off + len)))) mismatches++
      }
      if (img.stat(f.ino).size !== f.model.length) mismatches++
    }
    t.equal(mismatches, 0, 'reads and sizes match the model throughout')
    const kinds = new Set(files.flatMap((f) => img.extents(f.ino).map((e) => e.kind)))
    t.ok(kinds.has('raw'), 'raw extents used')
    if (compression.algorithm === 'zstd') t.ok(kinds.has('zstd'), 'compressed extents used')
    img.close()
    img = Image.open(p, {readOnly: false})
    for (const f of files) t.ok(img.readFile(f.ino).equals(f.model), `file ${f.ino} after reopen`)
    // allocated blocks reported per inode add up to what the allocator lost
    const owned = files.reduce((n, f) => n + img.stat(f.ino).allocated / 1024, 0)
    t.ok(owned <= free0 - img.info().freeBlocks, 'inode block counts are within the allocated total')
    for (let i = 0; i < files.length; i++) img.unlink(1, `f${i}`)
    img.close()
    img = Image.open(p)
    t.equal(img.info().freeBlocks, free0, 'every block came back after removing all files')
    t.equal(img.stats().inodes, 1)
    img.close()
    t.ok(fs.statSync(p).size === 64 << 20)
  })
}

t.test('small files are inline: 3,000 small files do not take 3,000 blocks', async (t) => {
  const dir = tmpDir(t, 'inline')
  const img = Image.create(path.join(dir, 'i.img'), {size: 64 << 20, journalBlocks: 0})
  const free0 = img.info().freeBlocks
  let bytes = 0
  for (let i = 0; i < 3000; i++) {
    const ino = img.create(1, `s${i}`, {})
    const data = Buffer.from(`small file number ${i}\n`.repeat(1 + (i % 40)))
    img.write(ino, 0, data)
    bytes += data.length
  }
  const used = free0 - img.info().freeBlocks
  // a block per file would be 3000; the data and metadata together take about bytes/4096 plus inode records
  t.ok(
    used < 3000 / 4 && used * 4096 < 2 * (bytes + 3000 * 256),
    `3000 small files (${bytes} bytes) use ${used} blocks`,
  )
  t.equal(img.extents(img.resolve('s5'))[0]!.kind, 'inline')
  img.close()
})
