/**
 * The namespace (e2fsprogs' link/unlink/mkdir): creating inodes under a name,
 * hard links, removing names and directories, and rename. Freeing what a
 * removed name leaves is unlinked.ts's part.
 */
import {fail} from '../errors.js'
import {addEntry, isEmptyDir, lookupEntry, removeEntry, replaceEntry, validName} from '../fs/directory.js'
import {writeData} from '../fs/file-data.js'
import {fileTypeOfMode, newInode as newInodeRecord, setTime, writeInode} from '../fs/inode-table.js'
import {ftypeCode} from '../format/dirent.js'
import {ROOT_INO} from '../format/inode.js'
import {S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, type InodeAttrs} from '../types.js'
import type {ImageState} from './state.js'
import {reserve} from './transaction.js'
import {destroy, dropLink, settle} from './unlinked.js'

const SYMLINK_MAX = 4095
const NLINK_MAX = 0xffffffff

const asName = (n: string | Buffer): Buffer => validName(typeof n === 'string' ? Buffer.from(n, 'utf8') : n)

/** A device number the inode record can hold (FORMAT.md: u64 fields below 2^53, so majors below 2^21). */
export function storableRdev(rdev: number): number {
  if (!Number.isSafeInteger(rdev) || rdev < 0)
    throw fail(
      'ERANGE',
      `device number ${rdev} cannot be stored: RAZORFS holds device numbers below 2^53 (major below 2^21)`,
    )
  return rdev
}

function newInode(s: ImageState, dir: number, name: Buffer, mode: number, attrs: InodeAttrs): number {
  s.assertWritable()
  s.dirInode(dir)
  reserve(s, 0)
  if (lookupEntry(s.v, dir, name)) throw fail('EEXIST', `'${name}' exists`, {ino: dir})
  const t = s.clock()
  const {sb} = s.v
  const ino = sb.nextIno
  const rec = newInodeRecord(mode, t, sb.generation)
  rec.uid = attrs.uid ?? 0
  rec.gid = attrs.gid ?? 0
  rec.rdev = storableRdev(attrs.rdev ?? 0)
  rec.flags = attrs.flags ?? 0
  for (const w of ['atime', 'mtime', 'ctime', 'crtime'] as const) if (attrs[w]) setTime(rec, w, attrs[w]!)
  const isDir = (mode & S_IFMT) === S_IFDIR
  if (isDir) {
    rec.nlink = 2
    rec.parent = dir
  }
  writeInode(s.v, ino, rec)
  addEntry(s.v, dir, name, ino, ftypeCode(fileTypeOfMode(mode)!))
  s.touchDir(dir, 1, t, isDir ? 1 : 0)
  sb.nextIno++
  sb.inodeCount++
  settle(s)
  return ino
}

/** Create a file, device node, fifo or socket (by the type bits of mode; none means a regular file). */
export function create(s: ImageState, dir: number, name: string | Buffer, attrs: InodeAttrs): number {
  let mode = attrs.mode ?? 0o644
  if ((mode & S_IFMT) === 0) mode |= S_IFREG
  const type = fileTypeOfMode(mode)
  if (!type) throw fail('EINVAL', `invalid mode 0${mode.toString(8)}`)
  if (type === 'dir' || type === 'symlink')
    throw fail('EINVAL', `use ${type === 'dir' ? 'mkdir' : 'symlink'} to create a ${type}`)
  return newInode(s, dir, asName(name), mode, attrs)
}

export function mkdir(s: ImageState, dir: number, name: string | Buffer, attrs: InodeAttrs): number {
  return newInode(s, dir, asName(name), S_IFDIR | ((attrs.mode ?? 0o755) & 0o7777), attrs)
}

export function symlink(
  s: ImageState,
  dir: number,
  name: string | Buffer,
  target: string | Buffer,
  attrs: InodeAttrs,
): number {
  const t = typeof target === 'string' ? Buffer.from(target, 'utf8') : target
  if (t.length === 0 || t.length > SYMLINK_MAX)
    throw fail(
      t.length ? 'ENAMETOOLONG' : 'ENOENT',
      `symlink target of ${t.length} bytes (1 to ${SYMLINK_MAX} allowed)`,
    )
  if (t.includes(0)) throw fail('EINVAL', 'symlink target contains NUL')
  const ino = newInode(s, dir, asName(name), S_IFLNK | 0o777, attrs)
  s.modify(ino, (rec) => writeData(s.v, ino, rec, 0, t))
  return ino
}

export function link(s: ImageState, ino: number, dir: number, name: string | Buffer): void {
  s.assertWritable()
  const n = asName(name)
  const rec = s.inode(ino)
  if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EINVAL', 'hard links to directories are not allowed', {ino})
  if (rec.nlink >= NLINK_MAX) throw fail('EMLINK', `inode ${ino} has too many links`, {ino})
  if (rec.nlink === 0) throw fail('ENOENT', `inode ${ino} has been removed`, {ino})
  s.dirInode(dir)
  const t = s.clock()
  addEntry(s.v, dir, n, ino, ftypeCode(fileTypeOfMode(rec.mode)!))
  s.modify(ino, (r) => {
    r.nlink++
    setTime(r, 'ctime', t)
  })
  s.touchDir(dir, 1, t)
  settle(s)
}

export function unlink(s: ImageState, dir: number, name: string | Buffer): void {
  s.assertWritable()
  const n = asName(name)
  s.dirInode(dir)
  const e = lookupEntry(s.v, dir, n)
  if (!e) throw fail('ENOENT', `'${n}' not found`, {ino: dir})
  const rec = s.inode(e.ino)
  if ((rec.mode & S_IFMT) === S_IFDIR) throw fail('EISDIR', `'${n}' is a directory`, {ino: e.ino})
  const t = s.clock()
  removeEntry(s.v, dir, n)
  s.touchDir(dir, -1, t)
  dropLink(s, e.ino, t)
  settle(s)
}

export function rmdir(s: ImageState, dir: number, name: string | Buffer): void {
  s.assertWritable()
  const n = asName(name)
  s.dirInode(dir)
  const e = lookupEntry(s.v, dir, n)
  if (!e) throw fail('ENOENT', `'${n}' not found`, {ino: dir})
  const rec = s.inode(e.ino)
  if ((rec.mode & S_IFMT) !== S_IFDIR) throw fail('ENOTDIR', `'${n}' is not a directory`, {ino: e.ino})
  if (!isEmptyDir(s.v, e.ino)) throw fail('ENOTEMPTY', `'${n}' is not empty`, {ino: e.ino})
  const t = s.clock()
  removeEntry(s.v, dir, n)
  s.touchDir(dir, -1, t, -1)
  destroy(s, e.ino, rec)
  settle(s)
}

export function rename(
  s: ImageState,
  dir: number,
  name: string | Buffer,
  newDir: number,
  newName: string | Buffer,
): void {
  s.assertWritable()
  const n = asName(name)
  const nn = asName(newName)
  s.dirInode(dir)
  s.dirInode(newDir)
  const src = lookupEntry(s.v, dir, n)
  if (!src) throw fail('ENOENT', `'${n}' not found`, {ino: dir})
  const srcRec = s.inode(src.ino)
  const srcIsDir = (srcRec.mode & S_IFMT) === S_IFDIR
  if (srcIsDir) {
    // refuse to move a directory into itself or below itself
    for (let p = newDir, hops = 0; ; hops++) {
      if (p === src.ino) throw fail('EINVAL', `cannot move '${n}' into itself`, {ino: src.ino})
      if (p === ROOT_INO || hops > 100000) break
      p = s.inode(p).parent
    }
  }
  const t = s.clock()
  const dst = lookupEntry(s.v, newDir, nn)
  if (dst) {
    if (dst.ino === src.ino) return
    const dstRec = s.inode(dst.ino)
    const dstIsDir = (dstRec.mode & S_IFMT) === S_IFDIR
    if (srcIsDir && !dstIsDir) throw fail('ENOTDIR', `'${nn}' is not a directory`, {ino: dst.ino})
    if (!srcIsDir && dstIsDir) throw fail('EISDIR', `'${nn}' is a directory`, {ino: dst.ino})
    if (dstIsDir && !isEmptyDir(s.v, dst.ino)) throw fail('ENOTEMPTY', `'${nn}' is not empty`, {ino: dst.ino})
    replaceEntry(s.v, newDir, nn, src.ino, src.ftype)
    // a directory replacing a directory leaves newDir's subdirectory count unchanged
    if (dstIsDir) destroy(s, dst.ino, dstRec)
    else dropLink(s, dst.ino, t)
    s.touchDir(newDir, 0, t)
  } else {
    addEntry(s.v, newDir, nn, src.ino, src.ftype)
    s.touchDir(newDir, 1, t, srcIsDir ? 1 : 0)
  }
  removeEntry(s.v, dir, n)
  s.touchDir(dir, -1, t, srcIsDir ? -1 : 0)
  s.modify(src.ino, (r) => {
    if (srcIsDir) r.parent = newDir
    setTime(r, 'ctime', t)
  })
  settle(s)
}
