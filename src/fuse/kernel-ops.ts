/**
 * The operation table of the kernel transport: one small function per
 * opcode that decodes the request (at the offsets abi.ts declares), calls
 * RazorFs and answers through the Session (kernel.ts); anything thrown
 * becomes the errno errnoOf() gives.
 */
import type {Stat} from '../core/index.js'
import {errnoNumber} from './errno.js'
import type {Ctx, RazorFs, SetAttr} from './ops.js'
import {
  FATTR_ATIME,
  FATTR_ATIME_NOW,
  FATTR_CTIME,
  FATTR_GID,
  FATTR_MODE,
  FATTR_MTIME,
  FATTR_MTIME_NOW,
  FATTR_SIZE,
  FATTR_UID,
  FOPEN_KEEP_CACHE,
  fuseAccessIn,
  fuseBatchForgetIn,
  fuseCreateIn,
  fuseFallocateIn,
  fuseForgetIn,
  fuseForgetOne,
  fuseGetattrIn,
  fuseGetxattrIn,
  fuseLinkIn,
  fuseLseekIn,
  fuseLseekOut,
  fuseMkdirIn,
  fuseMknodIn,
  fuseOpenIn,
  fuseReadIn,
  fuseRename2In,
  fuseRenameIn,
  fuseSetattrIn,
  fuseSetxattrIn,
  fuseStatfsOut,
  fuseWriteIn,
  fuseWriteOut,
  FUSE_GETATTR_FH,
  Op,
} from './abi.js'
import {cstr, devFromKernel, readTime, u64, u64at} from './kernel-fields.js'

/** One request as read from the device. */
export interface Request {
  opcode: number
  unique: bigint
  nodeid: number
  ctx: Ctx
  /** The bytes after the header. */
  body: Buffer
}

/** What the handlers answer through: the session on the device (KernelSession in kernel.ts). */
export interface Session {
  readonly fs: RazorFs
  ok(r: Request, ...parts: Buffer[]): void
  error(r: Request, errno: number): void
  /** A fuse_entry_out for `st`, or a negative entry. */
  entry(st: Stat | undefined): Buffer
  /** A fuse_attr_out. */
  attr(st: Stat): Buffer
  /** getxattr/listxattr: the size when asked for 0 bytes, ERANGE when the buffer is too small. */
  sized(r: Request, size: number, value: Buffer): void
  /** A fuse_open_out. */
  openOut(fh: number, flags: number): Buffer
  init(r: Request): void
  destroy(r: Request): void
  /** The kernel dropped `n` lookups of `ino`. */
  forget(ino: number, n: number): void
  readdir(r: Request, plus: boolean): void
}

type Handler = (s: Session, r: Request) => void

const name0 = (r: Request): Buffer => cstr(r.body, 0)[0]

const SA = fuseSetattrIn.offsets

function setattrFrom(b: Buffer): SetAttr {
  const valid = b.readUInt32LE(SA.valid)
  const a: SetAttr = {}
  if (valid & FATTR_MODE) a.mode = b.readUInt32LE(SA.mode)
  if (valid & FATTR_UID) a.uid = b.readUInt32LE(SA.uid)
  if (valid & FATTR_GID) a.gid = b.readUInt32LE(SA.gid)
  if (valid & FATTR_SIZE) a.size = u64at(b, SA.size)
  if (valid & FATTR_ATIME_NOW) a.atime = 'now'
  else if (valid & FATTR_ATIME) a.atime = readTime(b, SA.atime, SA.atimensec)
  if (valid & FATTR_MTIME_NOW) a.mtime = 'now'
  else if (valid & FATTR_MTIME) a.mtime = readTime(b, SA.mtime, SA.mtimensec)
  if (valid & FATTR_CTIME) a.ctime = readTime(b, SA.ctime, SA.ctimensec)
  return a
}

// the offsets every handler reads; `fh` is at 0 in every request on an open file or directory
const FH = fuseReadIn.offsets.fh
const READ = fuseReadIn.offsets
const WRITE = fuseWriteIn.offsets
const CREATE = fuseCreateIn.offsets
const MKNOD = fuseMknodIn.offsets
const RENAME2 = fuseRename2In.offsets
const SETXATTR = fuseSetxattrIn.offsets
const FALLOCATE = fuseFallocateIn.offsets
const LSEEK = fuseLseekIn.offsets
const STATFS = fuseStatfsOut.offsets
const FORGET_ONE = fuseForgetOne.offsets

export const OPS: Record<number, Handler> = {
  [Op.INIT]: (s, r) => s.init(r),
  [Op.DESTROY]: (s, r) => s.destroy(r),
  [Op.FORGET]: (s, r) => s.forget(r.nodeid, u64at(r.body, fuseForgetIn.offsets.nlookup)),
  [Op.BATCH_FORGET]: (s, r) => {
    const count = r.body.readUInt32LE(fuseBatchForgetIn.offsets.count)
    for (let i = 0; i < count; i++) {
      const at = fuseBatchForgetIn.size + i * fuseForgetOne.size
      if (at + fuseForgetOne.size > r.body.length) break
      s.forget(u64at(r.body, at + FORGET_ONE.nodeid), u64at(r.body, at + FORGET_ONE.nlookup))
    }
  },
  [Op.INTERRUPT]: () => {},
  // the kernel's answer to wakeSession(): nothing to do, and no reply
  [Op.NOTIFY_REPLY]: () => {},
  [Op.LOOKUP]: (s, r) => s.ok(r, s.entry(s.fs.lookup(r.nodeid, name0(r)))),
  [Op.GETATTR]: (s, r) => {
    const flags = r.body.readUInt32LE(fuseGetattrIn.offsets.getattr_flags)
    const ino = flags & FUSE_GETATTR_FH ? s.fs.inodeOf(u64at(r.body, fuseGetattrIn.offsets.fh)) : r.nodeid
    s.ok(r, s.attr(s.fs.getattr(ino)))
  },
  [Op.SETATTR]: (s, r) => s.ok(r, s.attr(s.fs.setattr(r.nodeid, setattrFrom(r.body)))),
  [Op.READLINK]: (s, r) => s.ok(r, s.fs.readlink(r.nodeid)),
  [Op.SYMLINK]: (s, r) => {
    const [name, at] = cstr(r.body, 0)
    const [target] = cstr(r.body, at)
    s.ok(r, s.entry(s.fs.symlink(r.ctx, r.nodeid, name, target)))
  },
  [Op.MKNOD]: (s, r) => {
    const name = cstr(r.body, fuseMknodIn.size)[0]
    const rdev = devFromKernel(r.body.readUInt32LE(MKNOD.rdev))
    s.ok(r, s.entry(s.fs.mknod(r.ctx, r.nodeid, name, r.body.readUInt32LE(MKNOD.mode), rdev)))
  },
  [Op.MKDIR]: (s, r) => {
    const mode = r.body.readUInt32LE(fuseMkdirIn.offsets.mode)
    s.ok(r, s.entry(s.fs.mkdir(r.ctx, r.nodeid, cstr(r.body, fuseMkdirIn.size)[0], mode)))
  },
  [Op.UNLINK]: (s, r) => {
    s.fs.unlink(r.nodeid, name0(r))
    s.ok(r)
  },
  [Op.RMDIR]: (s, r) => {
    s.fs.rmdir(r.nodeid, name0(r))
    s.ok(r)
  },
  [Op.RENAME]: (s, r) => {
    const [from, at] = cstr(r.body, fuseRenameIn.size)
    s.fs.rename(r.nodeid, from, u64at(r.body, fuseRenameIn.offsets.newdir), cstr(r.body, at)[0])
    s.ok(r)
  },
  [Op.RENAME2]: (s, r) => {
    const [from, at] = cstr(r.body, fuseRename2In.size)
    const flags = r.body.readUInt32LE(RENAME2.flags)
    s.fs.rename(r.nodeid, from, u64at(r.body, RENAME2.newdir), cstr(r.body, at)[0], flags)
    s.ok(r)
  },
  [Op.LINK]: (s, r) =>
    s.ok(
      r,
      s.entry(s.fs.link(u64at(r.body, fuseLinkIn.offsets.oldnodeid), r.nodeid, cstr(r.body, fuseLinkIn.size)[0])),
    ),
  [Op.OPEN]: (s, r) =>
    s.ok(r, s.openOut(s.fs.open(r.nodeid, r.body.readUInt32LE(fuseOpenIn.offsets.flags)), FOPEN_KEEP_CACHE)),
  [Op.CREATE]: (s, r) => {
    const flags = r.body.readUInt32LE(CREATE.flags)
    const mode = r.body.readUInt32LE(CREATE.mode)
    const {stat, fh} = s.fs.create(r.ctx, r.nodeid, cstr(r.body, fuseCreateIn.size)[0], mode, flags)
    s.ok(r, s.entry(stat), s.openOut(fh, FOPEN_KEEP_CACHE))
  },
  [Op.READ]: (s, r) =>
    s.ok(r, s.fs.read(u64at(r.body, READ.fh), u64at(r.body, READ.offset), r.body.readUInt32LE(READ.size))),
  [Op.WRITE]: (s, r) => {
    const size = r.body.readUInt32LE(WRITE.size)
    const data = r.body.subarray(fuseWriteIn.size, fuseWriteIn.size + size)
    const n = s.fs.write(u64at(r.body, WRITE.fh), u64at(r.body, WRITE.offset), data)
    const out = Buffer.alloc(fuseWriteOut.size)
    out.writeUInt32LE(n, fuseWriteOut.offsets.size)
    s.ok(r, out)
  },
  [Op.STATFS]: (s, r) => {
    const st = s.fs.statfs()
    const b = Buffer.alloc(fuseStatfsOut.size)
    u64(b, STATFS.blocks, st.blocks)
    u64(b, STATFS.bfree, st.bfree)
    u64(b, STATFS.bavail, st.bavail)
    u64(b, STATFS.files, st.files)
    u64(b, STATFS.ffree, st.ffree)
    b.writeUInt32LE(st.blockSize, STATFS.bsize)
    b.writeUInt32LE(st.nameMax, STATFS.namelen)
    b.writeUInt32LE(st.blockSize, STATFS.frsize)
    s.ok(r, b)
  },
  [Op.RELEASE]: (s, r) => {
    s.fs.release(u64at(r.body, FH))
    s.ok(r)
  },
  [Op.FLUSH]: (s, r) => {
    s.fs.flush(u64at(r.body, FH))
    s.ok(r)
  },
  [Op.FSYNC]: (s, r) => {
    s.fs.fsync(u64at(r.body, FH))
    s.ok(r)
  },
  [Op.OPENDIR]: (s, r) => s.ok(r, s.openOut(s.fs.opendir(r.nodeid), 0)),
  [Op.READDIR]: (s, r) => s.readdir(r, false),
  [Op.READDIRPLUS]: (s, r) => s.readdir(r, true),
  [Op.RELEASEDIR]: (s, r) => {
    s.fs.releasedir(u64at(r.body, FH))
    s.ok(r)
  },
  [Op.FSYNCDIR]: (s, r) => {
    s.fs.fsyncdir(u64at(r.body, FH))
    s.ok(r)
  },
  [Op.SYNCFS]: (s, r) => {
    s.fs.sync()
    s.ok(r)
  },
  [Op.ACCESS]: (s, r) => {
    s.fs.access(r.nodeid, r.body.readUInt32LE(fuseAccessIn.offsets.mask), r.ctx)
    s.ok(r)
  },
  [Op.SETXATTR]: (s, r) => {
    const size = r.body.readUInt32LE(SETXATTR.size)
    const flags = r.body.readUInt32LE(SETXATTR.flags)
    const [name, at] = cstr(r.body, fuseSetxattrIn.size)
    s.fs.setxattr(r.nodeid, name.toString('utf8'), Buffer.from(r.body.subarray(at, at + size)), flags)
    s.ok(r)
  },
  [Op.GETXATTR]: (s, r) => {
    const size = r.body.readUInt32LE(fuseGetxattrIn.offsets.size)
    const value = s.fs.getxattr(r.nodeid, cstr(r.body, fuseGetxattrIn.size)[0].toString('utf8'))
    if (value) s.sized(r, size, value)
    else s.error(r, errnoNumber('ENODATA'))
  },
  [Op.LISTXATTR]: (s, r) => {
    const size = r.body.readUInt32LE(fuseGetxattrIn.offsets.size)
    const names = s.fs.listxattr(r.nodeid)
    s.sized(r, size, Buffer.concat(names.map((n) => Buffer.from(`${n}\0`, 'utf8'))))
  },
  [Op.REMOVEXATTR]: (s, r) => {
    s.fs.removexattr(r.nodeid, name0(r).toString('utf8'))
    s.ok(r)
  },
  [Op.FALLOCATE]: (s, r) => {
    const b = r.body
    const mode = b.readUInt32LE(FALLOCATE.mode)
    s.fs.fallocate(u64at(b, FALLOCATE.fh), u64at(b, FALLOCATE.offset), u64at(b, FALLOCATE.length), mode)
    s.ok(r)
  },
  [Op.LSEEK]: (s, r) => {
    const out = Buffer.alloc(fuseLseekOut.size)
    const to = s.fs.lseek(u64at(r.body, LSEEK.fh), u64at(r.body, LSEEK.offset), r.body.readUInt32LE(LSEEK.whence))
    u64(out, fuseLseekOut.offsets.offset, to)
    s.ok(r, out)
  },
}
