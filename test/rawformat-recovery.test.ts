// Issue 10 item 7: docs/FORMAT.md is complete enough to recover a crashed
// image. The independent reader (helpers/rawformat.ts, written from
// FORMAT.md alone, no imports from src/) replays the journal in memory and
// reads every file of crashed images — every prefix of a recorded workload's
// writes (sampled) and reorderings of unflushed writes — and must see
// exactly what the real library sees after its own recovery: same paths,
// types, sizes and contents. It must also redo every committed transaction
// past a damaged data block (item 4). Seed: RAZORFS_TEST_SEED.
import t from 'tap'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {MemoryDevice} from '../src/core/io/device.js'
import {normalizeCreateOptions} from '../src/core/image/create-options.js'
import {Image, type PackSlice} from '../src/core/index.js'
import {zstdCompress} from '../src/core/fs/compression.js'
import {crc32} from '../src/core/format/checksum.js'
import {Rng} from './helpers/rng.js'
import {crashImage, RecordingDevice, type Recorded} from './helpers/crash.js'
import {RawImage, RawRecovery, type RawEntry} from './helpers/rawformat.js'
import {tmpDir} from './helpers/image.js'

const BS = 1024
const seed = process.env.RAZORFS_TEST_SEED ?? 'rawformat-recovery'
console.log(`# seed ${seed} (RAZORFS_TEST_SEED replays it)`)
const rng = new Rng(seed)

// ---- a base image with a pack, then a recorded workload, each operation committed
const baseDev = new MemoryDevice(0)
const fresh = Image.format(
  'base',
  baseDev,
  normalizeCreateOptions({
    size: 4 << 20,
    blockSize: BS,
    clusterSize: 4096,
    journalBlocks: 400,
    time: {sec: 1700000000, nsec: 0},
    uuid: '11111111-2222-3333-4444-555555555555',
  }),
)
{
  const slices: PackSlice[] = []
  const parts: Buffer[] = []
  let used = 0
  for (let i = 0; i < 4; i++) {
    const ino = fresh.create(1, `p${i}`, {mode: 0o644})
    const body = Buffer.from(`packed tail ${i} `.repeat(30 + i * 9))
    fresh.truncate(ino, body.length)
    slices.push({ino, offset: 0, start: used, length: body.length, crc: crc32(body)})
    parts.push(body)
    used += body.length
  }
  const raw = Buffer.concat(parts)
  const z = zstdCompress(raw, 3, raw.length)
  if (fresh.storePack(raw, z ?? raw, z ? 1 : 0, crc32(z ?? raw), slices) === undefined)
    throw new Error('no pack stored')
}
fresh.close()
const base = Buffer.from(baseDev.contents())

const rec = new RecordingDevice(crashImage(base, []), BS)
const img = Image.openDevice('work', rec, {readOnly: false})
const files: string[] = ['/p0', '/p1', '/p2', '/p3']
const dirs: string[] = ['/']
let name = 0
for (let op = 1; op <= 90; op++) {
  rec.op = op
  const d = dirs[rng.int(0, dirs.length - 1)]!
  const at = (n: string) => (d === '/' ? `/${n}` : `${d}/${n}`)
  const r = rng.float()
  const body = () =>
    rng.chance(0.4) ? rng.bytes(rng.int(1, 9000)) : Buffer.from(`text ${op} `.repeat(rng.int(1, 900)))
  if (r < 0.3 || files.length < 4) {
    const p = at(`f${name++}`)
    img.write(img.create(img.resolve(d), p.slice(p.lastIndexOf('/') + 1), {mode: 0o644}), 0, body())
    files.push(p)
  } else if (r < 0.4) {
    const p = at(`d${name++}`)
    img.mkdir(img.resolve(d), p.slice(p.lastIndexOf('/') + 1), {mode: 0o755})
    dirs.push(p)
  } else if (r < 0.6) {
    const f = files[rng.int(0, files.length - 1)]!
    img.write(img.resolve(f), rng.int(0, 12000), body())
  } else if (r < 0.7) {
    img.truncate(img.resolve(files[rng.int(0, files.length - 1)]!), rng.int(0, 15000))
  } else if (r < 0.8 && files.length > 4) {
    const f = files.splice(rng.int(0, files.length - 1), 1)[0]!
    img.unlink(img.resolve(f.slice(0, f.lastIndexOf('/')) || '/'), f.slice(f.lastIndexOf('/') + 1))
  } else if (r < 0.9) {
    img.symlink(img.resolve(d), `s${name++}`, 'target/'.repeat(rng.int(1, 200)), {})
  } else {
    img.setXattr(img.resolve(files[rng.int(0, files.length - 1)]!), 'user.k', rng.bytes(rng.int(1, 3000)))
  }
  if (rng.chance(0.7)) img.flush()
}
img.abandon()
const writes = rec.writes
const layout = Image.openDevice('base', crashImage(base, [])).info().layout

/** What the library sees after its own (in-memory) recovery. */
function libraryListing(dev: MemoryDevice): Map<string, RawEntry> {
  const li = Image.openDevice('lib', dev, {readOnly: true})
  const out = new Map<string, RawEntry>()
  const visit = (ino: number, p: string) => {
    const st = li.stat(ino)
    const e: RawEntry = {type: st.type, size: st.size}
    if (st.type === 'file' || st.type === 'symlink')
      e.sha256 = crypto.createHash('sha256').update(li.readFile(ino)).digest('hex')
    out.set(p, e)
    if (st.type === 'dir')
      for (const d of li.readdir(ino)) visit(d.ino, `${p === '/' ? '' : p}/${d.name.toString('hex')}`)
  }
  visit(1, '/')
  li.abandon()
  return out
}

const dir = tmpDir(t, 'rawrec')
const file = path.join(dir, 'crashed.img')
let states = 0
let replayed = 0
let stale = 0
const failures: string[] = []
function compareAt(label: string, dev: MemoryDevice): void {
  states++
  fs.writeFileSync(file, dev.contents())
  const raw = new RawImage(file)
  try {
    const rr = new RawRecovery(raw)
    const r = rr.replay()
    if (r.applied) replayed++
    const want = libraryListing(dev)
    // the same reader without the replay (what FORMAT.md forbids): home blocks newer than the superblock, or older than the log
    const naive = new RawRecovery(raw)
    naive.replayed = {
      ...r,
      applied: 0,
      overlay: new Map(),
      treeRoot: naive.sb.treeRoot,
      treeHeight: naive.sb.treeHeight,
    }
    try {
      if (JSON.stringify([...naive.listing()].sort()) !== JSON.stringify([...want].sort())) stale++
    } catch {
      stale++
    }
    const got = rr.listing()
    const a = JSON.stringify([...got].sort())
    const b = JSON.stringify([...want].sort())
    if (a !== b)
      failures.push(
        `${label}: the independent reader sees ${got.size} entries, the library ${want.size}; first difference ${[...new Set([...got.keys(), ...want.keys()])].find((k) => JSON.stringify(got.get(k)) !== JSON.stringify(want.get(k)))}`,
      )
  } catch (e) {
    failures.push(`${label}: ${(e as Error).message}`)
  } finally {
    raw.close()
  }
}

t.test('crashed images: the independent reader recovers what the library recovers', async (t) => {
  const step = Math.max(1, Math.floor(writes.length / 150))
  for (let n = 0; n <= writes.length; n += step) compareAt(`prefix ${n}`, crashImage(base, writes.slice(0, n)))
  compareAt('all writes', crashImage(base, writes))
  for (let s = 0; s < 60; s++) {
    const n = rng.int(1, writes.length)
    const lastFlush = [0, ...rec.flushes].filter((f) => f < n).pop()!
    const kept = writes.slice(lastFlush, n).filter(() => rng.chance(0.6))
    compareAt(`reorder ${s}`, crashImage(base, [...writes.slice(0, lastFlush), ...kept.reverse()]))
  }
  t.same(failures.slice(0, 10), [], `${states} crash states read alike`)
  t.ok(replayed > states / 2, `${replayed} states needed transactions replayed`)
  t.ok(stale > states / 10, `${stale} states read without the replay give another tree, or none: the replay is needed`)
})

t.test('a damaged data block: every committed transaction is still replayed', async (t) => {
  // the first data block a committed transaction lists, damaged in an image crashed after every write
  const all = crashImage(base, writes)
  const inJournal = (w: Recorded) =>
    w.pos / BS >= layout.journalStart && w.pos / BS < layout.journalStart + layout.journalBlocks
  const total = new RawRecovery(new RawImage((fs.writeFileSync(file, all.contents()), file))).replay().applied
  const lib = Image.openDevice('lib', crashImage(base, writes), {readOnly: true})
  const f = files
    .map((p) => ({p, ino: lib.resolve(p)}))
    .find(({ino}) =>
      lib
        .extents(ino)
        .some((e) => e.kind === 'raw' && writes.some((w) => !inJournal(w) && w.pos === e.block * BS && w.epoch > 0)),
    )!
  const block = lib.extents(f.ino).find((e) => e.kind === 'raw')!.block
  lib.abandon()
  const buf = Buffer.from(all.contents())
  buf[block * BS + 3]! ^= 0xff
  fs.writeFileSync(file, buf)
  const raw = new RawImage(file)
  const rr = new RawRecovery(raw)
  const r = rr.replay()
  raw.close()
  t.equal(r.applied, total, `all ${total} committed transactions replayed`)
  t.same(r.damaged, [block], 'the damaged block is found')
  const dev = new MemoryDevice(0)
  dev.write(0, buf)
  const li = Image.openDevice('lib', dev, {readOnly: true})
  t.equal(li.recovery?.transactions, total, 'the library agrees')
  t.equal(li.recovery?.damaged?.[0]?.block, block)
  li.abandon()
})
