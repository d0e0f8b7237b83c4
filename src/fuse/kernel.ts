/**
 * The kernel's FUSE protocol (linux/fuse.h, protocol 7.31) spoken directly
 * over /dev/fuse: requests are read from the device, handed to RazorFs by
 * inode number, and answered on the device. Used when razorfs can mount by
 * itself (root); libfuse.ts (fuse-native) is the fallback.
 *
 * Speaking the protocol rather than going through libfuse's path-based API
 * gives what a POSIX filesystem needs: the caller's uid/gid for new files,
 * nanosecond timestamps and UTIME_NOW/UTIME_OMIT, raw byte names, real
 * unlink of open files (RazorFs keeps them as orphans), fallocate, lseek,
 * readdir cookies, READDIRPLUS, and 1 MiB reads and writes.
 *
 * The table OPS maps each opcode to one small function that decodes the
 * request, calls RazorFs and encodes the reply; anything thrown becomes the
 * errno errnoOf() gives.
 */
import fs from 'node:fs'
import type {Stat, Timespec} from '../core/index.js'
import {errnoName, errnoNumber, errnoOf, isExpected} from './errno.js'
import {typeBits, type Ctx, type RazorFs, type SetAttr} from './ops.js'

export const FUSE_KERNEL_VERSION = 7
export const FUSE_KERNEL_MINOR = 31
const IN_HEADER = 40
const OUT_HEADER = 16
const PAGE = 4096

// opcodes
const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  SYNCFS: 50,
} as const
export const OPCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k]))

// INIT flags
const FUSE_ASYNC_READ = 1 << 0
const FUSE_ATOMIC_O_TRUNC = 1 << 3
const FUSE_BIG_WRITES = 1 << 5
const FUSE_DO_READDIRPLUS = 1 << 13
const FUSE_READDIRPLUS_AUTO = 1 << 14
const FUSE_PARALLEL_DIROPS = 1 << 18
const FUSE_MAX_PAGES = 1 << 22
const FUSE_CACHE_SYMLINKS = 1 << 23
const WANTED =
  FUSE_ASYNC_READ |
  FUSE_ATOMIC_O_TRUNC |
  FUSE_BIG_WRITES |
  FUSE_DO_READDIRPLUS |
  FUSE_READDIRPLUS_AUTO |
  FUSE_PARALLEL_DIROPS |
  FUSE_MAX_PAGES |
  FUSE_CACHE_SYMLINKS

// SETATTR valid bits
const FATTR_MODE = 1 << 0
const FATTR_UID = 1 << 1
const FATTR_GID = 1 << 2
const FATTR_SIZE = 1 << 3
const FATTR_ATIME = 1 << 4
const FATTR_MTIME = 1 << 5
const FATTR_ATIME_NOW = 1 << 7
const FATTR_MTIME_NOW = 1 << 8
const FATTR_CTIME = 1 << 10

const FOPEN_KEEP_CACHE = 1 << 1
const FUSE_GETATTR_FH = 1

/** One request as read from the device. */
export interface Request {
  opcode: number
  unique: bigint
  nodeid: number
  ctx: Ctx
  /** The bytes after the header. */
  body: Buffer
}

export interface KernelSessionOptions {
  /** Largest write the kernel may send, a multiple of 4 KiB up to 1 MiB. */
  maxWrite?: number
  /** Seconds the kernel may cache attributes and names. */
  attrTimeout?: number
  /** Print every request and its result on stderr. */
  debug?: boolean
  /** Unexpected failures (EIO and the like), for the log. */
  onError?: (message: string) => void
  /**
   * Where to publish the nodeid of a regular file the kernel holds (0: none),
   * for wakeSession() in another thread.
   */
  wakeNode?: BigInt64Array
}

const FUSE_NOTIFY_RETRIEVE = 5

/**
 * Memory a serving worker shares with its main thread (kernel-worker.ts):
 * BigInt64 [0] the wake node (see KernelSessionOptions.wakeNode); Int32 [2]
 * commits asked for (razorfs sync), [3] 1 while something is uncommitted.
 */
export const SHARED_BYTES = 16
export const SHARED_SYNC_WANTED = 2
export const SHARED_DIRTY = 3

/**
 * Wake the thread serving the session on `fd` without any system call on the
 * mount: ask the kernel to retrieve 0 bytes of the cache of `node`, a regular
 * file it holds (FUSE_NOTIFY_RETRIEVE; current kernels refuse it on anything
 * else); it answers by queueing a FUSE_NOTIFY_REPLY request, which the
 * serving thread reads like any other (and does not answer). A write to
 * /dev/fuse never waits for the server, so a process killed meanwhile leaves
 * no thread blocked on its own mount. Throws (ENOENT) when the kernel has
 * let go of `node` meanwhile.
 */
export function wakeSession(fd: number, node: bigint): void {
  const b = Buffer.alloc(OUT_HEADER + 32)
  b.writeUInt32LE(b.length, 0)
  b.writeInt32LE(FUSE_NOTIFY_RETRIEVE, 4)
  b.writeBigUInt64LE(0n, 8)
  b.writeBigUInt64LE(1n, OUT_HEADER) // notify_unique
  b.writeBigUInt64LE(node, OUT_HEADER + 8) // nodeid
  b.writeBigUInt64LE(0n, OUT_HEADER + 16) // offset
  b.writeUInt32LE(0, OUT_HEADER + 24) // size
  fs.writeSync(fd, b)
}

// ---- encoding -------------------------------------------------------------------

const u64 = (b: Buffer, off: number, v: number): void => {
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(v))), off)
}

/** glibc dev_t (as the core stores it) → the kernel's 32-bit encoding. */
export function devToKernel(rdev: number): number {
  const d = BigInt(rdev)
  const major = Number(((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0xfffn))
  const minor = Number(((d >> 12n) & 0xffffff00n) | (d & 0xffn))
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0
}

/** The kernel's 32-bit device number → glibc dev_t. */
export function devFromKernel(dev: number): number {
  const major = (dev >>> 8) & 0xfff
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00)
  return Number(
    (BigInt(major & 0xfffff000) << 32n) |
      (BigInt(major & 0xfff) << 8n) |
      (BigInt(minor & 0xffffff00) << 12n) |
      BigInt(minor & 0xff),
  )
}

const ATTR_SIZE = 88

function writeAttr(b: Buffer, off: number, st: Stat, blksize: number): void {
  u64(b, off, st.ino)
  u64(b, off + 8, st.size)
  u64(b, off + 16, Math.ceil(st.allocated / 512))
  b.writeBigInt64LE(BigInt(st.atime.sec), off + 24)
  b.writeBigInt64LE(BigInt(st.mtime.sec), off + 32)
  b.writeBigInt64LE(BigInt(st.ctime.sec), off + 40)
  b.writeUInt32LE(st.atime.nsec, off + 48)
  b.writeUInt32LE(st.mtime.nsec, off + 52)
  b.writeUInt32LE(st.ctime.nsec, off + 56)
  b.writeUInt32LE(st.mode >>> 0, off + 60)
  b.writeUInt32LE(st.nlink >>> 0, off + 64)
  b.writeUInt32LE(st.uid >>> 0, off + 68)
  b.writeUInt32LE(st.gid >>> 0, off + 72)
  b.writeUInt32LE(devToKernel(st.rdev), off + 76)
  b.writeUInt32LE(blksize, off + 80)
  b.writeUInt32LE(0, off + 84)
}

const ENTRY_SIZE = 40 + ATTR_SIZE

/** Reads a NUL-terminated name at `off`; returns it (copied) and the offset after the NUL. */
function cstr(b: Buffer, off: number): [Buffer, number] {
  let end = b.indexOf(0, off)
  if (end < 0) end = b.length
  return [Buffer.from(b.subarray(off, end)), end + 1]
}

function readTime(b: Buffer, secOff: number, nsecOff: number): Timespec {
  return {sec: Number(b.readBigInt64LE(secOff)), nsec: b.readUInt32LE(nsecOff)}
}

const u64at = (b: Buffer, off: number): number => Number(b.readBigUInt64LE(off))

// ---- the session ----------------------------------------------------------------

type Handler = (s: KernelSession, r: Request) => void

export class KernelSession {
  readonly fs: RazorFs
  private readonly fd: number
  private readonly maxWrite: number
  private readonly timeout: {sec: number; nsec: number}
  private readonly debug: boolean
  private readonly onError: (m: string) => void
  private readonly blksize: number
  private ended = false
  private onInit?: () => void
  /** Regular files the kernel holds: nodeid → lookup count (what FORGET takes back). */
  private readonly held = new Map<number, number>()
  private readonly wakeNode?: BigInt64Array
  /** Requests and time spent per opcode (with RAZORFS_FUSE_STATS=1, printed at the end). */
  readonly stats?: Map<string, {count: number; ns: bigint}>

  constructor(fd: number, razor: RazorFs, opts: KernelSessionOptions = {}) {
    this.fd = fd
    this.fs = razor
    this.maxWrite = Math.min(1 << 20, Math.max(PAGE, Math.floor((opts.maxWrite ?? 1 << 20) / PAGE) * PAGE))
    const t = opts.attrTimeout ?? 1
    this.timeout = {sec: Math.floor(t), nsec: Math.round((t % 1) * 1e9)}
    this.debug = Boolean(opts.debug)
    this.onError = opts.onError ?? ((m) => process.stderr.write(`razorfs: ${m}\n`))
    this.blksize = razor.img.info().clusterSize
    this.wakeNode = opts.wakeNode
    if (process.env.RAZORFS_FUSE_STATS === '1') this.stats = new Map()
  }

  /**
   * Serve requests until the kernel ends the session (unmount). Blocking: one
   * read(2) of the device per request, answered before the next is read, so
   * a request costs no thread hand-over (this runs in a worker thread, see
   * kernel-worker.ts). `ready` is called once INIT is answered; `between`
   * after every request (periodic commits).
   */
  run(ready?: () => void, between?: () => void): void {
    this.onInit = ready
    const buf = Buffer.allocUnsafe(this.maxWrite + 64 * 1024)
    while (!this.ended) {
      let n: number
      try {
        n = fs.readSync(this.fd, buf, 0, buf.length, null)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'ENODEV') break
        if (code === 'EINTR' || code === 'EAGAIN' || code === 'ENOENT') continue
        throw e
      }
      if (n >= IN_HEADER) this.dispatch(buf.subarray(0, n))
      between?.()
    }
    this.ended = true
    if (this.stats)
      for (const [k, v] of [...this.stats].sort((a, b) => Number(b[1].ns - a[1].ns)))
        process.stderr.write(`razorfs: stats ${k} ${v.count} requests ${(Number(v.ns) / 1e6).toFixed(1)} ms\n`)
  }

  private dispatch(b: Buffer): void {
    const r: Request = {
      opcode: b.readUInt32LE(4),
      unique: b.readBigUInt64LE(8),
      nodeid: u64at(b, 16),
      ctx: {uid: b.readUInt32LE(24), gid: b.readUInt32LE(28), pid: b.readUInt32LE(32)},
      body: b.subarray(IN_HEADER, b.readUInt32LE(0)),
    }
    const h = OPS[r.opcode]
    if (!h) return this.error(r, errnoNumber('ENOSYS'))
    const t0 = this.stats ? process.hrtime.bigint() : 0n
    try {
      h(this, r)
    } catch (e) {
      if (!isExpected(e))
        this.onError(`${OPCODE_NAMES[r.opcode] ?? r.opcode} on inode ${r.nodeid}: ${(e as Error).message ?? e}`)
      if (this.debug)
        process.stderr.write(
          `razorfs: ${OPCODE_NAMES[r.opcode]} ${r.nodeid} -> ${errnoName(e)} (${(e as Error).message})\n`,
        )
      this.error(r, errnoOf(e))
    }
    if (this.stats) {
      const k = OPCODE_NAMES[r.opcode] ?? String(r.opcode)
      const e = this.stats.get(k) ?? {count: 0, ns: 0n}
      e.count++
      e.ns += process.hrtime.bigint() - t0
      this.stats.set(k, e)
    }
  }

  // ---- replies ----

  private send(r: Request, error: number, parts: Buffer[]): void {
    let len = OUT_HEADER
    for (const p of parts) len += p.length
    const h = Buffer.allocUnsafe(OUT_HEADER)
    h.writeUInt32LE(len, 0)
    h.writeInt32LE(error, 4)
    h.writeBigUInt64LE(r.unique, 8)
    try {
      if (parts.length === 0) fs.writeSync(this.fd, h)
      else fs.writevSync(this.fd, [h, ...parts])
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      // ENOENT: the request was interrupted and is gone; ENODEV: unmounted meanwhile
      if (code !== 'ENOENT' && code !== 'ENODEV')
        this.onError(`reply to ${OPCODE_NAMES[r.opcode]}: ${(e as Error).message}`)
    }
  }

  ok(r: Request, ...parts: Buffer[]): void {
    if (this.debug) process.stderr.write(`razorfs: ${OPCODE_NAMES[r.opcode]} ${r.nodeid} ok\n`)
    this.send(r, 0, parts)
  }

  error(r: Request, errno: number): void {
    this.send(r, -errno, [])
  }

  // ---- reply bodies ----

  entry(st: Stat | undefined): Buffer {
    const b = Buffer.alloc(ENTRY_SIZE)
    if (!st) {
      // a negative entry the kernel may cache
      u64(b, 16, this.timeout.sec)
      b.writeUInt32LE(this.timeout.nsec, 32)
      return b
    }
    this.fillEntry(b, 0, st)
    return b
  }

  fillEntry(b: Buffer, off: number, st: Stat): void {
    if (this.wakeNode && (st.mode & 0o170000) === 0o100000) {
      this.held.set(st.ino, (this.held.get(st.ino) ?? 0) + 1)
      if (Atomics.load(this.wakeNode, 0) === 0n) Atomics.store(this.wakeNode, 0, BigInt(st.ino))
    }
    u64(b, off, st.ino)
    u64(b, off + 8, st.generation)
    u64(b, off + 16, this.timeout.sec)
    u64(b, off + 24, this.timeout.sec)
    b.writeUInt32LE(this.timeout.nsec, off + 32)
    b.writeUInt32LE(this.timeout.nsec, off + 36)
    writeAttr(b, off + 40, st, this.blksize)
  }

  attr(st: Stat): Buffer {
    const b = Buffer.alloc(16 + ATTR_SIZE)
    u64(b, 0, this.timeout.sec)
    b.writeUInt32LE(this.timeout.nsec, 8)
    writeAttr(b, 16, st, this.blksize)
    return b
  }

  /** getxattr/listxattr: the size when asked for 0 bytes, ERANGE when the buffer is too small. */
  sized(r: Request, size: number, value: Buffer): void {
    if (size === 0) {
      const out = Buffer.alloc(8)
      out.writeUInt32LE(value.length, 0)
      this.ok(r, out)
    } else if (value.length > size) this.error(r, errnoNumber('ERANGE'))
    else this.ok(r, value)
  }

  openOut(fh: number, flags: number): Buffer {
    const b = Buffer.alloc(16)
    u64(b, 0, fh)
    b.writeUInt32LE(flags, 8)
    return b
  }

  // ---- INIT ----

  init(r: Request): void {
    const major = r.body.readUInt32LE(0)
    const minor = r.body.readUInt32LE(4)
    const maxReadahead = r.body.readUInt32LE(8)
    const flags = r.body.readUInt32LE(12)
    const out = Buffer.alloc(64)
    out.writeUInt32LE(FUSE_KERNEL_VERSION, 0)
    if (major !== FUSE_KERNEL_VERSION) {
      // the kernel will answer with another INIT if it can speak ours
      this.ok(r, out.subarray(0, 8))
      return
    }
    out.writeUInt32LE(Math.min(minor, FUSE_KERNEL_MINOR), 4)
    out.writeUInt32LE(maxReadahead, 8)
    out.writeUInt32LE(flags & WANTED, 12)
    out.writeUInt16LE(16, 16) // max_background
    out.writeUInt16LE(12, 18) // congestion_threshold
    out.writeUInt32LE(this.maxWrite, 20)
    out.writeUInt32LE(1, 24) // time_gran: nanoseconds
    out.writeUInt16LE(this.maxWrite / PAGE, 28) // max_pages
    this.ok(r, out)
    const cb = this.onInit
    this.onInit = undefined
    cb?.()
  }

  /** The kernel dropped `n` lookups of `ino`. */
  forget(ino: number, n: number): void {
    const c = this.held.get(ino)
    if (c === undefined || !this.wakeNode) return
    if (c > n) return void this.held.set(ino, c - n)
    this.held.delete(ino)
    if (Atomics.load(this.wakeNode, 0) !== BigInt(ino)) return
    const next = this.held.keys().next()
    Atomics.store(this.wakeNode, 0, next.done ? 0n : BigInt(next.value))
  }

  destroy(r: Request): void {
    this.ok(r)
    this.ended = true
  }

  // ---- readdir ----

  readdir(r: Request, plus: boolean): void {
    const fh = u64at(r.body, 0)
    const offset = u64at(r.body, 8)
    const size = r.body.readUInt32LE(16)
    const items = this.fs.readdir(fh, offset)
    const out = Buffer.alloc(size)
    let pos = 0
    for (const it of items) {
      const namelen = it.name.length
      const direntLen = (24 + namelen + 7) & ~7
      const need = (plus ? ENTRY_SIZE : 0) + direntLen
      if (pos + need > size) break
      const ino = it.ino
      let type = typeBits(it.type) >> 12
      if (plus) {
        const dots = it.offset <= 2
        if (!dots) {
          let st: Stat
          try {
            st = this.fs.getattr(it.ino)
          } catch {
            continue // removed since the listing was read
          }
          this.fillEntry(out, pos, st)
          type = (st.mode >> 12) & 0xf
        }
        pos += ENTRY_SIZE
      }
      u64(out, pos, ino)
      u64(out, pos + 8, it.offset)
      out.writeUInt32LE(namelen, pos + 16)
      out.writeUInt32LE(type, pos + 20)
      it.name.copy(out, pos + 24)
      pos += direntLen
    }
    this.ok(r, out.subarray(0, pos))
  }
}

// ---- the operation table ------------------------------------------------------------

const name0 = (r: Request): Buffer => cstr(r.body, 0)[0]

function setattrFrom(b: Buffer): SetAttr {
  const valid = b.readUInt32LE(0)
  const a: SetAttr = {}
  if (valid & FATTR_MODE) a.mode = b.readUInt32LE(68)
  if (valid & FATTR_UID) a.uid = b.readUInt32LE(76)
  if (valid & FATTR_GID) a.gid = b.readUInt32LE(80)
  if (valid & FATTR_SIZE) a.size = u64at(b, 16)
  if (valid & FATTR_ATIME_NOW) a.atime = 'now'
  else if (valid & FATTR_ATIME) a.atime = readTime(b, 32, 56)
  if (valid & FATTR_MTIME_NOW) a.mtime = 'now'
  else if (valid & FATTR_MTIME) a.mtime = readTime(b, 40, 60)
  if (valid & FATTR_CTIME) a.ctime = readTime(b, 48, 64)
  return a
}

const OPS: Record<number, Handler> = {
  [Op.INIT]: (s, r) => s.init(r),
  [Op.DESTROY]: (s, r) => s.destroy(r),
  [Op.FORGET]: (s, r) => s.forget(r.nodeid, u64at(r.body, 0)),
  [Op.BATCH_FORGET]: (s, r) => {
    const count = r.body.readUInt32LE(0)
    for (let i = 0; i < count && 8 + i * 16 + 16 <= r.body.length; i++)
      s.forget(u64at(r.body, 8 + i * 16), u64at(r.body, 16 + i * 16))
  },
  [Op.INTERRUPT]: () => {},
  // the kernel's answer to wakeSession(): nothing to do, and no reply
  [Op.NOTIFY_REPLY]: () => {},
  [Op.LOOKUP]: (s, r) => s.ok(r, s.entry(s.fs.lookup(r.nodeid, name0(r)))),
  [Op.GETATTR]: (s, r) => {
    const flags = r.body.readUInt32LE(0)
    const ino = flags & FUSE_GETATTR_FH ? s.fs.inodeOf(u64at(r.body, 8)) : r.nodeid
    s.ok(r, s.attr(s.fs.getattr(ino)))
  },
  [Op.SETATTR]: (s, r) => s.ok(r, s.attr(s.fs.setattr(r.nodeid, setattrFrom(r.body)))),
  [Op.READLINK]: (s, r) => s.ok(r, s.fs.readlink(r.nodeid)),
  [Op.SYMLINK]: (s, r) => {
    const [name, at] = cstr(r.body, 0)
    const [target] = cstr(r.body, at)
    s.ok(r, s.entry(s.fs.symlink(r.ctx, r.nodeid, name, target)))
  },
  [Op.MKNOD]: (s, r) =>
    s.ok(
      r,
      s.entry(
        s.fs.mknod(r.ctx, r.nodeid, cstr(r.body, 16)[0], r.body.readUInt32LE(0), devFromKernel(r.body.readUInt32LE(4))),
      ),
    ),
  [Op.MKDIR]: (s, r) => s.ok(r, s.entry(s.fs.mkdir(r.ctx, r.nodeid, cstr(r.body, 8)[0], r.body.readUInt32LE(0)))),
  [Op.UNLINK]: (s, r) => {
    s.fs.unlink(r.nodeid, name0(r))
    s.ok(r)
  },
  [Op.RMDIR]: (s, r) => {
    s.fs.rmdir(r.nodeid, name0(r))
    s.ok(r)
  },
  [Op.RENAME]: (s, r) => {
    const [from, at] = cstr(r.body, 8)
    s.fs.rename(r.nodeid, from, u64at(r.body, 0), cstr(r.body, at)[0])
    s.ok(r)
  },
  [Op.RENAME2]: (s, r) => {
    const [from, at] = cstr(r.body, 16)
    s.fs.rename(r.nodeid, from, u64at(r.body, 0), cstr(r.body, at)[0], r.body.readUInt32LE(8))
    s.ok(r)
  },
  [Op.LINK]: (s, r) => s.ok(r, s.entry(s.fs.link(u64at(r.body, 0), r.nodeid, cstr(r.body, 8)[0]))),
  [Op.OPEN]: (s, r) => s.ok(r, s.openOut(s.fs.open(r.nodeid, r.body.readUInt32LE(0)), FOPEN_KEEP_CACHE)),
  [Op.CREATE]: (s, r) => {
    const flags = r.body.readUInt32LE(0)
    const mode = r.body.readUInt32LE(4)
    const {stat, fh} = s.fs.create(r.ctx, r.nodeid, cstr(r.body, 16)[0], mode, flags)
    s.ok(r, s.entry(stat), s.openOut(fh, FOPEN_KEEP_CACHE))
  },
  [Op.READ]: (s, r) => s.ok(r, s.fs.read(u64at(r.body, 0), u64at(r.body, 8), r.body.readUInt32LE(16))),
  [Op.WRITE]: (s, r) => {
    const size = r.body.readUInt32LE(16)
    const n = s.fs.write(u64at(r.body, 0), u64at(r.body, 8), r.body.subarray(40, 40 + size))
    const out = Buffer.alloc(8)
    out.writeUInt32LE(n, 0)
    s.ok(r, out)
  },
  [Op.STATFS]: (s, r) => {
    const st = s.fs.statfs()
    const b = Buffer.alloc(80)
    u64(b, 0, st.blocks)
    u64(b, 8, st.bfree)
    u64(b, 16, st.bavail)
    u64(b, 24, st.files)
    u64(b, 32, st.ffree)
    b.writeUInt32LE(st.blockSize, 40)
    b.writeUInt32LE(st.nameMax, 44)
    b.writeUInt32LE(st.blockSize, 48)
    s.ok(r, b)
  },
  [Op.RELEASE]: (s, r) => {
    s.fs.release(u64at(r.body, 0))
    s.ok(r)
  },
  [Op.FLUSH]: (s, r) => {
    s.fs.flush(u64at(r.body, 0))
    s.ok(r)
  },
  [Op.FSYNC]: (s, r) => {
    s.fs.fsync(u64at(r.body, 0))
    s.ok(r)
  },
  [Op.OPENDIR]: (s, r) => s.ok(r, s.openOut(s.fs.opendir(r.nodeid), 0)),
  [Op.READDIR]: (s, r) => s.readdir(r, false),
  [Op.READDIRPLUS]: (s, r) => s.readdir(r, true),
  [Op.RELEASEDIR]: (s, r) => {
    s.fs.releasedir(u64at(r.body, 0))
    s.ok(r)
  },
  [Op.FSYNCDIR]: (s, r) => {
    s.fs.fsyncdir(u64at(r.body, 0))
    s.ok(r)
  },
  [Op.SYNCFS]: (s, r) => {
    s.fs.sync()
    s.ok(r)
  },
  [Op.ACCESS]: (s, r) => {
    s.fs.access(r.nodeid, r.body.readUInt32LE(0), r.ctx)
    s.ok(r)
  },
  [Op.SETXATTR]: (s, r) => {
    const size = r.body.readUInt32LE(0)
    const flags = r.body.readUInt32LE(4)
    const [name, at] = cstr(r.body, 8)
    s.fs.setxattr(r.nodeid, name.toString('utf8'), Buffer.from(r.body.subarray(at, at + size)), flags)
    s.ok(r)
  },
  [Op.GETXATTR]: (s, r) => {
    const size = r.body.readUInt32LE(0)
    const value = s.fs.getxattr(r.nodeid, cstr(r.body, 8)[0].toString('utf8'))
    if (value) s.sized(r, size, value)
    else s.error(r, errnoNumber('ENODATA'))
  },
  [Op.LISTXATTR]: (s, r) => {
    const size = r.body.readUInt32LE(0)
    const names = s.fs.listxattr(r.nodeid)
    s.sized(r, size, Buffer.concat(names.map((n) => Buffer.from(`${n}\0`, 'utf8'))))
  },
  [Op.REMOVEXATTR]: (s, r) => {
    s.fs.removexattr(r.nodeid, name0(r).toString('utf8'))
    s.ok(r)
  },
  [Op.FALLOCATE]: (s, r) => {
    s.fs.fallocate(u64at(r.body, 0), u64at(r.body, 8), u64at(r.body, 16), r.body.readUInt32LE(24))
    s.ok(r)
  },
  [Op.LSEEK]: (s, r) => {
    const out = Buffer.alloc(8)
    u64(out, 0, s.fs.lseek(u64at(r.body, 0), u64at(r.body, 8), r.body.readUInt32LE(16)))
    s.ok(r, out)
  },
}
