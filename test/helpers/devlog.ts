/**
 * Crash states of real razorfs processes, rebuilt from the device log.
 *
 * The seam: with RAZORFS_TEST_DEVICE_LOG=FILE in its environment, every
 * razorfs process (the CLI, the mount server's worker thread) appends each
 * write and each completed flush of the images it opens read-write to FILE
 * (src/core/io/device.ts, "TEST SEAM"). The test appends marks (JSON labels) at
 * its acknowledgement points: a command's successful exit, a line of
 * `cp -v`, an fsync on a mount that returned. A copy of the image from before
 * the workload plus the log then gives the image a power cut would leave
 * after any number of logged events — every prefix of the writes, and the
 * writes issued since the last flush dropped, reordered or torn — which
 * `CrashRun` recovers in-process and checks:
 *
 *   1. recovery (a read-write open) succeeds and check() (with data
 *      checksums) finds nothing;
 *   2. a state after a prefix of the writes satisfies the workload's
 *      predicate at every point of the log it stands for (the acknowledged
 *      files are there with their exact content; nothing half-applied);
 *   3. a state with dropped, reordered or torn writes is one of the prefix
 *      states between the last completed flush and the crash (so nothing
 *      else than whole transactions) and satisfies the predicate too.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {MemoryDevice, type BlockDevice} from '../../src/core/io/device.js'
import {Image} from '../../src/core/index.js'
import type {Rng} from './rng.js'
import {cli} from './image.js'

/** The record layout of the device log (src/core/io/device.ts). */
export const LOG_HEADER = 24

export interface LogRecord {
  kind: string
  pid: number
  dev: number
  pos: number
  data: Buffer
}

export function readDeviceLog(file: string): LogRecord[] {
  const buf = fs.readFileSync(file)
  const out: LogRecord[] = []
  let at = 0
  while (at < buf.length) {
    if (at + LOG_HEADER > buf.length) throw new Error(`${file}: a record header is cut at byte ${at}`)
    const len = buf.readUInt32LE(at + 12)
    if (at + LOG_HEADER + len > buf.length) throw new Error(`${file}: a record is cut at byte ${at}`)
    out.push({
      kind: String.fromCharCode(buf[at]!),
      pid: buf.readUInt32LE(at + 4),
      dev: buf.readUInt32LE(at + 8),
      pos: Number(buf.readBigUInt64LE(at + 16)),
      data: buf.subarray(at + LOG_HEADER, at + LOG_HEADER + len),
    })
    at += LOG_HEADER + len
  }
  return out
}

/** What a mark may say (JSON): the kind of acknowledgement, and expectations set or dropped from here on. */
export interface Mark {
  ack?: string
  /** Expectations holding from this mark on (until forgotten), by key. */
  set?: Record<string, Expect>
  forget?: string[]
  [more: string]: unknown
}

/**
 * An expectation about a path of a recovered image: it exists with this type
 * (and content SHA-256, mode, symlink target when given), or is absent; or
 * exactly one of `oneOf` exists, a file with content `sha` (a rename in flight).
 */
export interface Expect {
  type?: 'file' | 'dir' | 'symlink'
  sha?: string
  mode?: number
  target?: string
  absent?: boolean
  oneOf?: string[]
}

/** Append a mark to the log (one O_APPEND write, ordered with the razorfs processes' records). */
export function appendMark(file: string, mark: Mark): void {
  const payload = Buffer.from(JSON.stringify(mark))
  const h = Buffer.alloc(LOG_HEADER)
  h.write('M', 0, 'latin1')
  h.writeUInt32LE(process.pid, 4)
  h.writeUInt32LE(payload.length, 12)
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644)
  try {
    fs.writeSync(fd, Buffer.concat([h, payload]))
  } finally {
    fs.closeSync(fd)
  }
}

export type Event = {kind: 'W'; pos: number; data: Buffer} | {kind: 'F'} | {kind: 'M'; mark: Mark}

/**
 * The events of one image: its writes (split into blocks), its flushes and
 * every mark, in log order. Devices are matched by the path in their 'O'
 * record; a flush of any of them counts (fsync makes the whole file durable).
 */
export function imageEvents(records: readonly LogRecord[], image: string, blockSize: number): Event[] {
  const want = path.resolve(image)
  const mine = new Set<string>()
  const out: Event[] = []
  for (const r of records) {
    const id = `${r.pid}/${r.dev}`
    if (r.kind === 'M') out.push({kind: 'M', mark: JSON.parse(r.data.toString('utf8')) as Mark})
    else if (r.kind === 'O') {
      if (r.data.toString('utf8') === want) mine.add(id)
    } else if (!mine.has(id)) continue
    else if (r.kind === 'W') {
      for (let o = 0; o < r.data.length; o += blockSize)
        out.push({kind: 'W', pos: r.pos + o, data: r.data.subarray(o, Math.min(r.data.length, o + blockSize))})
    } else if (r.kind === 'F') out.push({kind: 'F'})
    else if (r.kind === 'R')
      throw new Error(`${image} was resized during the workload: the crash states do not model it`)
  }
  return out
}

// ---- what a user can observe in an image, path by path

export interface Entry {
  type: string
  mode: number
  sha: string
  target: string
  key: string
}

export type Tree = Map<string, Entry>

export function describe(img: Image): Tree {
  const out: Tree = new Map()
  const add = (p: string, ino: number) => {
    const st = img.stat(ino)
    const body = st.type === 'file' ? img.readFile(ino) : undefined
    const target = st.type === 'symlink' ? img.readlink(ino).toString('latin1') : ''
    const sha = body ? crypto.createHash('sha256').update(body).digest('hex') : ''
    const x = img
      .listXattrs(ino)
      .sort()
      .map((n) => `${n}=${img.getXattr(ino, n).toString('hex')}`)
      .join(',')
    const key = `${st.type} ino=${ino} ${st.mode.toString(8)} ${st.uid}:${st.gid} n${st.nlink} s${st.size} r${st.rdev} m${st.mtime.sec}.${st.mtime.nsec} c${st.ctime.sec}.${st.ctime.nsec} ${sha} ${target} ${x}`
    out.set(p, {type: st.type, mode: st.mode & 0o7777, sha, target, key})
    if (st.type === 'dir')
      for (const e of img.readdir(ino)) add(`${p === '/' ? '' : p}/${e.name.toString('latin1')}`, e.ino)
  }
  add('/', 1)
  return out
}

export function treeDigest(tree: Tree): string {
  const h = crypto.createHash('sha256')
  for (const [p, e] of [...tree].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) h.update(`${p}\0${e.key}\n`)
  return h.digest('hex')
}

/** Problems of `tree` against the expectations. */
export function checkExpectations(tree: Tree, expects: ReadonlyMap<string, Expect>): string[] {
  const bad: string[] = []
  for (const [key, x] of expects) {
    if (x.oneOf) {
      const there = x.oneOf.filter((p) => tree.has(p))
      if (there.length !== 1) bad.push(`${key}: ${there.length} of ${x.oneOf.join(', ')} exist (a rename half-applied)`)
      else if (x.sha && tree.get(there[0]!)!.sha !== x.sha) bad.push(`${key}: ${there[0]} has other content`)
      continue
    }
    const p = key.slice(key.indexOf(':') + 1)
    const e = tree.get(p)
    if (x.absent) {
      if (e) bad.push(`${key}: ${p} exists, acknowledged as removed`)
      continue
    }
    if (!e) {
      bad.push(`${key}: ${p} is missing`)
      continue
    }
    if (x.type && e.type !== x.type) bad.push(`${key}: ${p} is a ${e.type}, not a ${x.type}`)
    if (x.sha !== undefined && e.sha !== x.sha) bad.push(`${key}: ${p} has other content than acknowledged`)
    if (x.mode !== undefined && e.mode !== x.mode)
      bad.push(`${key}: ${p} has mode ${e.mode.toString(8)}, not ${x.mode.toString(8)}`)
    if (x.target !== undefined && e.target !== x.target) bad.push(`${key}: ${p} points to ${e.target}, not ${x.target}`)
  }
  return bad
}

/**
 * A device over an image held elsewhere (never changed): writes go to pages
 * of its own, so a crash state costs the pages written, not a copy of the image.
 */
export class CowDevice implements BlockDevice {
  private readonly pages = new Map<number, Buffer>()
  private _size: number
  constructor(
    private readonly base: Buffer,
    private readonly page = 4096,
  ) {
    this._size = base.length
  }
  get size(): number {
    return this._size
  }
  read(pos: number, length: number): Buffer {
    const out = Buffer.alloc(length)
    for (let done = 0; done < length;) {
      const at = pos + done
      const n = Math.floor(at / this.page)
      const off = at - n * this.page
      const take = Math.min(length - done, this.page - off)
      const pg = this.pages.get(n)
      if (pg) pg.copy(out, done, off, off + take)
      else if (at < this.base.length) this.base.copy(out, done, at, Math.min(this.base.length, at + take))
      done += take
    }
    return out
  }
  write(pos: number, data: Buffer): void {
    for (let done = 0; done < data.length;) {
      const at = pos + done
      const n = Math.floor(at / this.page)
      const off = at - n * this.page
      const take = Math.min(data.length - done, this.page - off)
      let pg = this.pages.get(n)
      if (!pg) {
        pg = Buffer.alloc(this.page)
        if (n * this.page < this.base.length)
          this.base.copy(pg, 0, n * this.page, Math.min(this.base.length, (n + 1) * this.page))
        this.pages.set(n, pg)
      }
      data.copy(pg, off, done, done + take)
      done += take
    }
    if (pos + data.length > this._size) this._size = pos + data.length
  }
  flush(): void {}
  resize(size: number): void {
    if (size < this._size) throw new Error('CowDevice does not shrink')
    this._size = size
  }
  close(): void {}
  /** The whole content. */
  contents(): Buffer {
    const out = Buffer.alloc(this._size)
    this.base.copy(out, 0, 0, Math.min(this.base.length, this._size))
    for (const [n, pg] of this.pages) pg.copy(out, n * this.page, 0, Math.min(this.page, this._size - n * this.page))
    return out
  }
}

/** Image bytes: `base` with `writes` applied in order (and the last one torn after `tornBytes`). */
export function applyWrites(
  base: Buffer,
  writes: ReadonlyArray<{pos: number; data: Buffer}>,
  tornBytes?: number,
): CowDevice {
  const dev = new CowDevice(base)
  writes.forEach((w, i) =>
    dev.write(w.pos, tornBytes !== undefined && i === writes.length - 1 ? w.data.subarray(0, tornBytes) : w.data),
  )
  return dev
}

export interface CrashRunOptions {
  name: string
  base: Buffer
  events: Event[]
  rng: Rng
  /**
   * The workload's own checks of a recovered state, for a crash after the
   * first `cut` events (marks included: `expects` are the expectations they
   * set by then).
   */
  predicate?: (tree: Tree, cut: number, expects: ReadonlyMap<string, Expect>) => string[]
}

export interface RunCounts {
  prefixes: number
  reordered: number
  torn: number
  failures: string[]
}

export class CrashRun {
  readonly writes: Array<{pos: number; data: Buffer; at: number}> = []
  /** For each event index, how many writes come before it, and the expectations set by the marks before it. */
  private readonly writesBefore: number[] = []
  private readonly expectsAt: Array<ReadonlyMap<string, Expect>> = []
  /** Event indexes of the flushes. */
  readonly flushes: number[] = []
  readonly marks: Array<{at: number; mark: Mark}> = []
  /** Digest of the state after each prefix of the writes (filled by prefixes()). */
  readonly prefixDigest: string[] = []
  readonly counts: RunCounts = {prefixes: 0, reordered: 0, torn: 0, failures: []}

  constructor(private readonly o: CrashRunOptions) {
    let expects = new Map<string, Expect>()
    o.events.forEach((e, i) => {
      this.writesBefore.push(this.writes.length)
      this.expectsAt.push(expects)
      if (e.kind === 'W') this.writes.push({pos: e.pos, data: e.data, at: i})
      else if (e.kind === 'F') this.flushes.push(i)
      else {
        this.marks.push({at: i, mark: e.mark})
        expects = new Map(expects)
        for (const k of e.mark.forget ?? []) expects.delete(k)
        for (const [k, x] of Object.entries(e.mark.set ?? {})) expects.set(k, x)
      }
    })
    this.writesBefore.push(this.writes.length)
    this.expectsAt.push(expects)
  }

  get events(): number {
    return this.o.events.length
  }

  private fail(label: string, what: string): void {
    if (this.counts.failures.length < 50) this.counts.failures.push(`${this.o.name} ${label}: ${what}`)
  }

  /** Recover `dev` read-write and check it; the tree, or undefined (and a failure) when it does not recover clean. */
  private recover(label: string, dev: BlockDevice): Tree | undefined {
    let img: Image
    try {
      img = Image.openDevice(label, dev, {readOnly: false})
    } catch (e) {
      this.fail(label, `recovery failed: ${(e as Error).message}`)
      return undefined
    }
    try {
      const c = img.check({checkData: true})
      if (c.problems.length) {
        this.fail(label, `${c.problems.length} problems after recovery, first: ${c.problems[0]!.message}`)
        return undefined
      }
      return describe(img)
    } catch (e) {
      this.fail(label, `reading the recovered image: ${(e as Error).message}`)
      return undefined
    } finally {
      img.abandon()
    }
  }

  private judge(label: string, tree: Tree, cut: number): void {
    const bad = [
      ...checkExpectations(tree, this.expectsAt[cut]!),
      ...(this.o.predicate?.(tree, cut, this.expectsAt[cut]!) ?? []),
    ]
    if (bad.length) this.fail(label, `${bad.length} problems, first: ${bad.slice(0, 3).join('; ')}`)
  }

  /**
   * Every prefix of the writes: the state is recovered once and judged at
   * every point of the log between its last write and the next one.
   */
  prefixes(): void {
    const dev = new MemoryDevice(0)
    dev.write(0, this.o.base)
    for (let w = 0; w <= this.writes.length; w++) {
      if (w > 0) dev.write(this.writes[w - 1]!.pos, this.writes[w - 1]!.data)
      const tree = this.recover(`prefix ${w}`, new CowDevice(dev.contents()))
      this.counts.prefixes++
      this.prefixDigest.push(tree ? treeDigest(tree) : '')
      if (!tree) continue
      const from = w === 0 ? 0 : this.writes[w - 1]!.at + 1
      const to = w === this.writes.length ? this.o.events.length : this.writes[w]!.at
      for (let cut = from; cut <= to; cut++)
        if (cut === from || this.o.events[cut - 1]!.kind === 'M') this.judge(`prefix ${w} (event ${cut})`, tree, cut)
    }
  }

  /**
   * `count` crashes at random points (half of them while a flush is in flight:
   * everything before it issued, nothing of it known durable): the writes
   * since the last completed flush are kept with probability 0.6, shuffled,
   * and every third state also tears one of them at a 512-byte boundary.
   */
  sampled(count: number): void {
    if (!this.prefixDigest.length) throw new Error('run prefixes() first')
    const rng = this.o.rng
    const flushes = this.flushes.filter((f) => this.writesBefore[f]! > 0)
    for (let s = 0; s < count; s++) {
      const cut =
        s % 2 === 0 && flushes.length ? rng.pick(flushes) : this.writes[rng.int(0, this.writes.length - 1)]!.at + 1
      const last = [-1, ...this.flushes].filter((f) => f < cut).pop()!
      const durable = this.writesBefore[last + 1]!
      const issued = this.writesBefore[cut]!
      const pending = this.writes.slice(durable, issued).filter(() => rng.chance(0.6))
      for (let i = pending.length - 1; i > 0; i--) {
        const j = rng.int(0, i)
        ;[pending[i], pending[j]] = [pending[j]!, pending[i]!]
      }
      let torn: number | undefined
      if (s % 3 === 0 && pending.length)
        torn = 512 * rng.int(0, Math.ceil(pending[pending.length - 1]!.data.length / 512) - 1)
      const label = `${torn === undefined ? 'reordered' : 'torn'} ${s} (event ${cut}, ${issued - durable} writes in flight, ${pending.length} kept)`
      const tree = this.recover(label, applyWrites(this.o.base, [...this.writes.slice(0, durable), ...pending], torn))
      if (torn === undefined) this.counts.reordered++
      else this.counts.torn++
      if (!tree) continue
      const d = treeDigest(tree)
      if (!this.prefixDigest.slice(durable, issued + 1).includes(d))
        this.fail(
          label,
          `the state is none of the ${issued - durable + 1} states of the prefixes since the last flush (a transaction half-applied, or acknowledged work lost)`,
        )
      this.judge(label, tree, cut)
    }
  }

  get total(): number {
    return this.counts.prefixes + this.counts.reordered + this.counts.torn
  }
}

/**
 * The binary's recovery on a few crashed images: `razorfsck -f -y` on the
 * image a crash would leave just before three of `flushes` (spread over
 * them), written to `dir`. Each must exit 0 or 1, check clean with data
 * checksums, and hold the state a read-write open recovers from the same
 * writes (`run.prefixDigest`, so prefixes() must have run). Returns the
 * problems found.
 */
export function fsckCrashed(run: CrashRun, base: Buffer, flushes: readonly number[], dir: string): string[] {
  const problems: string[] = []
  for (let i = 0; i < 3; i++) {
    const f = flushes[Math.floor(((i + 0.5) * flushes.length) / 3)]!
    const w = run.writes.filter((x) => x.at < f).length
    const file = path.join(dir, `c${i}.img`)
    fs.writeFileSync(file, applyWrites(base, run.writes.slice(0, w)).contents())
    const r = cli(['fsck', '-f', '-y', file])
    if (r.status !== 0 && r.status !== 1)
      problems.push(
        `crash at write ${w}: razorfsck -fy exit ${r.status}: ${r.stderr.trim() || r.stdout.trim().split('\n').pop()}`,
      )
    const img = Image.open(file)
    const c = img.check({checkData: true})
    if (c.problems.length) problems.push(`crash at write ${w}: after razorfsck -fy: ${c.problems[0]!.message}`)
    if (treeDigest(describe(img)) !== run.prefixDigest[w])
      problems.push(`crash at write ${w}: razorfsck recovered another state than a read-write open`)
    img.close()
  }
  return problems
}
