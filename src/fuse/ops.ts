// Over 400 lines: one class, one small method per FUSE operation (~40 of them), the table the transports call; split, a reader would lose the one list of operations.
/**
 * The filesystem behind a mount, by inode number: one small method per FUSE
 * operation, each translating to Image calls (the only implementation of
 * every operation is the Image's). Transports (kernel.ts speaks the kernel's
 * FUSE protocol, libfuse.ts goes through fuse-native) decode requests, call
 * these methods, and turn whatever they throw into an errno with errnoOf().
 *
 * What lives here and not in the core: open-file handles (an open file holds
 * its inode, so unlinking it makes an orphan instead of freeing it),
 * write-back buffers (writeback.ts), per-handle directory listings, the
 * periodic commit, atime (relatime), and the POSIX details the kernel leaves
 * to a filesystem (setgid directories, rename flags, xattr create/replace).
 */
import {
  Image,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  newEntryAttrs,
  type DirEntry,
  type NewEntryAttrs,
  type FileType,
  type Stat,
  type Timespec,
} from '../core/index.js'
import {FsError} from './errno.js'
import {wallClock, WriteBack, type WriteBackLimits} from './writeback.js'

/** Who is asking (from the request header). */
export interface Ctx {
  uid: number
  gid: number
  pid: number
}

export interface RazorFsOptions {
  /** Never change atime (else relatime: only when older than mtime/ctime or a day). */
  noatime?: boolean
  writeBack?: WriteBackLimits
  /** Commit at every close(2) (FLUSH) of a file, before close returns (-o sync_on_close). */
  syncOnClose?: boolean
}

/** Changes of a setattr; 'now' is the kernel's UTIME_NOW. */
export interface SetAttr {
  mode?: number
  uid?: number
  gid?: number
  size?: number
  atime?: Timespec | 'now'
  mtime?: Timespec | 'now'
  ctime?: Timespec
}

export interface StatFs {
  blockSize: number
  blocks: number
  bfree: number
  bavail: number
  files: number
  ffree: number
  nameMax: number
}

/** One readdir entry; `offset` is the cookie of the entry after it. */
export interface DirItem {
  name: Buffer
  ino: number
  type: FileType
  offset: number
}

interface FileHandle {
  kind: 'file'
  ino: number
  flags: number
  /** A regular file (write(2) on anything else is EINVAL). */
  regular: boolean
}

interface DirHandle {
  kind: 'dir'
  ino: number
  entries?: DirItem[]
}

type Handle = FileHandle | DirHandle

export const O_ACCMODE = 3
export const O_WRONLY = 1
export const O_RDWR = 2
export const O_TRUNC = 0o1000
const RENAME_NOREPLACE = 1
const RENAME_EXCHANGE = 2
const XATTR_CREATE = 1
const XATTR_REPLACE = 2
const SEEK_DATA = 3
const SEEK_HOLE = 4
const DAY = 86400

const TYPE_BITS: Record<FileType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  chardev: 0o020000,
  blockdev: 0o060000,
  fifo: 0o010000,
  socket: 0o140000,
}

/** st_mode type bits of a directory entry type. */
export function typeBits(t: FileType): number {
  return TYPE_BITS[t]
}

const before = (a: Timespec, b: Timespec): boolean => a.sec < b.sec || (a.sec === b.sec && a.nsec <= b.nsec)

export class RazorFs {
  readonly img: Image
  readonly readOnly: boolean
  private readonly noatime: boolean
  private readonly syncOnClose: boolean
  private readonly wb: WriteBack
  private readonly handles = new Map<number, Handle>()
  /** Open file handles per inode. */
  private readonly openCount = new Map<number, number>()
  private nextFh = 1
  /** Extended attribute names per inode (ls -l asks every file for two it almost never has). */
  private readonly xattrNames = new Map<number, string[]>()

  constructor(img: Image, opts: RazorFsOptions = {}) {
    this.img = img
    this.readOnly = img.readOnly
    this.noatime = Boolean(opts.noatime)
    this.syncOnClose = Boolean(opts.syncOnClose)
    this.wb = new WriteBack(img, opts.writeBack)
  }

  // ---- helpers ------------------------------------------------------------

  private writable(): void {
    if (this.readOnly) throw new FsError('EROFS')
  }

  private handle(fh: number): Handle {
    const h = this.handles.get(fh)
    if (!h) throw new FsError('EBADF', `no open file handle ${fh}`)
    return h
  }

  private fileHandle(fh: number): FileHandle {
    const h = this.handle(fh)
    if (h.kind !== 'file') throw new FsError('EISDIR')
    return h
  }

  private dirHandle(fh: number): DirHandle {
    const h = this.handle(fh)
    if (h.kind !== 'dir') throw new FsError('ENOTDIR')
    return h
  }

  private newHandle(h: Handle): number {
    const fh = this.nextFh++
    this.handles.set(fh, h)
    return fh
  }

  /** Owner and mode of a new inode in `parent`: the core's rule (setgid directories pass on their group). */
  private ownership(ctx: Ctx, parent: number, mode: number): NewEntryAttrs {
    return newEntryAttrs(this.img.stat(parent), ctx, mode)
  }

  /** relatime: update atime when it is not after mtime/ctime, or a day old. */
  private touchAtime(ino: number): void {
    if (this.noatime || this.readOnly) return
    const st = this.img.stat(ino)
    const now = wallClock()
    if (before(st.atime, st.mtime) || before(st.atime, st.ctime) || now.sec - st.atime.sec >= DAY)
      this.img.setattr(ino, {atime: now, ctime: st.ctime})
  }

  // ---- attributes -----------------------------------------------------------

  /** stat, with what the write-back buffers will add. */
  getattr(ino: number): Stat {
    const st = this.img.stat(ino)
    const o = this.wb.overlay(ino)
    if (o) {
      st.size = Math.max(st.size, o.end)
      st.mtime = o.time
      st.ctime = o.time
    }
    return st
  }

  lookup(parent: number, name: Buffer): Stat | undefined {
    const ino = this.img.lookup(parent, name)
    return ino === undefined ? undefined : this.getattr(ino)
  }

  setattr(ino: number, a: SetAttr): Stat {
    this.writable()
    this.wb.flush(ino)
    if (a.size !== undefined) {
      const st = this.img.stat(ino)
      if ((st.mode & S_IFMT) === S_IFDIR) throw new FsError('EISDIR')
      if ((st.mode & S_IFMT) !== S_IFREG) throw new FsError('EINVAL')
      this.img.truncate(ino, a.size)
    }
    const now = wallClock()
    const attrs: Parameters<Image['setattr']>[1] = {}
    if (a.mode !== undefined) attrs.mode = a.mode & 0o7777
    if (a.uid !== undefined) attrs.uid = a.uid
    if (a.gid !== undefined) attrs.gid = a.gid
    if (a.atime !== undefined) attrs.atime = a.atime === 'now' ? now : a.atime
    if (a.mtime !== undefined) attrs.mtime = a.mtime === 'now' ? now : a.mtime
    if (a.ctime !== undefined) attrs.ctime = a.ctime
    if (Object.keys(attrs).length) this.img.setattr(ino, attrs)
    return this.getattr(ino)
  }

  readlink(ino: number): Buffer {
    return this.img.readlink(ino)
  }

  access(ino: number, mask: number, ctx: Ctx): void {
    const st = this.img.stat(ino)
    if (mask === 0) return
    if (mask & 2 && this.readOnly) throw new FsError('EROFS')
    if (ctx.uid === 0) {
      // root may do anything but execute a file no one may execute
      if (mask & 1 && (st.mode & S_IFMT) !== S_IFDIR && (st.mode & 0o111) === 0) throw new FsError('EACCES')
      return
    }
    const bits = ctx.uid === st.uid ? (st.mode >> 6) & 7 : ctx.gid === st.gid ? (st.mode >> 3) & 7 : st.mode & 7
    if ((bits & mask) !== mask) throw new FsError('EACCES')
  }

  statfs(): StatFs {
    const i = this.img.info()
    return {
      blockSize: i.blockSize,
      blocks: i.blocks,
      bfree: i.freeBlocks,
      bavail: i.freeBlocks,
      files: i.inodeCount + i.freeBlocks,
      ffree: i.freeBlocks,
      nameMax: 255,
    }
  }

  // ---- names ------------------------------------------------------------------

  mknod(ctx: Ctx, parent: number, name: Buffer, mode: number, rdev: number): Stat {
    this.writable()
    if ((mode & S_IFMT) === 0) mode |= S_IFREG
    const o = this.ownership(ctx, parent, mode)
    return this.getattr(this.img.create(parent, name, {mode: o.mode, uid: o.uid, gid: o.gid, rdev}))
  }

  mkdir(ctx: Ctx, parent: number, name: Buffer, mode: number): Stat {
    this.writable()
    const o = this.ownership(ctx, parent, S_IFDIR | (mode & 0o7777))
    return this.getattr(this.img.mkdir(parent, name, {mode: o.mode & 0o7777, uid: o.uid, gid: o.gid}))
  }

  symlink(ctx: Ctx, parent: number, name: Buffer, target: Buffer): Stat {
    this.writable()
    const o = this.ownership(ctx, parent, S_IFLNK | 0o777)
    return this.getattr(this.img.symlink(parent, name, target, {uid: o.uid, gid: o.gid}))
  }

  link(ino: number, newParent: number, newName: Buffer): Stat {
    this.writable()
    this.img.link(ino, newParent, newName)
    return this.getattr(ino)
  }

  unlink(parent: number, name: Buffer): void {
    this.writable()
    const ino = this.img.lookup(parent, name)
    this.img.unlink(parent, name)
    // a file freed right away (not open) takes its buffers with it
    if (ino !== undefined && this.wb.has(ino) && !this.openCount.has(ino) && !this.exists(ino)) this.wb.discard(ino)
  }

  rmdir(parent: number, name: Buffer): void {
    this.writable()
    this.img.rmdir(parent, name)
  }

  rename(parent: number, name: Buffer, newParent: number, newName: Buffer, flags = 0): void {
    this.writable()
    if (flags & RENAME_EXCHANGE) throw new FsError('EINVAL', 'RENAME_EXCHANGE is not supported')
    if (flags & ~RENAME_NOREPLACE) throw new FsError('EINVAL', `rename flags ${flags} not supported`)
    const replaced = this.img.lookup(newParent, newName)
    if (flags & RENAME_NOREPLACE && replaced !== undefined) throw new FsError('EEXIST')
    this.img.rename(parent, name, newParent, newName)
    if (replaced !== undefined && this.wb.has(replaced) && !this.openCount.has(replaced) && !this.exists(replaced))
      this.wb.discard(replaced)
  }

  private exists(ino: number): boolean {
    try {
      this.img.stat(ino)
      return true
    } catch {
      return false
    }
  }

  // ---- files ----------------------------------------------------------------

  open(ino: number, flags: number): number {
    const st = this.img.stat(ino)
    if ((st.mode & S_IFMT) === S_IFDIR) throw new FsError('EISDIR')
    const acc = flags & O_ACCMODE
    if (acc !== 0 && this.readOnly) throw new FsError('EROFS')
    if (flags & O_TRUNC && acc !== 0 && (st.mode & S_IFMT) === S_IFREG) {
      this.wb.flush(ino)
      this.img.truncate(ino, 0)
    }
    this.img.hold(ino)
    this.openCount.set(ino, (this.openCount.get(ino) ?? 0) + 1)
    return this.newHandle({kind: 'file', ino, flags, regular: (st.mode & S_IFMT) === S_IFREG})
  }

  create(ctx: Ctx, parent: number, name: Buffer, mode: number, flags: number): {stat: Stat; fh: number} {
    this.writable()
    const o = this.ownership(ctx, parent, S_IFREG | (mode & 0o7777))
    const ino = this.img.create(parent, name, {mode: o.mode, uid: o.uid, gid: o.gid})
    const fh = this.open(ino, flags & ~O_TRUNC)
    return {stat: this.getattr(ino), fh}
  }

  /** The inode an open handle is on. */
  inodeOf(fh: number): number {
    return this.handle(fh).ino
  }

  read(fh: number, offset: number, size: number): Buffer {
    const h = this.fileHandle(fh)
    this.wb.flush(h.ino)
    const data = this.img.read(h.ino, offset, size)
    this.touchAtime(h.ino)
    return data
  }

  write(fh: number, offset: number, data: Buffer): number {
    this.writable()
    const h = this.fileHandle(fh)
    if (!h.regular) throw new FsError('EINVAL')
    this.wb.write(h.ino, offset, data)
    return data.length
  }

  /** close(2) of one descriptor: write the buffers, so that errors reach close. */
  flush(fh: number): void {
    const h = this.handle(fh)
    if (h.kind !== 'file' || this.readOnly) return
    this.wb.flush(h.ino)
    // -o sync_on_close: close(2) waits for FLUSH (not for RELEASE), so commit here
    if (this.syncOnClose && this.img.uncommitted) this.img.flush()
  }

  release(fh: number): void {
    const h = this.fileHandle(fh)
    this.handles.delete(fh)
    const n = (this.openCount.get(h.ino) ?? 1) - 1
    try {
      if (n > 0) this.openCount.set(h.ino, n)
      else {
        this.openCount.delete(h.ino)
        if (!this.readOnly) {
          // an orphan's data goes with it; else write it (a failure keeps the buffers for the next commit)
          if (this.img.stat(h.ino).nlink === 0) this.wb.discard(h.ino)
          else this.wb.flush(h.ino)
        }
      }
    } finally {
      this.img.release(h.ino)
    }
  }

  /** fsync and fdatasync: durable when this returns. */
  fsync(fh: number): void {
    const h = this.handle(fh)
    if (this.readOnly) return
    if (h.kind === 'file') this.wb.flush(h.ino)
    this.img.flush()
  }

  /**
   * fallocate(2), every mode Image.fallocate offers (ext4's results). The
   * inode's write-back buffers are written first, so the operation sees the
   * file as the caller does (a size taken before them cut files short).
   */
  fallocate(fh: number, offset: number, length: number, mode: number): void {
    this.writable()
    const h = this.fileHandle(fh)
    const st = this.img.stat(h.ino)
    if ((st.mode & S_IFMT) !== S_IFREG) throw new FsError('ENODEV')
    this.wb.flush(h.ino)
    this.img.fallocate(h.ino, offset, length, mode)
  }

  /** SEEK_DATA / SEEK_HOLE over the file's extents. */
  lseek(fh: number, offset: number, whence: number): number {
    const h = this.fileHandle(fh)
    if (whence !== SEEK_DATA && whence !== SEEK_HOLE) throw new FsError('EINVAL')
    this.wb.flush(h.ino)
    const size = this.img.stat(h.ino).size
    if (offset >= size) throw new FsError('ENXIO')
    const ext = this.img.extents(h.ino)
    if (whence === SEEK_DATA) {
      for (const e of ext) if (e.offset + e.length > offset) return Math.max(offset, e.offset)
      throw new FsError('ENXIO')
    }
    let pos = offset
    for (const e of ext) {
      if (e.offset + e.length <= pos) continue
      if (e.offset > pos) return pos
      pos = e.offset + e.length
    }
    return Math.min(pos, size)
  }

  // ---- directories --------------------------------------------------------------

  opendir(ino: number): number {
    const st = this.img.stat(ino)
    if ((st.mode & S_IFMT) !== S_IFDIR) throw new FsError('ENOTDIR')
    return this.newHandle({kind: 'dir', ino})
  }

  /**
   * Entries from cookie `offset` on ('.' and '..' first). The listing is read
   * once per handle (and again at offset 0, as rewinddir expects), so a
   * directory of n entries costs O(n) however many calls list it.
   */
  readdir(fh: number, offset: number): DirItem[] {
    const h = this.dirHandle(fh)
    if (!h.entries || offset === 0) {
      const st = this.img.stat(h.ino)
      const list: DirEntry[] = this.img.readdir(h.ino)
      const items: DirItem[] = [
        {name: Buffer.from('.'), ino: h.ino, type: 'dir', offset: 1},
        {name: Buffer.from('..'), ino: st.parent, type: 'dir', offset: 2},
      ]
      for (let i = 0; i < list.length; i++)
        items.push({name: list[i]!.name, ino: list[i]!.ino, type: list[i]!.type, offset: i + 3})
      h.entries = items
      this.touchAtime(h.ino)
    }
    return offset < h.entries.length ? h.entries.slice(offset) : []
  }

  releasedir(fh: number): void {
    this.dirHandle(fh)
    this.handles.delete(fh)
  }

  fsyncdir(fh: number): void {
    this.dirHandle(fh)
    if (!this.readOnly) this.img.flush()
  }

  // ---- extended attributes ----------------------------------------------------------

  setxattr(ino: number, name: string, value: Buffer, flags: number): void {
    this.writable()
    if (name.startsWith('system.')) throw new FsError('EOPNOTSUPP', 'system.* attributes (ACLs) are not supported')
    if (!/^(user|trusted|security)\./.test(name))
      throw new FsError('EOPNOTSUPP', `unknown attribute namespace in '${name}'`)
    if (flags & (XATTR_CREATE | XATTR_REPLACE)) {
      const exists = this.img.listXattrs(ino).includes(name)
      if (flags & XATTR_CREATE && exists) throw new FsError('EEXIST')
      if (flags & XATTR_REPLACE && !exists) throw new FsError('ENODATA')
    }
    this.xattrNames.delete(ino)
    this.img.setXattr(ino, name, value)
  }

  /** The value, or undefined (ENODATA): most lookups miss (ls -l asks for ACLs and SELinux labels of every file). */
  getxattr(ino: number, name: string): Buffer | undefined {
    if (!/^(user|trusted|security|system)\./.test(name)) throw new FsError('EOPNOTSUPP')
    if (!this.listxattr(ino).includes(name)) return undefined
    return this.img.getXattr(ino, name)
  }

  listxattr(ino: number): string[] {
    let names = this.xattrNames.get(ino)
    if (!names) {
      names = this.img.listXattrs(ino)
      if (this.xattrNames.size >= 100000) this.xattrNames.clear()
      this.xattrNames.set(ino, names)
    }
    return names
  }

  removexattr(ino: number, name: string): void {
    this.writable()
    this.xattrNames.delete(ino)
    try {
      this.img.removeXattr(ino, name)
    } catch (e) {
      if ((e as {code?: string}).code === 'EINVAL') throw new FsError('EOPNOTSUPP')
      throw e
    }
  }

  // ---- the whole filesystem -------------------------------------------------------------

  /** Whether anything is waiting to be committed. */
  get buffered(): number {
    return this.wb.bytes
  }

  /** Write every buffer and commit: what syncfs and the periodic commit do. */
  sync(): void {
    if (this.readOnly) return
    try {
      this.wb.flushAll()
    } finally {
      // what could be written is committed even when some buffer could not be (ENOSPC)
      this.img.flush()
    }
  }

  /** Write everything, free open orphans, mark the image clean and close it. */
  close(): void {
    try {
      if (!this.readOnly) this.wb.flushAll()
    } finally {
      this.img.close()
    }
  }
}
