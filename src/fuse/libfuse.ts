/**
 * The fallback transport: fuse-native (an optional dependency) and libfuse2,
 * which mount without root through fusermount. libfuse's high-level API
 * passes paths, so each call resolves its path to an inode and calls the same
 * RazorFs methods as the kernel transport.
 *
 * What fuse-native 2.2.6 cannot pass through, and so this transport cannot do
 * (the kernel transport can): the calling user (new files belong to the user
 * who mounted), timestamps finer than a millisecond, setting atime or mtime
 * alone (libfuse 2 calls utimens only when both are set), fallocate and
 * lseek(SEEK_DATA/SEEK_HOLE), names that are not valid UTF-8, requests larger
 * than 128 KiB. Its utimens also passes atime for mtime; the real mtime is
 * read from the request block fuse-native hands over (see RazorFuse).
 *
 * Unlinking an open file: libfuse renames it to .fuse_hiddenXXXXXXXXXXXXXXXX
 * and unlinks that name at the last close. The rename is turned into an
 * unlink (the open inode becomes an orphan, as with the kernel transport) and
 * the hidden name is kept only in memory, so it never shows in a directory
 * and a crash leaves no .fuse_hidden file behind.
 */
import path from 'node:path'
import {createRequire} from 'node:module'
import type {Stat} from '../core/index.js'
import {errnoOf, FsError, isExpected} from './errno.js'
import {MountError, PACKAGES_HINT, razorMounts, unmount, type MountedFs} from './mounts.js'
import {listenControl, type ControlServer} from './control.js'
import type {Ctx, RazorFs} from './ops.js'
import type {MountOptions} from './options.js'

type Cb = (...args: unknown[]) => void

interface FuseClass {
  new (mnt: string, ops: Record<string, unknown>, opts: Record<string, unknown>): FuseInstance
}
interface FuseInstance {
  mount(cb: (err: Error | null) => void): void
  _makeHandlerArray(): Array<(...a: unknown[]) => unknown>
  _fuseOptions(): string
}

/** fuse-native's opcode of utimens (fuse-native.c: op_utimens). */
const OP_UTIMENS = 12
/** Offset of `mtime` (size_t, milliseconds) in fuse-native's fuse_thread_locals_t on 64-bit Linux. */
const LOCALS_MTIME = 112
const HIDDEN = /^\.fuse_hidden[0-9a-f]{16}$/
const ERANGE = -34

function loadFuse(): FuseClass {
  const require = createRequire(import.meta.url)
  try {
    // RAZORFS_FUSE_NATIVE names another module (the tests use it to see the error when it is missing)
    return require(process.env.RAZORFS_FUSE_NATIVE || 'fuse-native') as FuseClass
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]
    throw new MountError(`cannot load fuse-native and libfuse2 (${why}); ${PACKAGES_HINT}`, 'ENOPKG')
  }
}

/** fuse-native's Fuse with its utimens, getxattr and listxattr fixed and our mount options. */
function razorFuseClass(Fuse: FuseClass, options: string): FuseClass {
  return class RazorFuse extends (Fuse as unknown as new (...a: unknown[]) => FuseInstance) {
    override _fuseOptions(): string {
      return options
    }

    override _makeHandlerArray(): Array<(...a: unknown[]) => unknown> {
      const handlers = super._makeHandlerArray()
      const utimens = handlers[OP_UTIMENS]!
      handlers[OP_UTIMENS] = (locals: unknown, op: unknown, p: unknown, aLow: unknown, aHigh: unknown) => {
        const mtime = Number((locals as Buffer).readBigUInt64LE(LOCALS_MTIME))
        return utimens(locals, op, p, aLow, aHigh, mtime % 2 ** 32, Math.floor(mtime / 2 ** 32))
      }
      return handlers
    }

    _op_getxattr(signal: Cb, p: string, name: string, valueBuf: Buffer, position: number): void {
      const ops = (this as unknown as {ops: Record<string, Cb>}).ops
      ops.getxattr!(p, name, position, (err: number, value: Buffer) => {
        if (err) return signal(err, valueBuf.buffer)
        if (valueBuf.length === 0) return signal(value.length, valueBuf.buffer)
        if (value.length > valueBuf.length) return signal(ERANGE, valueBuf.buffer)
        value.copy(valueBuf)
        return signal(value.length, valueBuf.buffer)
      })
    }

    _op_listxattr(signal: Cb, p: string, listBuf: Buffer): void {
      const ops = (this as unknown as {ops: Record<string, Cb>}).ops
      ops.listxattr!(p, (err: number, list: string[]) => {
        if (err) return signal(err, listBuf.buffer)
        const all = Buffer.concat(list.map((n) => Buffer.from(`${n}\0`, 'utf8')))
        if (listBuf.length === 0) return signal(all.length, listBuf.buffer)
        if (all.length > listBuf.length) return signal(ERANGE, listBuf.buffer)
        all.copy(listBuf)
        return signal(all.length, listBuf.buffer)
      })
    }
  } as unknown as FuseClass
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/,/g, '\\,')

function libfuseOptions(o: MountOptions, image: string): string {
  const max = Math.min(o.maxWrite, 128 * 1024)
  const opts = [
    'use_ino',
    'big_writes',
    `max_write=${max}`,
    `max_read=${max}`,
    `fsname=${esc(o.fsname ?? image)}`,
    'subtype=razorfs',
    `attr_timeout=${o.attrTimeout}`,
    `entry_timeout=${o.attrTimeout}`,
  ]
  if (o.allowOther) opts.push('allow_other')
  if (o.defaultPermissions) opts.push('default_permissions')
  if (o.readOnly) opts.push('ro')
  opts.push(o.suid ? 'suid' : 'nosuid', o.dev ? 'dev' : 'nodev', o.exec ? 'exec' : 'noexec')
  if (o.noatime) opts.push('noatime')
  if (o.debug) opts.push('debug')
  return `-o${opts.join(',')}`
}

function statObject(st: Stat, blksize: number): Record<string, number> {
  return {
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    dev: 0,
    nlink: st.nlink,
    ino: st.ino,
    rdev: st.rdev,
    blksize,
    blocks: Math.ceil(st.allocated / 512),
    atime: st.atime.sec * 1000 + Math.floor(st.atime.nsec / 1e6),
    mtime: st.mtime.sec * 1000 + Math.floor(st.mtime.nsec / 1e6),
    ctime: st.ctime.sec * 1000 + Math.floor(st.ctime.nsec / 1e6),
  }
}

/** The path-based operations over RazorFs. */
function pathOps(razor: RazorFs, log: (m: string) => void): Record<string, unknown> {
  const img = razor.img
  const blksize = Math.min(img.info().clusterSize, 128 * 1024)
  const hidden = new Map<string, number>()
  const ctx: Ctx = {uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, pid: 0}
  const resolve = (p: string): number => hidden.get(p) ?? img.resolve(p)
  const parent = (p: string): [number, Buffer] => [
    img.resolve(path.posix.dirname(p)),
    Buffer.from(path.posix.basename(p), 'utf8'),
  ]
  /** Run fn; report its result (or errno) the way fuse-native wants: cb(0, value) or cb(-errno). */
  const wrap =
    <A extends unknown[]>(name: string, fn: (...a: A) => unknown, raw = false) =>
    (...args: [...A, Cb]) => {
      const cb = args.pop() as Cb
      try {
        const v = fn(...(args as unknown as A))
        if (raw) cb(v)
        else cb(0, v)
      } catch (e) {
        if (!isExpected(e)) log(`${name} ${String(args[0])}: ${(e as Error).message}`)
        cb(-errnoOf(e))
      }
    }
  const none = () => undefined
  return {
    init: (cb: Cb) => cb(0),
    statfs: wrap('statfs', () => {
      const s = razor.statfs()
      return {
        bsize: s.blockSize,
        frsize: s.blockSize,
        blocks: s.blocks,
        bfree: s.bfree,
        bavail: s.bavail,
        files: s.files,
        ffree: s.ffree,
        favail: s.ffree,
        fsid: 0,
        flag: 0,
        namemax: s.nameMax,
      }
    }),
    getattr: wrap('getattr', (p: string) => statObject(razor.getattr(resolve(p)), blksize)),
    access: wrap('access', (p: string, mode: number) => razor.access(resolve(p), mode, ctx)),
    readdir: wrap('readdir', (p: string) => {
      const fh = razor.opendir(resolve(p))
      try {
        const items = razor.readdir(fh, 0)
        return items.map((i) => i.name.toString('utf8'))
      } finally {
        razor.releasedir(fh)
      }
    }),
    open: wrap('open', (p: string, flags: number) => razor.open(resolve(p), flags)),
    create: wrap('create', (p: string, mode: number) => {
      const [dir, name] = parent(p)
      return razor.create(ctx, dir, name, mode, 2).fh
    }),
    read: wrap(
      'read',
      (_p: string, fh: number, buf: Buffer, len: number, pos: number) => {
        const data = razor.read(fh, pos, len)
        data.copy(buf)
        return data.length
      },
      true,
    ),
    write: wrap(
      'write',
      (_p: string, fh: number, buf: Buffer, len: number, pos: number) =>
        razor.write(fh, pos, Buffer.from(buf.subarray(0, len))),
      true,
    ),
    flush: wrap('flush', (_p: string, fh: number) => razor.flush(fh)),
    release: wrap('release', (_p: string, fh: number) => razor.release(fh)),
    fsync: wrap('fsync', (_p: string, _d: number, fh: number) => razor.fsync(fh)),
    fsyncdir: wrap('fsyncdir', () => razor.sync()),
    truncate: wrap('truncate', (p: string, size: number) => void razor.setattr(resolve(p), {size})),
    ftruncate: wrap(
      'ftruncate',
      (_p: string, fh: number, size: number) => void razor.setattr(razor.inodeOf(fh), {size}),
    ),
    utimens: wrap('utimens', (p: string, atime: number, mtime: number) => {
      const ts = (ms: number) => ({sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6})
      razor.setattr(resolve(p), {atime: ts(atime), mtime: ts(mtime)})
    }),
    readlink: wrap('readlink', (p: string) => razor.readlink(resolve(p)).toString('utf8')),
    chown: wrap('chown', (p: string, uid: number, gid: number) => {
      razor.setattr(resolve(p), {uid: uid === 0xffffffff ? undefined : uid, gid: gid === 0xffffffff ? undefined : gid})
    }),
    chmod: wrap('chmod', (p: string, mode: number) => void razor.setattr(resolve(p), {mode})),
    mknod: wrap('mknod', (p: string, mode: number, dev: number) => {
      const [dir, name] = parent(p)
      razor.mknod(ctx, dir, name, mode, dev)
    }),
    setxattr: wrap('setxattr', (p: string, name: string, value: Buffer, _pos: number, flags: number) =>
      razor.setxattr(resolve(p), name, Buffer.from(value), flags),
    ),
    getxattr: wrap('getxattr', (p: string, name: string) => {
      const v = razor.getxattr(resolve(p), name)
      if (!v) throw new FsError('ENODATA')
      return v
    }),
    listxattr: wrap('listxattr', (p: string) => razor.listxattr(resolve(p))),
    removexattr: wrap('removexattr', (p: string, name: string) => razor.removexattr(resolve(p), name)),
    unlink: wrap('unlink', (p: string) => {
      // the last close of a file libfuse hid: it is already freed
      if (hidden.delete(p)) return
      const [dir, name] = parent(p)
      razor.unlink(dir, name)
    }),
    rename: wrap('rename', (from: string, to: string) => {
      const [dir, name] = parent(from)
      const [newDir, newName] = parent(to)
      if (HIDDEN.test(newName.toString()) && img.lookup(newDir, newName) === undefined) {
        // libfuse hiding a file that is open: unlink it (it lives on as an orphan until closed)
        const ino = img.lookup(dir, name)
        if (ino === undefined) throw new FsError('ENOENT')
        razor.unlink(dir, name)
        hidden.set(to, ino)
        return
      }
      razor.rename(dir, name, newDir, newName)
    }),
    link: wrap('link', (from: string, to: string) => {
      const [dir, name] = parent(to)
      razor.link(resolve(from), dir, name)
    }),
    symlink: wrap('symlink', (target: string, p: string) => {
      const [dir, name] = parent(p)
      razor.symlink(ctx, dir, name, Buffer.from(target, 'utf8'))
    }),
    mkdir: wrap('mkdir', (p: string, mode: number) => {
      const [dir, name] = parent(p)
      razor.mkdir(ctx, dir, name, mode)
    }),
    rmdir: wrap('rmdir', (p: string) => {
      const [dir, name] = parent(p)
      razor.rmdir(dir, name)
    }),
    opendir: wrap('opendir', none),
  }
}

export async function mountLibfuse({
  image,
  mountpoint,
  razor,
  o,
  log,
}: {
  image: string
  mountpoint: string
  razor: RazorFs
  o: MountOptions
  log: (m: string) => void
}): Promise<MountedFs> {
  const Fuse = razorFuseClass(loadFuse(), libfuseOptions(o, image))
  const fuse = new Fuse(mountpoint, pathOps(razor, log), {timeout: false, force: false, mkdir: false})
  await new Promise<void>((resolve, reject) => {
    fuse.mount((err) => {
      if (!err) return resolve()
      reject(
        new MountError(
          `${mountpoint}: libfuse could not mount (${err.message}); is fusermount installed (package fuse) and ${mountpoint} an empty directory you own?`,
          'EIO',
        ),
      )
    })
  })
  let stopCommit = () => {}
  if (o.commit) {
    const timer = setInterval(() => {
      try {
        razor.sync()
      } catch (e) {
        log(`commit failed: ${(e as Error).message}`)
      }
    }, o.commit * 1000)
    stopCommit = () => clearInterval(timer)
  }
  // razorfs sync: requests are served on this thread, between FUSE operations
  let control: ControlServer | undefined
  const dev = razorMounts().find((m) => m.mountpoint === mountpoint)?.dev
  try {
    if (!dev) throw new Error(`${mountpoint} is not in /proc/self/mountinfo`)
    control = await listenControl(dev, image, async () => razor.sync())
  } catch (e) {
    log(`no control socket (razorfs sync will not reach this mount): ${(e as Error).message}`)
  }
  // libfuse does not tell fuse-native when the mount goes away: watch for it
  const closed = new Promise<void>((resolve, reject) => {
    const watch = setInterval(() => {
      if (razorMounts().some((m) => m.mountpoint === mountpoint)) return
      clearInterval(watch)
      stopCommit()
      control?.close()
      try {
        razor.close()
        resolve()
      } catch (e) {
        reject(e as Error)
      }
    }, 250)
  })
  return {
    image,
    mountpoint,
    backend: 'libfuse',
    recovery: razor.img.recovery,
    closed,
    unmount: () => unmount(mountpoint),
  }
}
