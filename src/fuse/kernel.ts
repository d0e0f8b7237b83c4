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
 * This file is the session: reading requests, dispatching them, and the
 * reply bodies. The table OPS (kernel-ops.ts) maps each opcode to one small
 * function that decodes the request, calls RazorFs and encodes the reply;
 * anything thrown becomes the errno errnoOf() gives. Every structure's
 * layout is declared once in abi.ts.
 */
import fs from 'node:fs'
import type {Stat} from '../core/index.js'
import {errnoName, errnoNumber, errnoOf, isExpected} from './errno.js'
import {typeBits, type RazorFs} from './ops.js'
import {
  FUSE_ASYNC_READ,
  FUSE_ATOMIC_O_TRUNC,
  FUSE_BIG_WRITES,
  FUSE_CACHE_SYMLINKS,
  FUSE_COMPAT_INIT_OUT_SIZE,
  FUSE_DO_READDIRPLUS,
  FUSE_KERNEL_MINOR,
  FUSE_KERNEL_VERSION,
  FUSE_MAX_PAGES,
  FUSE_NOTIFY_RETRIEVE,
  FUSE_PARALLEL_DIROPS,
  FUSE_READDIRPLUS_AUTO,
  fuseAttrOut,
  fuseDirent,
  fuseEntryOut,
  fuseGetxattrOut,
  fuseInHeader,
  fuseInitIn,
  fuseInitOut,
  fuseNotifyRetrieveOut,
  fuseOpenOut,
  fuseOutHeader,
  fuseReadIn,
  OPCODE_NAMES,
} from './abi.js'
import {u64, u64at, writeAttr} from './kernel-fields.js'
import {OPS, type Request, type Session} from './kernel-ops.js'

export type {Request} from './kernel-ops.js'

const IN_HEADER = fuseInHeader.size
const OUT_HEADER = fuseOutHeader.size
const PAGE = 4096

const WANTED =
  FUSE_ASYNC_READ |
  FUSE_ATOMIC_O_TRUNC |
  FUSE_BIG_WRITES |
  FUSE_DO_READDIRPLUS |
  FUSE_READDIRPLUS_AUTO |
  FUSE_PARALLEL_DIROPS |
  FUSE_MAX_PAGES |
  FUSE_CACHE_SYMLINKS

// the offsets read and written per request, from the declarations
const IN = fuseInHeader.offsets
const OUT = fuseOutHeader.offsets
const ENTRY = fuseEntryOut.offsets
const ENTRY_SIZE = fuseEntryOut.size
const ATTR_OUT = fuseAttrOut.offsets
const DIRENT = fuseDirent.offsets
const READ = fuseReadIn.offsets
const INIT_IN = fuseInitIn.offsets
const INIT_OUT = fuseInitOut.offsets
const RETRIEVE = fuseNotifyRetrieveOut.offsets

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
  const b = Buffer.alloc(OUT_HEADER + fuseNotifyRetrieveOut.size)
  b.writeUInt32LE(b.length, OUT.len)
  b.writeInt32LE(FUSE_NOTIFY_RETRIEVE, OUT.error) // a notification: the code in the error field
  b.writeBigUInt64LE(0n, OUT.unique)
  b.writeBigUInt64LE(1n, OUT_HEADER + RETRIEVE.notify_unique)
  b.writeBigUInt64LE(node, OUT_HEADER + RETRIEVE.nodeid)
  b.writeBigUInt64LE(0n, OUT_HEADER + RETRIEVE.offset)
  b.writeUInt32LE(0, OUT_HEADER + RETRIEVE.size)
  fs.writeSync(fd, b)
}

// ---- the session ----------------------------------------------------------------

export class KernelSession implements Session {
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
      opcode: b.readUInt32LE(IN.opcode),
      unique: b.readBigUInt64LE(IN.unique),
      nodeid: u64at(b, IN.nodeid),
      ctx: {uid: b.readUInt32LE(IN.uid), gid: b.readUInt32LE(IN.gid), pid: b.readUInt32LE(IN.pid)},
      body: b.subarray(IN_HEADER, b.readUInt32LE(IN.len)),
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
    h.writeUInt32LE(len, OUT.len)
    h.writeInt32LE(error, OUT.error)
    h.writeBigUInt64LE(r.unique, OUT.unique)
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
      u64(b, ENTRY.entry_valid, this.timeout.sec)
      b.writeUInt32LE(this.timeout.nsec, ENTRY.entry_valid_nsec)
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
    u64(b, off + ENTRY.nodeid, st.ino)
    u64(b, off + ENTRY.generation, st.generation)
    u64(b, off + ENTRY.entry_valid, this.timeout.sec)
    u64(b, off + ENTRY.attr_valid, this.timeout.sec)
    b.writeUInt32LE(this.timeout.nsec, off + ENTRY.entry_valid_nsec)
    b.writeUInt32LE(this.timeout.nsec, off + ENTRY.attr_valid_nsec)
    writeAttr(b, off + ENTRY.attr, st, this.blksize)
  }

  attr(st: Stat): Buffer {
    const b = Buffer.alloc(fuseAttrOut.size)
    u64(b, ATTR_OUT.attr_valid, this.timeout.sec)
    b.writeUInt32LE(this.timeout.nsec, ATTR_OUT.attr_valid_nsec)
    writeAttr(b, ATTR_OUT.attr, st, this.blksize)
    return b
  }

  /** getxattr/listxattr: the size when asked for 0 bytes, ERANGE when the buffer is too small. */
  sized(r: Request, size: number, value: Buffer): void {
    if (size === 0) {
      const out = Buffer.alloc(fuseGetxattrOut.size)
      out.writeUInt32LE(value.length, fuseGetxattrOut.offsets.size)
      this.ok(r, out)
    } else if (value.length > size) this.error(r, errnoNumber('ERANGE'))
    else this.ok(r, value)
  }

  openOut(fh: number, flags: number): Buffer {
    const b = Buffer.alloc(fuseOpenOut.size)
    u64(b, fuseOpenOut.offsets.fh, fh)
    b.writeUInt32LE(flags, fuseOpenOut.offsets.open_flags)
    return b
  }

  // ---- INIT ----

  init(r: Request): void {
    const major = r.body.readUInt32LE(INIT_IN.major)
    const minor = r.body.readUInt32LE(INIT_IN.minor)
    const maxReadahead = r.body.readUInt32LE(INIT_IN.max_readahead)
    const flags = r.body.readUInt32LE(INIT_IN.flags)
    const out = Buffer.alloc(fuseInitOut.size)
    out.writeUInt32LE(FUSE_KERNEL_VERSION, INIT_OUT.major)
    if (major !== FUSE_KERNEL_VERSION) {
      // the kernel will answer with another INIT if it can speak ours
      this.ok(r, out.subarray(0, FUSE_COMPAT_INIT_OUT_SIZE))
      return
    }
    out.writeUInt32LE(Math.min(minor, FUSE_KERNEL_MINOR), INIT_OUT.minor)
    out.writeUInt32LE(maxReadahead, INIT_OUT.max_readahead)
    out.writeUInt32LE(flags & WANTED, INIT_OUT.flags)
    out.writeUInt16LE(16, INIT_OUT.max_background)
    out.writeUInt16LE(12, INIT_OUT.congestion_threshold)
    out.writeUInt32LE(this.maxWrite, INIT_OUT.max_write)
    out.writeUInt32LE(1, INIT_OUT.time_gran) // nanoseconds
    out.writeUInt16LE(this.maxWrite / PAGE, INIT_OUT.max_pages)
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
    const fh = u64at(r.body, READ.fh)
    const offset = u64at(r.body, READ.offset)
    const size = r.body.readUInt32LE(READ.size)
    const items = this.fs.readdir(fh, offset)
    const out = Buffer.alloc(size)
    let pos = 0
    for (const it of items) {
      const namelen = it.name.length
      const direntLen = (fuseDirent.size + namelen + 7) & ~7 // FUSE_DIRENT_SIZE: padded to 8 bytes
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
      u64(out, pos + DIRENT.ino, ino)
      u64(out, pos + DIRENT.off, it.offset)
      out.writeUInt32LE(namelen, pos + DIRENT.namelen)
      out.writeUInt32LE(type, pos + DIRENT.type)
      it.name.copy(out, pos + fuseDirent.size)
      pos += direntLen
    }
    this.ok(r, out.subarray(0, pos))
  }
}
