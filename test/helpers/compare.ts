/**
 * Canonical descriptions of a file tree — from the host (lstat/readdir/read/
 * xattrs) or from a RAZORFS image (through the core library) — and a
 * comparison that lists human-readable differences (empty when equal).
 *
 * Compared per path: type, full st_mode, uid, gid, nlink, size (not for
 * directories: the host's is a block count, the image's an entry count),
 * SHA-256 of the content (with the first differing MiB named), symlink
 * target bytes, rdev, mtime to the nanosecond, every xattr (name and value),
 * hardlink structure (the set of paths sharing an inode), and the hole
 * layout: FORMAT.md §10 says writers turn all-zero blocks into holes, so
 * every image block (of the image's block size) that is all zero on the
 * host must have no extent, and every block holding data must be covered.
 * atime and ctime are not compared (reading changes atime; ctime cannot be
 * set). Image self-consistency found while walking (readdir type vs stat
 * type, directory size vs entry count, parent pointers, extent rules of
 * FORMAT.md §10, short reads) is reported as differences too.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import {readHostXattrs} from './xattr.js'
import type {Image as ImageT, FileType, Stat, ExtentInfo} from '../../src/core/index.js'

/** A byte range [start, end). */
export type Run = [number, number]

export interface Entry {
  /** Display path: '/'-rooted, non-UTF-8 bytes and control characters escaped as \xNN, backslash as \\. */
  path: string
  /** Path bytes relative to the tree root ('' for the root). */
  raw: Buffer
  type: FileType
  mode: number
  uid: number
  gid: number
  nlink: number
  size: number
  rdev: number
  /** mtime in nanoseconds since the epoch. */
  mtimeNs: bigint
  /** Regular files: SHA-256 of the content, and of each MiB. */
  sha256?: string
  chunks?: string[]
  /** Symlinks: target bytes. */
  target?: Buffer
  /** undefined when not readable (host without fs-xattr). */
  xattrs?: Map<string, Buffer>
  /** Regular files. Host: ranges holding non-zero bytes (1 KiB granularity). Image: ranges covered by extents. */
  data?: Run[]
  /** Image only: the extents as the library reports them. */
  extents?: ExtentInfo[]
  /** Inode identity: host `dev:ino`, image `ino`. */
  inode: string
  /** Directories: number of entries. */
  entries?: number
  /** Host only: st_blocks × 512. */
  allocated?: number
}

export interface Description {
  source: 'host' | 'image'
  root: string
  entries: Map<string, Entry>
  /** Inconsistencies found while walking (image only). */
  problems: string[]
  /** Image block size (image descriptions). */
  blockSize?: number
  clusterSize?: number
}

const MiB = 1024 * 1024
/** Granularity of the host zero map: the smallest RAZORFS block size. */
export const HOST_GRAIN = 1024

// ---------------------------------------------------------------------------
// names

function utf8SeqLen(b: Buffer, i: number): number {
  const c = b[i]
  let n: number
  let min: number
  if (c < 0x80) return 1
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2
    min = 0x80
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3
    min = 0x800
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4
    min = 0x10000
  } else return 0
  if (i + n > b.length) return 0
  let cp = c & (0xff >> (n + 1))
  for (let k = 1; k < n; k++) {
    if ((b[i + k] & 0xc0) !== 0x80) return 0
    cp = (cp << 6) | (b[i + k] & 0x3f)
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0
  return n
}

/** Printable, unambiguous rendering of path bytes. */
export function showBytes(b: Buffer): string {
  let s = ''
  for (let i = 0; i < b.length;) {
    const c = b[i]
    if (c === 0x5c) {
      s += '\\\\'
      i++
    } else if (c < 0x20 || c === 0x7f) {
      s += `\\x${c.toString(16).padStart(2, '0')}`
      i++
    } else {
      const n = utf8SeqLen(b, i)
      if (n === 0) {
        s += `\\x${c.toString(16).padStart(2, '0')}`
        i++
      } else {
        s += b.toString('utf8', i, i + n)
        i += n
      }
    }
  }
  return s
}

const join = (dir: Buffer, name: Buffer) =>
  dir.length ? Buffer.concat([dir, Buffer.from('/'), name]) : Buffer.from(name)
const display = (raw: Buffer) => '/' + showBytes(raw)

// ---------------------------------------------------------------------------
// runs

function addRun(runs: Run[], s: number, e: number): void {
  const last = runs[runs.length - 1]
  if (last && last[1] >= s) last[1] = Math.max(last[1], e)
  else runs.push([s, e])
}

/** Whether any run intersects [lo, hi). Runs sorted and disjoint. */
export function intersects(runs: Run[], lo: number, hi: number): boolean {
  let a = 0
  let b = runs.length
  while (a < b) {
    const m = (a + b) >> 1
    if (runs[m][1] <= lo) a = m + 1
    else b = m
  }
  return a < runs.length && runs[a][0] < hi
}

const fmtRuns = (runs: Run[], max = 6) =>
  runs
    .slice(0, max)
    .map(([s, e]) => `${s}-${e}`)
    .join(' ') + (runs.length > max ? ` … (${runs.length} runs)` : '')

// ---------------------------------------------------------------------------
// content hashing

class ContentHasher {
  private all = crypto.createHash('sha256')
  private chunk = crypto.createHash('sha256')
  private inChunk = 0
  readonly chunks: string[] = []
  readonly data: Run[] = []
  private pos = 0
  private static zero = Buffer.alloc(MiB)

  update(buf: Buffer, trackZeros: boolean): void {
    this.all.update(buf)
    let off = 0
    while (off < buf.length) {
      const take = Math.min(buf.length - off, MiB - this.inChunk)
      this.chunk.update(buf.subarray(off, off + take))
      this.inChunk += take
      off += take
      if (this.inChunk === MiB) this.flushChunk()
    }
    if (trackZeros) {
      // the buffer starts on a HOST_GRAIN boundary (callers read in MiB chunks)
      if (!(buf.length <= MiB && buf.equals(ContentHasher.zero.subarray(0, buf.length)))) {
        for (let g = 0; g < buf.length; g += HOST_GRAIN) {
          const end = Math.min(g + HOST_GRAIN, buf.length)
          const part = buf.subarray(g, end)
          if (!part.equals(ContentHasher.zero.subarray(0, part.length))) addRun(this.data, this.pos + g, this.pos + end)
        }
      }
    }
    this.pos += buf.length
  }

  private flushChunk(): void {
    this.chunks.push(this.chunk.digest('hex'))
    this.chunk = crypto.createHash('sha256')
    this.inChunk = 0
  }

  digest(): string {
    if (this.inChunk) this.flushChunk()
    return this.all.digest('hex')
  }
}

// ---------------------------------------------------------------------------
// host

const typeOfMode = (mode: number): FileType => {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file'
    case 0o040000:
      return 'dir'
    case 0o120000:
      return 'symlink'
    case 0o020000:
      return 'chardev'
    case 0o060000:
      return 'blockdev'
    case 0o010000:
      return 'fifo'
    case 0o140000:
      return 'socket'
    default:
      throw new Error(`unknown file type in mode ${mode.toString(8)}`)
  }
}

export interface HostOptions {
  /** Skip reading content (faster; sha256/data left undefined). */
  noContent?: boolean
}

/** Describe a host directory tree. */
export function describeHost(root: string, opts: HostOptions = {}): Description {
  const entries = new Map<string, Entry>()
  const rootBuf = Buffer.from(root)
  const abs = (raw: Buffer) => (raw.length ? Buffer.concat([rootBuf, Buffer.from('/'), raw]) : rootBuf)
  const buf = Buffer.allocUnsafe(MiB)
  const stack: Buffer[] = [Buffer.alloc(0)]
  while (stack.length) {
    const raw = stack.pop()!
    const p = abs(raw)
    const st = fs.lstatSync(p, {bigint: true})
    const mode = Number(st.mode)
    const type = typeOfMode(mode)
    const e: Entry = {
      path: display(raw),
      raw,
      type,
      mode,
      uid: Number(st.uid),
      gid: Number(st.gid),
      nlink: Number(st.nlink),
      size: type === 'dir' ? 0 : Number(st.size),
      rdev: type === 'chardev' || type === 'blockdev' ? Number(st.rdev) : 0,
      mtimeNs: st.mtimeNs,
      inode: `${st.dev}:${st.ino}`,
      allocated: Number(st.blocks) * 512,
      xattrs: type === 'file' || type === 'dir' ? readHostXattrs(p) : new Map(),
    }
    if (type === 'dir') {
      const names = fs.readdirSync(p, {encoding: 'buffer'})
      e.entries = names.length
      for (const n of names) stack.push(join(raw, n))
    } else if (type === 'symlink') {
      e.target = fs.readlinkSync(p, {encoding: 'buffer'})
    } else if (type === 'file' && !opts.noContent) {
      const h = new ContentHasher()
      const fd = fs.openSync(p, 'r')
      try {
        for (let off = 0; off < e.size;) {
          const n = fs.readSync(fd, buf, 0, Math.min(MiB, e.size - off), off)
          if (n <= 0) throw new Error(`${p.toString()}: short read at ${off}`)
          h.update(buf.subarray(0, n), true)
          off += n
        }
      } finally {
        fs.closeSync(fd)
      }
      e.sha256 = h.digest()
      e.chunks = h.chunks
      e.data = h.data
    }
    entries.set(e.path, e)
  }
  return {source: 'host', root, entries, problems: []}
}

// ---------------------------------------------------------------------------
// image

export interface ImageOptions {
  noContent?: boolean
}

const isDot = (n: Buffer) => (n.length === 1 && n[0] === 0x2e) || (n.length === 2 && n[0] === 0x2e && n[1] === 0x2e)

/** Describe the tree inside an open image, walking from the root through the library. */
export function describeImage(img: ImageT, opts: ImageOptions = {}): Description {
  const entries = new Map<string, Entry>()
  const problems: string[] = []
  const info = img.info()
  const bs = info.blockSize
  const cs = info.clusterSize
  const rootIno = img.resolve('/')
  const stack: {raw: Buffer; ino: number; parent: number; dtype?: FileType}[] = [
    {raw: Buffer.alloc(0), ino: rootIno, parent: rootIno},
  ]
  while (stack.length) {
    const {raw, ino, parent, dtype} = stack.pop()!
    const where = display(raw)
    let st: Stat
    try {
      st = img.stat(ino)
    } catch (err) {
      problems.push(`${where}: stat(${ino}) failed: ${(err as Error).message}`)
      continue
    }
    if (dtype !== undefined && dtype !== st.type)
      problems.push(`${where}: directory entry says ${dtype}, inode says ${st.type}`)
    if (st.ino !== ino) problems.push(`${where}: stat(${ino}).ino is ${st.ino}`)
    if ((st.mode & 0o170000) !== modeBitsOf(st.type))
      problems.push(`${where}: mode ${st.mode.toString(8)} does not match type ${st.type}`)
    const e: Entry = {
      path: where,
      raw,
      type: st.type,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      nlink: st.nlink,
      size: st.type === 'dir' ? 0 : st.size,
      rdev: st.type === 'chardev' || st.type === 'blockdev' ? st.rdev : 0,
      mtimeNs: BigInt(st.mtime.sec) * 1_000_000_000n + BigInt(st.mtime.nsec),
      inode: String(ino),
    }
    if (st.mtime.nsec < 0 || st.mtime.nsec >= 1e9) problems.push(`${where}: mtime nsec ${st.mtime.nsec} out of range`)
    try {
      const x = new Map<string, Buffer>()
      for (const n of [...img.listXattrs(ino)].sort()) x.set(n, img.getXattr(ino, n))
      e.xattrs = x
    } catch (err) {
      problems.push(`${where}: xattrs: ${(err as Error).message}`)
    }
    if (st.type === 'dir') {
      if (st.parent !== parent) problems.push(`${where}: parent is ${st.parent}, expected ${parent}`)
      let list: ReturnType<ImageT['readdir']> = []
      try {
        list = img.readdir(ino)
      } catch (err) {
        problems.push(`${where}: readdir failed: ${(err as Error).message}`)
      }
      const real = list.filter((d) => !isDot(d.name))
      e.entries = real.length
      if (st.size !== real.length && st.size !== list.length)
        problems.push(`${where}: directory size ${st.size} but ${real.length} entries`)
      const seen = new Set<string>()
      for (const d of real) {
        const k = d.name.toString('hex')
        if (seen.has(k)) problems.push(`${where}: name ${showBytes(d.name)} listed twice`)
        seen.add(k)
        stack.push({raw: join(raw, d.name), ino: d.ino, parent: ino, dtype: d.type})
      }
    } else if (st.type === 'symlink') {
      try {
        e.target = img.readlink(ino)
        if (e.target.length !== st.size)
          problems.push(`${where}: symlink size ${st.size} but target is ${e.target.length} bytes`)
      } catch (err) {
        problems.push(`${where}: readlink failed: ${(err as Error).message}`)
      }
    } else if (st.type === 'file') {
      try {
        e.extents = img.extents(ino)
        e.data = []
        checkExtents(where, e.extents, st.size, bs, cs, problems)
        for (const x of [...e.extents].sort((a, b) => a.offset - b.offset))
          addRun(e.data, x.offset, Math.min(x.offset + x.length, st.size))
      } catch (err) {
        problems.push(`${where}: extents failed: ${(err as Error).message}`)
      }
      if (!opts.noContent) {
        try {
          const h = new ContentHasher()
          for (let off = 0; off < st.size;) {
            const want = Math.min(MiB, st.size - off)
            const b = img.read(ino, off, want)
            if (b.length !== want) {
              problems.push(`${where}: read(${off}, ${want}) returned ${b.length} bytes`)
              break
            }
            h.update(b, false)
            off += want
          }
          const tail = img.read(ino, st.size, 4096)
          if (tail.length !== 0) problems.push(`${where}: read at EOF returned ${tail.length} bytes`)
          e.sha256 = h.digest()
          e.chunks = h.chunks
        } catch (err) {
          problems.push(`${where}: read failed: ${(err as Error).message}`)
        }
      }
    }
    entries.set(e.path, e)
  }
  return {source: 'image', root: img.path, entries, problems, blockSize: bs, clusterSize: cs}
}

function modeBitsOf(t: FileType): number {
  return {
    file: 0o100000,
    dir: 0o040000,
    symlink: 0o120000,
    chardev: 0o020000,
    blockdev: 0o060000,
    fifo: 0o010000,
    socket: 0o140000,
  }[t]
}

/** FORMAT.md §10 reader rules, as seen through img.extents(). */
function checkExtents(where: string, xs: ExtentInfo[], size: number, bs: number, cs: number, problems: string[]): void {
  const limit = Math.ceil(size / bs) * bs
  const sorted = [...xs].sort((a, b) => a.offset - b.offset)
  let end = 0
  for (const x of sorted) {
    const tag = `${where}: extent @${x.offset}+${x.length} (${x.kind})`
    if (x.offset % bs !== 0) problems.push(`${tag}: offset not a multiple of the block size ${bs}`)
    if (x.length < 1 || x.length > cs) problems.push(`${tag}: length outside 1..cluster size ${cs}`)
    if (x.offset + x.length > limit) problems.push(`${tag}: beyond the file size ${size} rounded up to a block`)
    if (x.offset < end) problems.push(`${tag}: overlaps the previous extent`)
    end = Math.max(end, x.offset + x.length)
    if (x.kind === 'inline') {
      if (xs.length !== 1 || x.offset !== 0) problems.push(`${tag}: inline extent must be the only one, at 0`)
      if (x.stored > Math.min(2048, bs / 2 - 128)) problems.push(`${tag}: inline stored ${x.stored} > max_inline`)
    } else if (x.kind === 'packed') {
      // a slice of a pack (FORMAT.md §10): `stored` is its offset in the pack, the file's last extent
      if (x.blocks !== 0) problems.push(`${tag}: packed extent owns ${x.blocks} blocks`)
      if (x.stored + x.length > cs) problems.push(`${tag}: slice ${x.stored}+${x.length} past the largest pack`)
      if (x !== sorted[sorted.length - 1]) problems.push(`${tag}: packed extent is not the last one`)
    } else {
      if (x.blocks !== Math.ceil(x.stored / bs))
        problems.push(`${tag}: ${x.blocks} blocks for ${x.stored} stored bytes`)
      if (x.kind === 'raw' && x.stored !== x.length) problems.push(`${tag}: raw extent stores ${x.stored} bytes`)
      if (x.kind === 'zstd' && x.stored >= x.length)
        problems.push(`${tag}: zstd extent does not save space (${x.stored} >= ${x.length})`)
    }
  }
}

/** Open an image read-only, describe it, close it. */
export async function describeImageFile(imagePath: string, opts: ImageOptions = {}): Promise<Description> {
  const {Image} = await import('../../src/core/index.js')
  const img = Image.open(imagePath, {readOnly: true})
  try {
    return describeImage(img, opts)
  } finally {
    img.close()
  }
}

// ---------------------------------------------------------------------------
// comparison

export interface CompareOptions {
  /** Compare the root directory's own attributes (mode, owner, mtime, xattrs). Default true. */
  rootAttrs?: boolean
  /** Compare mtimes. Default true. */
  mtime?: boolean
  /** Check the hole layout. Default true. */
  holes?: boolean
  /** Compare nlink of directories (2 + subdirectories on both sides). Default true. */
  dirNlink?: boolean
  /** Paths (display form) to leave out. */
  ignore?: (path: string) => boolean
}

const oct = (m: number) => m.toString(8).padStart(6, '0')
const fmtNs = (t: bigint) => {
  const neg = t < 0n
  const a = neg ? -t : t
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${String(a % 1_000_000_000n).padStart(9, '0')}`
}
const hexShort = (b: Buffer) =>
  b.length <= 24
    ? b.toString('hex')
    : `${b.subarray(0, 12).toString('hex')}…(${b.length} bytes, sha256 ${crypto.createHash('sha256').update(b).digest('hex').slice(0, 12)})`

function groups(d: Description): Map<string, string[]> {
  const byInode = new Map<string, string[]>()
  for (const e of d.entries.values()) {
    if (e.type === 'dir') continue
    byInode.set(e.inode, [...(byInode.get(e.inode) ?? []), e.path])
  }
  const out = new Map<string, string[]>()
  for (const paths of byInode.values()) {
    paths.sort()
    for (const p of paths) out.set(p, paths)
  }
  return out
}

/**
 * Differences between two descriptions, `a` the expected (usually the host)
 * and `b` the actual (usually the image). Empty when equal.
 */
export function compare(a: Description, b: Description, opts: CompareOptions = {}): string[] {
  const out: string[] = []
  const o = {rootAttrs: true, mtime: true, holes: true, dirNlink: true, ...opts}
  const skip = (p: string) => o.ignore?.(p) ?? false
  const A = a.source
  const B = b.source
  for (const p of b.problems) out.push(`${B} inconsistency: ${p}`)
  for (const [p, x] of a.entries)
    if (!skip(p) && !b.entries.has(p)) out.push(`${p}: missing in ${B} (${x.type} in ${A})`)
  for (const [p, y] of b.entries) if (!skip(p) && !a.entries.has(p)) out.push(`${p}: only in ${B} (${y.type})`)
  const ga = groups(a)
  const gb = groups(b)
  const bs = b.blockSize ?? a.blockSize ?? 4096
  for (const [p, x] of a.entries) {
    const y = b.entries.get(p)
    if (!y || skip(p)) continue
    const d = (what: string, va: unknown, vb: unknown) => out.push(`${p}: ${what} differs: ${A} ${va}, ${B} ${vb}`)
    if (x.type !== y.type) {
      d('type', x.type, y.type)
      continue
    }
    const attrs = p !== '/' || o.rootAttrs
    if (attrs && x.mode !== y.mode) d('mode', oct(x.mode), oct(y.mode))
    if (attrs && x.uid !== y.uid) d('uid', x.uid, y.uid)
    if (attrs && x.gid !== y.gid) d('gid', x.gid, y.gid)
    if (x.nlink !== y.nlink && (x.type !== 'dir' || o.dirNlink)) d('nlink', x.nlink, y.nlink)
    if (x.type !== 'dir' && x.size !== y.size) d('size', x.size, y.size)
    if (x.rdev !== y.rdev) d('rdev', `0x${x.rdev.toString(16)}`, `0x${y.rdev.toString(16)}`)
    if (attrs && o.mtime && x.mtimeNs !== y.mtimeNs) d('mtime', fmtNs(x.mtimeNs), fmtNs(y.mtimeNs))
    if (x.type === 'dir' && x.entries !== undefined && y.entries !== undefined && x.entries !== y.entries)
      d('entry count', x.entries, y.entries)
    if (x.target && y.target && !x.target.equals(y.target))
      d('symlink target', JSON.stringify(showBytes(x.target)), JSON.stringify(showBytes(y.target)))
    if (x.sha256 && y.sha256 && x.sha256 !== y.sha256) {
      const i = (x.chunks ?? []).findIndex((c, k) => c !== y.chunks?.[k])
      d('content', x.sha256.slice(0, 16), `${y.sha256.slice(0, 16)} (first difference in MiB #${i})`)
    }
    if (attrs && x.xattrs && y.xattrs) {
      for (const [n, v] of x.xattrs) {
        const w = y.xattrs.get(n)
        if (!w) out.push(`${p}: xattr ${n} missing in ${B}`)
        else if (!v.equals(w)) d(`xattr ${n}`, hexShort(v), hexShort(w))
      }
      for (const n of y.xattrs.keys()) if (!x.xattrs.has(n)) out.push(`${p}: xattr ${n} only in ${B}`)
    }
    if (x.type !== 'dir') {
      const la = ga.get(p)!.filter((q) => !skip(q))
      const lb = gb.get(p)!.filter((q) => !skip(q))
      if (la.join('\0') !== lb.join('\0')) d('hardlink group', `[${la.join(', ')}]`, `[${lb.join(', ')}]`)
    }
    if (o.holes && x.type === 'file' && x.data && y.data) {
      const host = a.source === 'host' ? x : b.source === 'host' ? y : undefined
      const img = a.source === 'image' ? x : b.source === 'image' ? y : undefined
      if (host?.data && img?.data) out.push(...holeDiffs(p, host.data, img.data, x.size, bs))
      else if (fmtRuns(x.data, 1e9) !== fmtRuns(y.data, 1e9)) d('data layout', fmtRuns(x.data), fmtRuns(y.data))
    }
  }
  return out
}

/**
 * hostData: ranges of non-zero bytes; mapped: ranges covered by extents.
 * Every block with data must be mapped (else the content would differ too);
 * every all-zero block must not be.
 */
export function holeDiffs(p: string, hostData: Run[], mapped: Run[], size: number, bs: number): string[] {
  const zeroMapped: number[] = []
  let zeroMappedCount = 0
  for (const [s, e] of mapped) {
    for (let blk = Math.floor(s / bs); blk * bs < e; blk++) {
      const lo = blk * bs
      const hi = Math.min(lo + bs, size)
      if (lo >= size) break
      if (!intersects(hostData, lo, hi)) {
        zeroMappedCount++
        if (zeroMapped.length < 4) zeroMapped.push(lo)
      }
    }
  }
  const unmapped: number[] = []
  for (const [s, e] of hostData) {
    for (let blk = Math.floor(s / bs); blk * bs < e; blk++) {
      const lo = blk * bs
      const hi = Math.min(lo + bs, size)
      // the host's zero map has a 1 KiB grain: a short extent (e.g. an inline one in a file later extended
      // by truncate) can hold all of a grain's data without covering it; the content hash checks the bytes
      if (!intersects(mapped, Math.max(lo, s), Math.min(hi, e))) {
        unmapped.push(lo)
        break
      }
    }
    if (unmapped.length >= 4) break
  }
  const out: string[] = []
  if (zeroMappedCount)
    out.push(
      `${p}: ${zeroMappedCount} all-zero block(s) of ${bs} bytes are stored instead of holes (at ${zeroMapped.join(', ')}${zeroMappedCount > 4 ? ', …' : ''}); host data ${fmtRuns(hostData)}, image extents ${fmtRuns(mapped)}`,
    )
  if (unmapped.length)
    out.push(
      `${p}: blocks holding data have no extent (at ${unmapped.join(', ')}); host data ${fmtRuns(hostData)}, image extents ${fmtRuns(mapped)}`,
    )
  return out
}

/** Counts per type, for test comments. */
export function summary(d: Description): string {
  const c: Record<string, number> = {}
  for (const e of d.entries.values()) c[e.type] = (c[e.type] ?? 0) + 1
  return Object.entries(c)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ')
}

/** Differences as one string for an assertion message (at most `max` lines). */
export function formatDiffs(diffs: string[], max = 40): string {
  return diffs.slice(0, max).join('\n') + (diffs.length > max ? `\n… and ${diffs.length - max} more` : '')
}

/** Absolute host path (bytes) of an entry. */
export function hostPath(root: string, e: Entry): Buffer {
  return e.raw.length ? Buffer.concat([Buffer.from(root + '/'), e.raw]) : Buffer.from(root)
}
