// Crash simulation (issue 3): a scripted workload of several hundred mixed
// operations runs on a recording device. For every prefix of its writes, for
// sampled drops and reorderings of the writes issued since the last flush,
// and for torn blocks, the crashed image is recovered and must (1) check
// clean, (2) hold every operation acknowledged before the crash, and (3) be
// exactly the state after some whole number of operations (nothing
// half-applied). Recovery itself is then crashed and must converge.
import t from 'tap'
import {MemoryDevice} from '../src/core/io/device.js'
import {normalizeCreateOptions} from '../src/core/image/create-options.js'
import {Image, S_IFCHR, S_IFIFO, type PackSlice} from '../src/core/index.js'
import {zstdCompress} from '../src/core/fs/compression.js'
import {crc32} from '../src/core/format/checksum.js'
import {Rng} from './helpers/rng.js'
import {crashImage, digest, RecordingDevice, type Recorded} from './helpers/crash.js'

const BS = 1024
const rng = new Rng('journal-crash')

// ---- build the base image and record the workload
const baseDev = new MemoryDevice(0)
const fresh = Image.format(
  'base',
  baseDev,
  normalizeCreateOptions({
    size: 6 << 20,
    blockSize: BS,
    clusterSize: 4096,
    journalBlocks: 300,
    time: {sec: 1700000000, nsec: 0},
    uuid: '11111111-2222-3333-4444-555555555555',
  }),
)
// packed files, as mkfs writes them (FORMAT.md §10, packs; two pairs share a slice): the workload's
// writes, truncates, punches and unlinks of them unpack them inside their transactions
const packedFiles: string[] = []
{
  const slices: PackSlice[] = []
  const parts: Buffer[] = []
  const starts = new Map<number, number>()
  let used = 0
  for (let i = 0; i < 8; i++) {
    const ino = fresh.create(1, `p${i}`, {mode: 0o644})
    const body = Buffer.from(`packed ${i % 6} `.repeat(20 + (i % 6) * 7))
    const offset = i % 3 === 2 ? 4096 : 0
    if (offset) fresh.write(ino, 0, Buffer.alloc(4096, 97 + i))
    fresh.truncate(ino, offset + body.length)
    let start = starts.get(i % 6)
    if (start === undefined) {
      start = used
      starts.set(i % 6, start)
      parts.push(body)
      used += body.length
    }
    slices.push({ino, offset, start, length: body.length, crc: crc32(body)})
    packedFiles.push(`/p${i}`)
  }
  const raw = Buffer.concat(parts)
  const z = zstdCompress(raw, 3, raw.length)
  if (fresh.storePack(raw, z ?? raw, z ? 1 : 0, crc32(z ?? raw), slices) === undefined)
    throw new Error('no pack stored')
}
const layout = fresh.info().layout
fresh.close()
const base = Buffer.from(baseDev.contents())

const rec = new RecordingDevice(crashImage(base, []), BS)
const img = Image.openDevice('work', rec, {readOnly: false})
const states: string[] = [digest(img)] // states[k]: after k operations
const acked: number[] = [] // acked[i]: operations acknowledged when flush i returned
const files: string[] = [...packedFiles]
const dirs: string[] = ['/']
const kinds: Record<string, number> = {}

function pick<T>(a: T[]): T {
  return a[rng.int(0, a.length - 1)]!
}
function parentOf(p: string): number {
  return img.resolve(p.slice(0, p.lastIndexOf('/')) || '/')
}
function base_(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1)
}

const OPS = 420
let name = 0
for (let op = 1; op <= OPS; op++) {
  rec.op = op
  const r = rng.float()
  const d = pick(dirs)
  const at = (n: string) => (d === '/' ? `/${n}` : `${d}/${n}`)
  let kind: string
  if (r < 0.14 || files.length < 3) {
    kind = 'create+write'
    const p = at(`f${name++}`)
    const ino = img.create(img.resolve(d), base_(p), {mode: 0o644})
    img.write(
      ino,
      0,
      rng.chance(0.2) ? rng.bytes(rng.int(5000, 60000)) : Buffer.from(`file ${p} `.repeat(rng.int(1, 200))),
    )
    files.push(p)
  } else if (r < 0.2) {
    kind = 'mkdir'
    const p = at(`d${name++}`)
    img.mkdir(img.resolve(d), base_(p), {mode: 0o755})
    dirs.push(p)
  } else if (r < 0.3) {
    kind = 'write'
    const f = pick(files)
    const size = img.stat(img.resolve(f)).size
    img.write(
      img.resolve(f),
      rng.int(0, size + 3000),
      rng.chance(0.5) ? rng.bytes(rng.int(1, 20000)) : Buffer.alloc(rng.int(1, 9000), 65 + (op % 26)),
    )
  } else if (r < 0.36) {
    kind = 'truncate'
    const f = pick(files)
    img.truncate(img.resolve(f), rng.int(0, 30000))
  } else if (r < 0.44 && files.length > 3) {
    kind = 'unlink'
    const f = files.splice(rng.int(0, files.length - 1), 1)[0]!
    img.unlink(parentOf(f), base_(f))
  } else if (r < 0.49 && dirs.length > 1) {
    kind = 'rmdir'
    const empty = dirs.filter((x) => x !== '/' && img.readdir(img.resolve(x)).length === 0)
    if (empty.length) {
      const x = pick(empty)
      dirs.splice(dirs.indexOf(x), 1)
      img.rmdir(parentOf(x), base_(x))
    } else {
      const p = at(`e${name++}`)
      img.mkdir(img.resolve(d), base_(p), {})
      dirs.push(p)
    }
  } else if (r < 0.57) {
    kind = 'rename'
    const f = files.splice(rng.int(0, files.length - 1), 1)[0]!
    const to = at(`r${name++}`)
    img.rename(parentOf(f), base_(f), img.resolve(d), base_(to))
    files.push(to)
  } else if (r < 0.62) {
    kind = 'link'
    const f = pick(files)
    const to = at(`h${name++}`)
    img.link(img.resolve(f), img.resolve(d), base_(to))
    files.push(to)
  } else if (r < 0.67) {
    kind = 'symlink'
    img.symlink(img.resolve(d), `s${name++}`, rng.chance(0.5) ? pick(files) : 'x'.repeat(rng.int(1, 3000)), {})
  } else if (r < 0.71) {
    kind = 'mknod'
    img.create(
      img.resolve(d),
      `n${name++}`,
      rng.chance(0.5) ? {mode: S_IFIFO | 0o600} : {mode: S_IFCHR | 0o660, rdev: 0x0501},
    )
  } else if (r < 0.8) {
    kind = 'setxattr'
    img.setXattr(
      img.resolve(pick(files)),
      `user.k${rng.int(0, 4)}`,
      rng.chance(0.2) ? rng.bytes(rng.int(600, 5000)) : Buffer.from(`v${op}`),
    )
  } else if (r < 0.84) {
    kind = 'removexattr'
    const f = img.resolve(pick(files))
    const names = img.listXattrs(f)
    if (names.length) img.removeXattr(f, pick(names))
    else img.setXattr(f, 'user.k0', Buffer.from('x'))
  } else if (r < 0.92) {
    kind = 'setattr'
    img.setattr(img.resolve(pick(files)), {
      mode: rng.int(0, 0o777),
      uid: rng.int(0, 2000),
      gid: rng.int(0, 2000),
      mtime: {sec: rng.int(0, 2e9), nsec: rng.int(0, 999999999)},
    })
  } else {
    kind = 'punch'
    const f = img.resolve(pick(files))
    img.punchHole(f, rng.int(0, 20000), rng.int(1, 20000))
  }
  kinds[kind] = (kinds[kind] ?? 0) + 1
  states.push(digest(img))
  if (op % 4 === 0 || rng.chance(0.1)) {
    img.flush()
    acked.push(op)
  }
}
// references left to the base's pack: the workload unpacked (or freed) the others
let packRefsLeft = 0
for (const [k, v] of img.volume.tree.range(
  {objectid: 0, type: 6, offset: 0},
  {objectid: Number.MAX_SAFE_INTEGER, type: 255, offset: 0},
))
  if (k.type === 6) packRefsLeft += v.readUInt32LE(0)
img.abandon()
const writes = rec.writes
// flushes[i] = writes issued before flush i completed; acked[i] the operations it acknowledged
const flushAck: Array<{at: number; ops: number}> = []
{
  let ai = 0
  for (let i = 0; i < rec.flushes.length; i++) {
    // a flush acknowledges operations only when it was img.flush()'s last one; use the op of the last write before it
    flushAck.push({at: rec.flushes[i]!, ops: 0})
  }
  // img.flush() commits with two fsyncs; the second one acknowledges. Map each acked op to the first flush
  // whose preceding writes include everything issued during that op.
  for (const f of flushAck) {
    while (
      ai < acked.length &&
      writes.slice(0, f.at).some((w) => w.op === acked[ai]) &&
      !writes.slice(f.at).some((w) => w.op <= acked[ai]!)
    )
      ai++
    f.ops = ai ? acked[ai - 1]! : 0
  }
}

/** Operations acknowledged by flushes that completed before the first `n` writes were all issued. */
function ackedBefore(n: number): number {
  let ops = 0
  for (const f of flushAck) if (f.at <= n) ops = Math.max(ops, f.ops)
  return ops
}
const index = new Map(states.map((s, k) => [s, k]))

let checked = 0
const failures: string[] = []
function verify(label: string, dev: MemoryDevice, minOps: number, maxOps: number): void {
  checked++
  let rimg: Image
  try {
    rimg = Image.openDevice(label, dev, {readOnly: false})
  } catch (e) {
    failures.push(`${label}: recovery failed: ${(e as Error).message}`)
    return
  }
  try {
    const c = rimg.check()
    if (c.problems.length) failures.push(`${label}: ${c.problems.length} problems, first: ${c.problems[0]!.message}`)
    const k = index.get(digest(rimg))
    if (k === undefined) failures.push(`${label}: state matches no operation boundary`)
    else if (k < minOps)
      failures.push(`${label}: lost acknowledged work (state after ${k} ops, ${minOps} acknowledged)`)
    else if (k > maxOps) failures.push(`${label}: state from the future (${k} > ${maxOps})`)
  } catch (e) {
    failures.push(`${label}: ${(e as Error).message}`)
  } finally {
    rimg.abandon()
  }
}

t.test('workload', async (t) => {
  t.equal(states.length, OPS + 1)
  const b = Image.openDevice('base', crashImage(base, []))
  t.ok(b.info().features.incompat.includes('packed'), 'the base image has packed files')
  t.equal(b.extents(b.resolve('/p6'))[0]?.kind, 'packed')
  b.close()
  t.ok(
    packRefsLeft < packedFiles.length,
    `the workload unpacked packed files (${packRefsLeft} of ${packedFiles.length} references left)`,
  )
  t.ok(writes.length > 1000, `${writes.length} block writes recorded, ${rec.flushes.length} flushes`)
  for (const k of [
    'create+write',
    'mkdir',
    'write',
    'truncate',
    'unlink',
    'rmdir',
    'rename',
    'link',
    'symlink',
    'mknod',
    'setxattr',
    'removexattr',
    'setattr',
    'punch',
  ])
    t.ok(kinds[k]! > 0, `workload has ${k} (${kinds[k]})`)
})

t.test('every prefix of the write sequence', async (t) => {
  for (let n = 0; n <= writes.length; n++) {
    const maxOps = n === writes.length ? OPS : writes[n]!.op
    verify(`prefix ${n}`, crashImage(base, writes.slice(0, n)), ackedBefore(n), maxOps)
  }
  t.same(failures.slice(0, 10), [], `${checked} prefixes recovered`)
})

t.test('drops and reorderings of unflushed writes, torn blocks', async (t) => {
  const before = checked
  for (let s = 0; s < 2600; s++) {
    // half the crashes come while a flush is in flight: everything of that commit issued, nothing known durable
    const n = s % 2 === 0 ? pick(rec.flushes.filter((f) => f > 0)) : rng.int(1, writes.length)
    // the crash came after n writes were issued and before a flush at n completed
    const lastFlush = [0, ...rec.flushes].filter((f) => f < n).pop()!
    const durable = writes.slice(0, lastFlush)
    const pending = writes.slice(lastFlush, n)
    const kept = pending.filter(() => rng.chance(0.6))
    for (let i = kept.length - 1; i > 0; i--) {
      const j = rng.int(0, i)
      ;[kept[i], kept[j]] = [kept[j]!, kept[i]!]
    }
    const maxOps = n === writes.length ? OPS : writes[n]!.op
    if (s % 3 === 0 && pending.length) {
      const w = pick(pending)
      verify(
        `torn ${s}`,
        crashImage(base, [...durable, ...kept.filter((x) => x !== w)], {
          write: w,
          bytes: 512 * rng.int(0, Math.ceil(w.data.length / 512) - 1) + rng.int(0, 1) * 0,
        }),
        ackedBefore(lastFlush),
        maxOps,
      )
    } else verify(`reorder ${s}`, crashImage(base, [...durable, ...kept]), ackedBefore(lastFlush), maxOps)
  }
  t.same(failures.slice(0, 10), [], `${checked - before} reordered, dropped or torn states recovered`)
})

t.test('each commit in flight with only its journal blocks on disk', async (t) => {
  const before = checked
  const {journalStart, journalBlocks} = layout
  const inJournal = (w: Recorded) => w.pos / BS >= journalStart && w.pos / BS < journalStart + journalBlocks
  const points = [0, ...rec.flushes]
  for (let i = 1; i < points.length; i++) {
    const epoch = writes.slice(points[i - 1], points[i])
    if (!epoch.some(inJournal) || epoch.every(inJournal)) continue
    const maxOps = points[i] === writes.length ? OPS : writes[points[i]]!.op
    verify(
      `journal only ${i}`,
      crashImage(base, [...writes.slice(0, points[i - 1]), ...epoch.filter(inJournal)]),
      ackedBefore(points[i - 1]),
      maxOps,
    )
  }
  t.same(failures.slice(0, 10), [], `${checked - before} commits with their data lost recovered`)
})

t.test('replay is idempotent, also when recovery itself crashes', async (t) => {
  let runs = 0
  for (let s = 0; s < 60; s++) {
    const n = rng.int(1, writes.length)
    const crashed = crashImage(base, writes.slice(0, n))
    // reference: recover once
    const once = Image.openDevice('once', crashImage(crashed.contents(), []), {readOnly: false})
    const want = digest(once)
    once.abandon()
    // recover while recording, then crash at every point of the recovery and recover again
    const rdev = new RecordingDevice(crashImage(crashed.contents(), []), BS)
    Image.openDevice('rec', rdev, {readOnly: false}).abandon()
    for (let m = 0; m <= rdev.writes.length; m += Math.max(1, Math.floor(rdev.writes.length / 8))) {
      const again = Image.openDevice('again', crashImage(crashed.contents(), rdev.writes.slice(0, m)), {
        readOnly: false,
      })
      if (digest(again) !== want) failures.push(`replay crash ${s}/${m} differs`)
      again.abandon()
      runs++
    }
  }
  t.same(failures.slice(0, 10), [], `${runs} replays of crashed replays agree`)
})

t.test('count', async (t) => {
  t.ok(checked >= 5000, `${checked} crash states checked`)
  console.log(`# journal crash simulation: ${checked} crash states checked, ${failures.length} failures`)
})
