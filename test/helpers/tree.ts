/**
 * Deterministic host test trees, generated in code under a temporary cache
 * directory and shared by all test files of one `tap` run.
 *
 *   mixedTree()   ~3,250 entries, 3,000 of them small files (0-20 KiB, text,
 *                 random or both); ~55 MiB apparent, ~33 MiB allocated.
 *                 Every file type root can create: regular,
 *                 dir, symlinks (relative, absolute, dangling, to a dir,
 *                 4095-byte target, non-UTF-8 target), fifo, unix socket,
 *                 char and block devices; UTF-8, non-UTF-8, 255-byte and
 *                 awkward names (":", "\\", "\n", leading "-"); a 48-deep
 *                 directory chain and a 3,000-byte path; hardlink groups of
 *                 2 and 3 (regular, empty, symlink, fifo, across dirs);
 *                 user.* xattrs (up to ~3 KB values, binary, empty, several
 *                 per file, on dirs); modes 0000 … 07777; uids/gids 1000,
 *                 65534, 4000000000; nanosecond mtimes/atimes including
 *                 pre-1970 and 2100; sparse files with holes at start,
 *                 middle and end, all-hole files, written all-zero files and
 *                 zero blocks inside data.
 *   bigdirTree()  one directory /big with 100,000 entries (empty files plus
 *                 100 of 10 bytes), names 7-255 bytes.
 *   bigTree()     /sparse-1g: 1 GiB apparent, ~3.2 MiB of data in 5
 *                 islands (aligned and unaligned, one ending exactly at EOF);
 *                 /dense-200m: 200 MiB, first 100 MiB incompressible random,
 *                 then 100 MiB compressible text.
 *
 * Trees are identical for a given seed (RAZORFS_TEST_SEED, default below),
 * except for ctimes, inode numbers, and the mtimes of the bigdir entries,
 * which are left at their creation time.
 *
 * Cache: $RAZORFS_TEST_TMP or os.tmpdir(), directory
 * razorfs-trees-<hash of seed and generator source>-run<tap pid>, shared by
 * the test files of one tap run (see treeCacheDir). Generation is locked so
 * that parallel test processes build each tree once; test/helpers/cleanup.ts
 * (tap's `after` hook, see .taprc) removes it at the end of the run. With
 * RAZORFS_TEST_KEEP_TREES=1 the trees are kept and reused by later runs.
 * Disk use when all three exist: ~270 MiB allocated (1.3 GiB apparent) and
 * ~103,000 inodes.
 *
 * Without root, devices, chown and restrictive directory modes are skipped;
 * what was skipped is listed in the tree's manifest (`treeManifest(name)`).
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {Rng, text} from './rng.js'
import {xattrLib} from './xattr.js'

export const DEFAULT_SEED = 'razorfs-trees-1'
export const SEED = process.env.RAZORFS_TEST_SEED || DEFAULT_SEED
const GENERATOR_VERSION = 3

export type TreeName = 'mixed' | 'bigdir' | 'big'

export interface TreeManifest {
  name: TreeName
  seed: string
  root: string
  /** Things the host did not allow and that are therefore absent from the tree. */
  skipped: string[]
  entries: number
  generatedMs: number
}

const isRoot = process.getuid?.() === 0

// ---------------------------------------------------------------------------
// cache and locking

let cacheDirMemo: string | undefined

/**
 * The cache directory holding generated trees. Per tap run: test files and
 * the `after` hook are all children of the tap runner, so the runner's pid
 * (our ppid) names the run, and concurrent runs never share or delete each
 * other's trees. With RAZORFS_TEST_KEEP_TREES=1 one directory per generator
 * version is shared across runs and never removed (faster local iteration).
 */
export function treeCacheDir(): string {
  if (!cacheDirMemo) {
    const self = fs.readFileSync(fileURLToPath(import.meta.url))
    const rng = fs.readFileSync(fileURLToPath(new URL('./rng.ts', import.meta.url)))
    const h = crypto
      .createHash('sha256')
      .update(`${GENERATOR_VERSION}\0${SEED}\0`)
      .update(self)
      .update(rng)
      .digest('hex')
      .slice(0, 16)
    const base = process.env.RAZORFS_TEST_TMP || os.tmpdir()
    const run = process.env.RAZORFS_TEST_KEEP_TREES === '1' ? 'kept' : `run${process.ppid}`
    cacheDirMemo = path.join(base, `razorfs-trees-${h}-${run}`)
  }
  fs.mkdirSync(cacheDirMemo, {recursive: true})
  return cacheDirMemo
}

/** Remove tree caches of this run and of runs whose tap process is gone (the `after` hook). */
export function cleanupTreeCaches(): string[] {
  const base = process.env.RAZORFS_TEST_TMP || os.tmpdir()
  const removed: string[] = []
  for (const n of fs.readdirSync(base)) {
    const m = /^razorfs-trees-[0-9a-f]{16}-run(\d+)$/.exec(n)
    if (!m) continue
    const pid = Number(m[1])
    if (pid === process.ppid || !alive(pid)) {
      fs.rmSync(path.join(base, n), {recursive: true, force: true})
      removed.push(n)
    }
  }
  return removed
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function cached(name: TreeName, build: (b: Builder) => Promise<void>): Promise<string> {
  const dir = treeCacheDir()
  const root = path.join(dir, name)
  const manifestPath = path.join(dir, `${name}.json`)
  const lock = path.join(dir, `${name}.lock`)
  for (;;) {
    if (fs.existsSync(manifestPath)) return root
    try {
      fs.mkdirSync(lock)
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      let pid = NaN
      try {
        pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'))
      } catch {
        // no pid file yet: the holder is still starting
      }
      if (Number.isFinite(pid) && pid > 0 && !alive(pid)) fs.rmSync(lock, {recursive: true, force: true})
      await sleep(250)
      continue
    }
    try {
      if (fs.existsSync(manifestPath)) return root
      fs.rmSync(root, {recursive: true, force: true})
      const manifest = await generate(name, build, root)
      fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2))
      return root
    } finally {
      fs.rmSync(lock, {recursive: true, force: true})
    }
  }
}

async function generate(
  name: TreeName,
  build: (b: Builder) => Promise<void>,
  root: string,
  seed = SEED,
): Promise<TreeManifest> {
  const started = Date.now()
  const stage = `${root}.tmp-${process.pid}`
  fs.rmSync(stage, {recursive: true, force: true})
  const b = new Builder(stage, path.dirname(root), new Rng(`${seed}:${name}`))
  await build(b)
  b.finish()
  fs.renameSync(stage, root)
  b.verify(root)
  return {name, seed, root, skipped: b.skipped, entries: b.count, generatedMs: Date.now() - started}
}

/**
 * Generate a tree at `root` (which must not exist), bypassing the cache: for
 * tests of the generator itself, or to get a private copy to modify.
 */
export function generateTree(name: TreeName, root: string, seed = SEED): Promise<TreeManifest> {
  return generate(name, BUILDERS[name], root, seed)
}

/** The manifest of a generated tree (call after the tree function). */
export function treeManifest(name: TreeName): TreeManifest {
  return JSON.parse(fs.readFileSync(path.join(treeCacheDir(), `${name}.json`), 'utf8')) as TreeManifest
}

// ---------------------------------------------------------------------------
// the builder: creates entries under UTF-8 staging names, sets nanosecond
// times with `touch`, then renames entries to their final (possibly
// non-UTF-8) names, deepest first, re-stamping each parent after.

/** A time in nanoseconds since the epoch (may be negative). */
export type Ns = bigint

export function nsToTouch(t: Ns): string {
  const neg = t < 0n
  const a = neg ? -t : t
  return `@${neg ? '-' : ''}${a / 1_000_000_000n}.${String(a % 1_000_000_000n).padStart(9, '0')}`
}

export interface Handle {
  /** Absolute staging path (UTF-8). */
  stage: string
  /** Final path relative to the tree root, as bytes ('' for the root). */
  final: Buffer
  depth: number
  isDir: boolean
}

interface Opts {
  mode?: number
  uid?: number
  gid?: number
  mtime?: Ns
  atime?: Ns
  xattrs?: Record<string, Buffer>
}

interface TimeRec {
  h: Handle
  mtime: Ns
  atime: Ns
}

const validUtf8 = (b: Buffer) => Buffer.from(b.toString('utf8'), 'utf8').equals(b)

export class Builder {
  readonly root: Handle
  readonly skipped: string[] = []
  count = 0
  private times = new Map<Handle, TimeRec>()
  private renames: {h: Handle; parent: Handle; stageName: string; finalName: Buffer}[] = []
  private seq = 0
  private deferredChmod: {h: Handle; mode: number}[] = []

  constructor(
    stageRoot: string,
    private cacheDir: string,
    readonly rng: Rng,
  ) {
    fs.mkdirSync(stageRoot, {recursive: true})
    this.root = {stage: stageRoot, final: Buffer.alloc(0), depth: 0, isDir: true}
  }

  skip(what: string): void {
    if (!this.skipped.includes(what)) this.skipped.push(what)
  }

  /** Decide the staging name of a new child and register a rename if needed. */
  private child(parent: Handle, name: string | Buffer, isDir: boolean): Handle {
    const nameBuf = Buffer.isBuffer(name) ? name : Buffer.from(name, 'utf8')
    if (nameBuf.length === 0 || nameBuf.length > 255 || nameBuf.includes(0) || nameBuf.includes(0x2f))
      throw new Error(`bad test name ${nameBuf.toString('hex')}`)
    const final = parent.final.length ? Buffer.concat([parent.final, Buffer.from('/'), nameBuf]) : nameBuf
    let stageName: string
    const h: Handle = {stage: '', final, depth: parent.depth + 1, isDir}
    if (validUtf8(nameBuf)) {
      stageName = nameBuf.toString('utf8')
    } else {
      stageName = `.staging-${++this.seq}`
      this.renames.push({h, parent, stageName, finalName: nameBuf})
    }
    h.stage = path.join(parent.stage, stageName)
    this.count++
    return h
  }

  private attrs(h: Handle, o: Opts, symlink = false): void {
    if (o.uid !== undefined || o.gid !== undefined) {
      if (isRoot) (symlink ? fs.lchownSync : fs.chownSync)(h.stage, o.uid ?? 0, o.gid ?? 0)
      else this.skip('chown (not root)')
    }
    if (o.xattrs) {
      const x = xattrLib()
      if (!x) this.skip('xattrs (fs-xattr not installed)')
      else for (const [k, v] of Object.entries(o.xattrs)) x.setAttributeSync(h.stage, k, v)
    }
    if (o.mode !== undefined && !symlink) {
      // Directories that we still write into keep a usable mode until finish().
      if (h.isDir) this.deferredChmod.push({h, mode: o.mode})
      else fs.chmodSync(h.stage, o.mode)
    }
    if (o.mtime !== undefined) this.times.set(h, {h, mtime: o.mtime, atime: o.atime ?? o.mtime})
  }

  mkdir(parent: Handle, name: string | Buffer, o: Opts = {}): Handle {
    const h = this.child(parent, name, true)
    fs.mkdirSync(h.stage)
    this.attrs(h, o)
    return h
  }

  file(parent: Handle, name: string | Buffer, data: Buffer | ((fd: number) => void), o: Opts = {}): Handle {
    const h = this.child(parent, name, false)
    if (Buffer.isBuffer(data)) fs.writeFileSync(h.stage, data)
    else {
      const fd = fs.openSync(h.stage, 'w')
      try {
        data(fd)
      } finally {
        fs.closeSync(fd)
      }
    }
    this.attrs(h, o)
    return h
  }

  symlink(parent: Handle, name: string | Buffer, target: string | Buffer, o: Opts = {}): Handle {
    const h = this.child(parent, name, false)
    fs.symlinkSync(target as string, h.stage)
    this.attrs(h, o, true)
    return h
  }

  fifo(parent: Handle, name: string | Buffer, o: Opts = {}): Handle {
    const h = this.child(parent, name, false)
    run('mkfifo', [h.stage])
    this.attrs(h, o)
    return h
  }

  device(
    parent: Handle,
    name: string | Buffer,
    kind: 'c' | 'b',
    major: number,
    minor: number,
    o: Opts = {},
  ): Handle | undefined {
    if (!isRoot) {
      this.skip('device nodes (not root)')
      return undefined
    }
    const h = this.child(parent, name, false)
    run('mknod', [h.stage, kind, String(major), String(minor)])
    this.attrs(h, o)
    return h
  }

  async socket(parent: Handle, name: string | Buffer, o: Opts = {}): Promise<Handle> {
    const h = this.child(parent, name, false)
    // sun_path is ~108 bytes: listen on a short path, then move the inode.
    const tmp = path.join(this.cacheDir, `s${process.pid}-${this.seq++}`)
    const server = net.createServer()
    await new Promise<void>((res, rej) => {
      server.once('error', rej)
      server.listen(tmp, () => res())
    })
    fs.renameSync(tmp, h.stage)
    await new Promise<void>((res) => server.close(() => res()))
    this.attrs(h, o)
    return h
  }

  link(existing: Handle, parent: Handle, name: string | Buffer): Handle {
    const h = this.child(parent, name, false)
    fs.linkSync(existing.stage, h.stage)
    return h
  }

  /** Times of the tree root itself (stamped last). */
  rootTimes(t: {mtime: Ns; atime: Ns}): void {
    this.times.set(this.root, {h: this.root, ...t})
  }

  /** Set times on everything, rename to final names, re-stamp parents. */
  finish(): void {
    for (const {h, mode} of this.deferredChmod) fs.chmodSync(h.stage, mode)
    const stamp = (recs: TimeRec[]) => {
      const byM = new Map<string, string[]>()
      const byA = new Map<string, string[]>()
      for (const r of recs) {
        const m = nsToTouch(r.mtime)
        const a = nsToTouch(r.atime)
        byM.set(m, [...(byM.get(m) ?? []), r.h.stage])
        byA.set(a, [...(byA.get(a) ?? []), r.h.stage])
      }
      for (const [t, paths] of byA) touch(['-a', '-d', t], paths)
      for (const [t, paths] of byM) touch(['-m', '-d', t], paths)
    }
    stamp([...this.times.values()])
    const maxDepth = Math.max(0, ...this.renames.map((r) => r.h.depth))
    for (let d = maxDepth; d >= 1; d--) {
      const parents = new Set<Handle>()
      for (const r of this.renames.filter((r) => r.h.depth === d)) {
        const to = Buffer.concat([Buffer.from(r.parent.stage + '/'), r.finalName])
        fs.renameSync(r.h.stage, to)
        parents.add(r.parent)
      }
      stamp([...parents].map((p) => this.times.get(p)).filter((x): x is TimeRec => x !== undefined))
    }
  }

  /** Check every timestamp we set made it to the host (after the final move). */
  verify(finalRoot: string): void {
    const bad: string[] = []
    for (const r of this.times.values()) {
      const p = r.h.final.length ? Buffer.concat([Buffer.from(finalRoot + '/'), r.h.final]) : Buffer.from(finalRoot)
      const st = fs.lstatSync(p, {bigint: true})
      if (st.mtimeNs !== r.mtime) bad.push(`${p.toString('latin1')}: mtime ${st.mtimeNs} != ${r.mtime}`)
    }
    if (bad.length) throw new Error(`tree generator: timestamps not as set:\n${bad.slice(0, 20).join('\n')}`)
  }
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, {encoding: 'utf8'})
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`)
}

/** `touch -c -h OPTS -- paths…`, in argv-sized chunks. GNU touch keeps nanoseconds. */
function touch(opts: string[], paths: string[]): void {
  for (let i = 0; i < paths.length;) {
    const chunk: string[] = []
    let bytes = 0
    while (i < paths.length && chunk.length < 2000 && bytes < 100_000) {
      bytes += paths[i].length + 1
      chunk.push(paths[i++])
    }
    run('touch', ['-c', '-h', ...opts, '--', ...chunk])
  }
}

// ---------------------------------------------------------------------------
// content helpers

const KiB = 1024
const MiB = 1024 * KiB

/** Write `data` at `offset` into an open fd. */
function pwrite(fd: number, data: Buffer, offset: number): void {
  let done = 0
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done)
}

/** Base time of the generated trees: 2021-03-04T05:06:07Z. */
const BASE = 1614834367n * 1_000_000_000n

function timePool(rng: Rng, n: number): {mtime: Ns; atime: Ns}[] {
  const out: {mtime: Ns; atime: Ns}[] = []
  for (let i = 0; i < n; i++) {
    const mtime = BASE + BigInt(rng.int(0, 100_000_000)) * 1_000_000_000n + BigInt(rng.int(0, 999_999_999))
    out.push({mtime, atime: mtime + BigInt(rng.int(1, 1_000_000)) * 1_000_000_000n + BigInt(rng.int(0, 999_999_999))})
  }
  return out
}

// ---------------------------------------------------------------------------
// the mixed tree

export const MIXED_FILE_COUNT = 3000

export function mixedTree(): Promise<string> {
  return cached('mixed', buildMixed)
}

async function buildMixed(b: Builder): Promise<void> {
  const rng = b.rng
  const pool = timePool(rng.fork('times'), 48)
  const t = () => pool[rng.int(0, pool.length - 1)]
  const R = b.root

  b.file(R, 'README', Buffer.from('razorfs test tree "mixed" (generated by test/helpers/tree.ts)\n'), {
    ...t(),
    mode: 0o644,
  })

  // --- bulk small files
  const files = b.mkdir(R, 'files', {...t(), mode: 0o755})
  const dirs = Array.from({length: 30}, (_, i) =>
    b.mkdir(files, `d${String(i).padStart(2, '0')}`, {...t(), mode: 0o755}),
  )
  const boundary = [1, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192, 8193, 12288, 16384, 20480]
  const frng = rng.fork('files')
  const bulk: Handle[] = []
  for (let i = 0; i < MIXED_FILE_COUNT; i++) {
    const r = frng.float()
    const size = r < 0.05 ? 0 : r < 0.15 ? frng.int(1, 64) : r < 0.25 ? frng.pick(boundary) : frng.int(65, 20 * KiB)
    const kind = frng.float()
    let data: Buffer
    let ext: string
    if (kind < 0.5) {
      data = text(frng, size)
      ext = 'txt'
    } else if (kind < 0.8) {
      data = frng.bytes(size)
      ext = 'bin'
    } else {
      const half = size >> 1
      data = Buffer.concat([text(frng, half), frng.bytes(size - half)])
      ext = 'mix'
    }
    // ~4% carry an aligned all-zero 4 KiB block inside (the image must make it a hole)
    if (size >= 12288 && frng.chance(0.15)) {
      data.fill(0, 4096, 8192)
      ext = 'zblk'
    }
    const mode = frng.pick([0o644, 0o644, 0o644, 0o600, 0o755, 0o640, 0o444])
    bulk.push(b.file(frng.pick(dirs), `f${String(i).padStart(4, '0')}.${ext}`, data, {...t(), mode}))
  }

  // --- deep directories: depth 48 (>= 40), plus a ~3,000-byte path
  let deep = b.mkdir(R, 'deep', t())
  for (let i = 1; i <= 48; i++) deep = b.mkdir(deep, `l${String(i).padStart(2, '0')}`, t())
  b.file(deep, 'leaf.txt', Buffer.from('bottom of a 49-level chain\n'), t())
  b.symlink(deep, 'up-to-root', Array(49).fill('..').join('/'), t())
  let long = b.mkdir(R, 'longpath', t())
  for (let i = 0; i < 14; i++) long = b.mkdir(long, `${String(i).padStart(2, '0')}-${'p'.repeat(197)}`, t())
  b.file(long, 'x'.repeat(200), Buffer.from('end of a long path\n'), t())

  // --- every file type
  const types = b.mkdir(R, 'types', t())
  b.file(types, 'regular', Buffer.from('plain file\n'), t())
  b.mkdir(types, 'dir', t())
  b.symlink(types, 'symlink-rel', '../files/d00', t())
  b.symlink(types, 'symlink-abs', '/etc/hostname', t())
  b.symlink(types, 'symlink-dangling', 'does/not/exist', t())
  b.symlink(types, 'symlink-dir', '../deep', t())
  b.symlink(types, 'symlink-self', 'symlink-self', t())
  b.symlink(types, 'symlink-1byte', 'x', t())
  b.symlink(types, 'symlink-4095', 'a/'.repeat(2047) + 'b', t())
  b.symlink(types, 'symlink-utf8', '日本語/ファイル', t())
  b.symlink(types, 'symlink-nonutf8-target', Buffer.from([0x74, 0xff, 0xfe, 0x2f, 0x80]), t())
  b.fifo(types, 'fifo', {...t(), mode: 0o640})
  await b.socket(types, 'socket', t())
  b.device(types, 'chardev-null', 'c', 1, 3, {...t(), mode: 0o666})
  b.device(types, 'chardev-max', 'c', 4095, 1048575, {...t(), mode: 0o600})
  b.device(types, 'blockdev', 'b', 8, 1, {...t(), mode: 0o660, gid: 6})
  b.device(types, 'blockdev-big', 'b', 259, 123456, {...t(), mode: 0o600})

  // --- names
  const names = b.mkdir(R, 'names', t())
  const utf8Names = [
    'café',
    '日本語のファイル名',
    'emoji-🎉🦀',
    'Ελληνικά',
    'עברית',
    'e\u0301-combining',
    'space name',
    ' leading-space',
    'trailing-space ',
    'new\nline',
    'tab\there',
    '-dash-first',
    '--double-dash',
    'back\\slash',
    'colon:name',
    ':',
    'star*?[]',
    `quote'"`,
    '.hidden',
    '..dots',
    '...',
    '%percent',
    '\u0001ctrl',
    'del\u007f',
    'a'.repeat(255),
    'é'.repeat(127) + 'x',
    '語'.repeat(85),
    '🦀'.repeat(63) + 'abc',
  ]
  for (const n of utf8Names) b.file(names, n, Buffer.from(`name ${n}\n`), t())
  const bad = [
    Buffer.from([0x80]),
    Buffer.from('latin1-caf\xe9', 'latin1'),
    Buffer.from([0xff, 0xfe, 0xfd]),
    Buffer.from([0x6f, 0x76, 0x65, 0x72, 0x6c, 0x6f, 0x6e, 0x67, 0xc0, 0xaf]),
    Buffer.from([0x61, 0x62, 0x63, 0xe6, 0x97]),
    Buffer.from([0x73, 0x75, 0x72, 0xed, 0xa0, 0x80]),
    Buffer.alloc(255, 0xff),
  ]
  for (const n of bad) b.file(names, n, Buffer.concat([Buffer.from('non-UTF-8 name '), n, Buffer.from('\n')]), t())
  const badDir = b.mkdir(names, Buffer.from('dir-\xe9\xff', 'latin1'), t())
  b.file(badDir, 'inside-utf8', Buffer.from('in a non-UTF-8 directory\n'), t())
  b.file(badDir, Buffer.from([0xc3, 0x28]), Buffer.from('non-UTF-8 in non-UTF-8\n'), t())
  b.symlink(badDir, Buffer.from([0x6c, 0x6e, 0x6b, 0xfe]), Buffer.from([0xc3, 0x28]), t())
  b.fifo(badDir, Buffer.from([0x66, 0x69, 0x66, 0x6f, 0xa0]), t())

  // --- hardlinks
  const links = b.mkdir(R, 'links', t())
  const sub = b.mkdir(links, 'sub', t())
  const a = b.file(links, 'three-a', text(rng, 5000), t())
  b.link(a, links, 'three-b')
  b.link(a, sub, 'three-c')
  const e = b.file(links, 'empty-a', Buffer.alloc(0), t())
  b.link(e, sub, 'empty-b')
  const rnd = b.file(links, 'random-a', rng.bytes(20 * KiB), t())
  b.link(rnd, links, 'random-b')
  const xl = b.file(links, 'xattr-a', text(rng, 300), {
    ...t(),
    xattrs: {'user.linked': Buffer.from('shared by both names')},
  })
  b.link(xl, sub, 'xattr-b')
  const sl = b.symlink(links, 'symlink-a', 'three-a', t())
  b.link(sl, links, 'symlink-b')
  const ff = b.fifo(links, 'fifo-a', t())
  b.link(ff, sub, 'fifo-b')
  b.link(bulk[7], links, 'bulk-7-link')
  b.link(bulk[8], names, 'bulk-8-link')
  b.link(bulk[9], badDir, Buffer.from([0x6c, 0xff]))

  // --- xattrs (ext4 holds ~4 KiB of xattrs per inode: keep each inode below that)
  const xa = b.mkdir(R, 'xattrs', {...t(), xattrs: {'user.on-a-dir': Buffer.from('directory xattr')}})
  for (let i = 0; i < 12; i++) {
    const x: Record<string, Buffer> = {}
    const n = rng.int(1, 6)
    for (let j = 0; j < n; j++)
      x[`user.attr${j}`] = rng.chance(0.5) ? text(rng, rng.int(1, 300)) : rng.bytes(rng.int(1, 300))
    b.file(xa, `several-${i}`, text(rng, rng.int(0, 3000)), {...t(), xattrs: x})
  }
  b.file(xa, 'big-value', Buffer.from('x'), {
    ...t(),
    xattrs: {'user.big': rng.bytes(3000), 'user.small': Buffer.from('s')},
  })
  b.file(xa, 'empty-value', Buffer.from('x'), {...t(), xattrs: {'user.empty': Buffer.alloc(0)}})
  b.file(xa, 'nul-bytes', Buffer.from('x'), {...t(), xattrs: {'user.nul': Buffer.from([0, 1, 0, 2, 0])}})
  b.file(xa, 'long-name', Buffer.from('x'), {...t(), xattrs: {[`user.${'n'.repeat(200)}`]: Buffer.from('long name')}})
  b.file(xa, 'utf8-name', Buffer.from('x'), {...t(), xattrs: {'user.名前': Buffer.from('値')}})
  b.file(xa, 'empty-file', Buffer.alloc(0), {...t(), xattrs: {'user.a': Buffer.from('on an empty file')}})
  b.file(xa, Buffer.from([0x78, 0xff]), Buffer.from('x'), {
    ...t(),
    xattrs: {'user.on-non-utf8-name': Buffer.from('yes')},
  })

  // --- modes
  const modes = b.mkdir(R, 'modes', t())
  for (const m of [0o600, 0o777, 0o000, 0o4755, 0o2755, 0o6755, 0o1755, 0o7777, 0o444, 0o111]) {
    b.file(modes, `f-${m.toString(8).padStart(4, '0')}`, Buffer.from(`mode ${m.toString(8)}\n`), {...t(), mode: m})
  }
  for (const m of [0o1777, 0o700, 0o2775, ...(isRoot ? [0o555, 0o000] : [])]) {
    const d = b.mkdir(modes, `d-${m.toString(8).padStart(4, '0')}`, {...t(), mode: m})
    b.file(d, 'inside', Buffer.from('x'), t())
  }

  // --- owners
  const owners = b.mkdir(R, 'owners', t())
  b.file(owners, 'u1000', Buffer.from('x'), {...t(), uid: 1000, gid: 1000})
  b.file(owners, 'nobody', Buffer.from('x'), {...t(), uid: 65534, gid: 65534})
  b.file(owners, 'u0-g1000', Buffer.from('x'), {...t(), uid: 0, gid: 1000})
  b.file(owners, 'u4000000000', Buffer.from('x'), {...t(), uid: 4000000000, gid: 4000000001})
  b.file(owners, 'setuid-1000', Buffer.from('x'), {...t(), uid: 1000, gid: 1000, mode: 0o4750})
  b.symlink(owners, 'symlink-1000', 'u1000', {...t(), uid: 1000, gid: 1000})
  const od = b.mkdir(owners, 'dir-1000', {...t(), uid: 1000, gid: 100})
  b.file(od, 'inside', Buffer.from('x'), {...t(), uid: 1000, gid: 100})

  // --- times
  const times = b.mkdir(R, 'times', t())
  const special: [string, Ns][] = [
    ['epoch', 0n],
    ['pre-1970', -1_000_000_000_123_456_789n],
    ['y2038', 2_147_483_648_500_000_000n],
    ['y2100', 4_102_444_800_999_999_999n],
    ['ns-1', 1_600_000_000_000_000_001n],
    ['ns-999999999', 1_600_000_000_999_999_999n],
    ['us-only', 1_600_000_000_123_456_000n],
  ]
  for (const [n, mt] of special) b.file(times, n, Buffer.from(`${n}\n`), {mtime: mt, atime: mt + 1n})
  b.symlink(times, 'symlink-ns', 'epoch', {mtime: 1_234_567_890_987_654_321n, atime: 1_234_567_890_000_000_001n})
  b.mkdir(times, 'dir-ns', {mtime: 1_111_111_111_111_111_111n, atime: 1_111_111_111_111_111_112n})

  // --- sparse files and zeros
  const sp = b.mkdir(R, 'sparse', t())
  const srng = rng.fork('sparse')
  b.file(
    sp,
    'hole-start',
    (fd) => {
      fs.ftruncateSync(fd, 1 * MiB)
      pwrite(fd, srng.bytes(64 * KiB), 1 * MiB - 64 * KiB)
    },
    t(),
  )
  b.file(
    sp,
    'hole-middle',
    (fd) => {
      pwrite(fd, srng.bytes(64 * KiB), 0)
      pwrite(fd, text(srng, 64 * KiB), 64 * KiB + 1 * MiB)
    },
    t(),
  )
  b.file(
    sp,
    'hole-end',
    (fd) => {
      pwrite(fd, text(srng, 64 * KiB), 0)
      fs.ftruncateSync(fd, 1 * MiB)
    },
    t(),
  )
  b.file(
    sp,
    'hole-end-unaligned',
    (fd) => {
      pwrite(fd, srng.bytes(5000), 0)
      fs.ftruncateSync(fd, 3 * MiB + 17)
    },
    t(),
  )
  b.file(sp, 'all-hole', (fd) => fs.ftruncateSync(fd, 10 * MiB), t())
  b.file(
    sp,
    'islands',
    (fd) => {
      fs.ftruncateSync(fd, 8 * MiB)
      for (let i = 0; i < 12; i++) pwrite(fd, srng.bytes(srng.int(1, 9000)), srng.int(0, 8 * MiB - 9000))
    },
    t(),
  )
  b.file(sp, 'tail-island', (fd) => pwrite(fd, Buffer.from('the end'), 5 * MiB - 7), t())
  b.file(sp, 'zeros-1m', Buffer.alloc(1 * MiB), t())
  b.file(sp, 'zeros-100', Buffer.alloc(100), t())
  b.file(sp, 'zeros-4097', Buffer.alloc(4097), t())
  b.file(sp, 'data-then-zero-blocks', Buffer.concat([text(srng, 16 * KiB), Buffer.alloc(8 * KiB)]), t())
  b.file(
    sp,
    'zero-cluster-inside',
    Buffer.concat([srng.bytes(200 * KiB), Buffer.alloc(256 * KiB), srng.bytes(100 * KiB)]),
    t(),
  )
  b.file(
    sp,
    'zero-blocks-in-cluster',
    (fd) => {
      // 128 KiB of text with every other 4 KiB block zeroed: the holes fall inside one cluster
      const buf = text(srng, 128 * KiB)
      for (let o = 4096; o < buf.length; o += 8192) buf.fill(0, o, o + 4096)
      pwrite(fd, buf, 0)
    },
    t(),
  )

  // root last: its time is stamped after everything else
  b.rootTimes(pool[0])
}

// ---------------------------------------------------------------------------
// bigdir: one directory with 100,000 entries

export const BIGDIR_ENTRIES = 100_000

export function bigdirTree(): Promise<string> {
  return cached('bigdir', buildBigdir)
}

async function buildBigdir(b: Builder): Promise<void> {
  {
    const rng = b.rng
    const big = b.mkdir(b.root, 'big', {mtime: BASE + 1n, atime: BASE + 2n})
    const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.'
    const suffix = rng.bytes(BIGDIR_ENTRIES * 2)
    for (let i = 0; i < BIGDIR_ENTRIES; i++) {
      // lengths 8-255 bytes, mostly short
      const r = suffix[i * 2]
      const len = r < 200 ? r % 24 : r < 250 ? 24 + (r % 100) : 248
      let n = `e${String(i).padStart(6, '0')}`
      for (let k = 0; k < len; k++) n += alnum[suffix[(i * 2 + 1 + k * 7) % suffix.length] % alnum.length]
      const p = path.join(big.stage, n)
      if (i % 1000 === 0) fs.writeFileSync(p, `entry ${i}\n`.padEnd(10, '.'))
      else fs.closeSync(fs.openSync(p, 'w'))
    }
    b.count += BIGDIR_ENTRIES
    b.rootTimes({mtime: BASE + 3n, atime: BASE + 4n})
  }
}

// ---------------------------------------------------------------------------
// big: 1 GiB sparse + 200 MiB dense

export const GiB = 1024 * MiB

export function bigTree(): Promise<string> {
  return cached('big', buildBig)
}

async function buildBig(b: Builder): Promise<void> {
  {
    const rng = b.rng
    b.file(
      b.root,
      'sparse-1g',
      (fd) => {
        fs.ftruncateSync(fd, GiB)
        pwrite(fd, rng.bytes(64 * KiB), 0)
        pwrite(fd, text(rng, 100 * KiB), 300 * MiB + 12345)
        pwrite(fd, rng.bytes(1 * MiB), 700 * MiB)
        pwrite(fd, text(rng, 2 * MiB), 900 * MiB + 4096)
        pwrite(fd, rng.bytes(4 * KiB), GiB - 4 * KiB)
      },
      {mtime: BASE + 10n, atime: BASE + 11n},
    )
    b.file(
      b.root,
      'dense-200m',
      (fd) => {
        const chunk = 4 * MiB
        for (let off = 0; off < 100 * MiB; off += chunk) pwrite(fd, rng.bytes(chunk), off)
        const base = text(rng, 1 * MiB)
        for (let off = 100 * MiB; off < 200 * MiB; off += 1 * MiB) {
          const c = Buffer.from(base)
          // vary each MiB a little so no two clusters are identical
          for (let k = 0; k < c.length; k += 8192) c.write(`[${off + k}]`, k, 'latin1')
          pwrite(fd, c, off)
        }
      },
      {mtime: BASE + 20n, atime: BASE + 21n},
    )
    b.rootTimes({mtime: BASE + 30n, atime: BASE + 31n})
  }
}

const BUILDERS: Record<TreeName, (b: Builder) => Promise<void>> = {
  mixed: buildMixed,
  bigdir: buildBigdir,
  big: buildBig,
}
