/**
 * Inodes as INODE items of the tree (FORMAT.md §7): read, write, allocate and
 * the conversion to the public Stat.
 */
import {fail} from '../errors.js'
import {decodeOr} from '../format/codec.js'
import {inodeRecord, type InodeRecord} from '../format/inode.js'
import {hasFeature} from '../format/features.js'
import {packedAllocation} from './extents.js'
import {ItemType, type Key} from '../format/keys.js'
import {
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  type FileType,
  type Stat,
  type Timespec,
} from '../types.js'
import type {Volume} from './volume.js'

export const inodeKey = (ino: number): Key => ({objectid: ino, type: ItemType.INODE, offset: 0})

const TYPE_OF_MODE: Record<number, FileType> = {
  [S_IFREG]: 'file',
  [S_IFDIR]: 'dir',
  [S_IFLNK]: 'symlink',
  [S_IFCHR]: 'chardev',
  [S_IFBLK]: 'blockdev',
  [S_IFIFO]: 'fifo',
  [S_IFSOCK]: 'socket',
}

export function fileTypeOfMode(mode: number): FileType | undefined {
  return TYPE_OF_MODE[mode & S_IFMT]
}

export function readInode(v: Volume, ino: number): InodeRecord {
  const raw = v.tree.get(inodeKey(ino))
  if (!raw) throw fail('ENOENT', `inode ${ino} does not exist`, {ino})
  if (raw.length !== inodeRecord.size) throw fail('ECORRUPT', `inode ${ino}: record of ${raw.length} bytes`, {ino})
  const rec: InodeRecord = decodeOr(inodeRecord, raw, (why) => fail('ECORRUPT', `inode ${ino}: ${why}`, {ino}))
  if (!fileTypeOfMode(rec.mode)) throw fail('ECORRUPT', `inode ${ino}: invalid mode 0${rec.mode.toString(8)}`, {ino})
  return rec
}

export function writeInode(v: Volume, ino: number, rec: InodeRecord): void {
  v.tree.put(inodeKey(ino), inodeRecord.encode(rec))
}

export function setTime(rec: InodeRecord, which: 'atime' | 'mtime' | 'ctime' | 'crtime', t: Timespec): void {
  rec[`${which}Sec`] = t.sec
  rec[`${which}Nsec`] = t.nsec
}

export function getTime(rec: InodeRecord, which: 'atime' | 'mtime' | 'ctime' | 'crtime'): Timespec {
  return {sec: rec[`${which}Sec`], nsec: rec[`${which}Nsec`]}
}

/**
 * alloc_blocks in bytes, plus a regular file's packed tail rounded up to 512
 * (FORMAT.md §10). alloc_blocks also counts external xattr values, so it says
 * nothing about whether the file has a packed tail: only a size that ends
 * inside a cluster can (a packed slice is shorter than a cluster).
 */
function allocatedBytes(v: Volume, ino: number, rec: InodeRecord): number {
  const own = rec.allocBlocks * v.geo.blockSize
  if ((rec.mode & S_IFMT) !== S_IFREG || rec.size % v.geo.clusterSize === 0 || !hasFeature(v.sb.incompat, 'packed'))
    return own
  return own + packedAllocation(v, ino, rec.size)
}

export function toStat(v: Volume, ino: number, rec: InodeRecord): Stat {
  return {
    ino,
    mode: rec.mode,
    type: fileTypeOfMode(rec.mode)!,
    uid: rec.uid,
    gid: rec.gid,
    nlink: rec.nlink,
    size: rec.size,
    rdev: rec.rdev,
    allocated: allocatedBytes(v, ino, rec),
    flags: rec.flags,
    generation: rec.generation,
    atime: getTime(rec, 'atime'),
    mtime: getTime(rec, 'mtime'),
    ctime: getTime(rec, 'ctime'),
    crtime: getTime(rec, 'crtime'),
    parent: rec.parent,
  }
}

/** A fresh inode record. */
export function newInode(mode: number, t: Timespec, generation: number): InodeRecord {
  return {
    mode,
    uid: 0,
    gid: 0,
    nlink: 1,
    size: 0,
    flags: 0,
    generation,
    rdev: 0,
    parent: 0,
    allocBlocks: 0,
    atimeSec: t.sec,
    atimeNsec: t.nsec,
    mtimeSec: t.sec,
    mtimeNsec: t.nsec,
    ctimeSec: t.sec,
    ctimeNsec: t.nsec,
    crtimeSec: t.sec,
    crtimeNsec: t.nsec,
  }
}
