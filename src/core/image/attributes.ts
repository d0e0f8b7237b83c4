/**
 * Attributes of an inode: stat, setattr (mode, owner, flags, times, device
 * number) and extended attributes.
 */
import {toStat, setTime} from '../fs/inode-table.js'
import {getXattrValue, listXattrNames, removeXattrValue, setXattrValue} from '../fs/xattrs.js'
import {S_IFMT, type InodeAttrs, type Stat} from '../types.js'
import {storableRdev} from './namespace.js'
import type {ImageState} from './state.js'
import {reserve} from './transaction.js'
import {settle} from './unlinked.js'

export function stat(s: ImageState, ino: number): Stat {
  const st = toStat(s.v, ino, s.inode(ino))
  // a preallocated window counts as allocated, as ext4's unwritten extents do
  st.allocated += s.prealloc.windows(ino) * s.v.geo.clusterSize
  return st
}

/** Change mode (permission bits), owner, flags or times. ctime becomes now unless given. */
export function setattr(s: ImageState, ino: number, attrs: InodeAttrs): void {
  s.assertWritable()
  s.modify(ino, (rec) => {
    if (attrs.mode !== undefined) rec.mode = (rec.mode & S_IFMT) | (attrs.mode & 0o7777)
    if (attrs.uid !== undefined) rec.uid = attrs.uid >>> 0
    if (attrs.gid !== undefined) rec.gid = attrs.gid >>> 0
    if (attrs.flags !== undefined) rec.flags = attrs.flags
    if (attrs.rdev !== undefined) rec.rdev = storableRdev(attrs.rdev)
    for (const w of ['atime', 'mtime', 'crtime'] as const) if (attrs[w]) setTime(rec, w, attrs[w]!)
    setTime(rec, 'ctime', attrs.ctime ?? s.clock())
  })
  settle(s)
}

export function listXattrs(s: ImageState, ino: number): string[] {
  s.inode(ino)
  return listXattrNames(s.v, ino)
}

export function getXattr(s: ImageState, ino: number, name: string): Buffer {
  s.inode(ino)
  return getXattrValue(s.v, ino, name)
}

export function setXattr(s: ImageState, ino: number, name: string, value: Buffer): void {
  s.assertWritable()
  reserve(s, value.length)
  s.modify(ino, (rec) => {
    setXattrValue(s.v, ino, rec, name, value)
    setTime(rec, 'ctime', s.clock())
  })
  settle(s)
}

export function removeXattr(s: ImageState, ino: number, name: string): void {
  s.assertWritable()
  s.modify(ino, (rec) => {
    removeXattrValue(s.v, ino, rec, name)
    setTime(rec, 'ctime', s.clock())
  })
  settle(s)
}
