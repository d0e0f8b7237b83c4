/** Inode kinds: wrong counts, modes and times, a missing or mistyped root, items of inodes that do not exist, and bad xattrs. */
import {encodeExtent} from '../../format/extent.js'
import {ROOT_INO} from '../../format/inode.js'
import {ItemType, nameHash} from '../../format/keys.js'
import {encodeXattrs} from '../../format/xattr.js'
import {inodeKey} from '../../fs/inode-table.js'
import {inodeItem} from './edit.js'
import type {Kind} from './types.js'

export const INODE_KINDS: readonly Kind[] = [
  {
    name: 'nlink-high',
    about: "raise a file's link count",
    item: (c) => {
      const f = c.target('file')
      inodeItem(c, f, (r) => (r.nlink += 2))
      return {description: `inode ${f} link count +2`, ino: f}
    },
  },
  {
    name: 'nlink-low',
    about: "set a file's link count to 0 while it is still named",
    item: (c) => {
      const f = c.target('file')
      inodeItem(c, f, (r) => (r.nlink = 0))
      return {description: `inode ${f} link count 0`, ino: f}
    },
  },
  {
    name: 'dir-nlink-wrong',
    about: "change a directory's link count",
    item: (c) => {
      const d = c.target('dir')
      inodeItem(c, d, (r) => (r.nlink += 5))
      return {description: `directory ${d} link count +5`, ino: d}
    },
  },
  {
    name: 'dir-size-wrong',
    about: "change a directory's size (its entry count)",
    item: (c) => {
      const d = c.target('dir')
      inodeItem(c, d, (r) => (r.size += 9))
      return {description: `directory ${d} size +9`, ino: d}
    },
  },
  {
    name: 'inode-bad-mode',
    about: 'give an inode an invalid type',
    item: (c) => {
      const f = c.target('file')
      inodeItem(c, f, (r) => (r.mode = 0o170644))
      return {description: `inode ${f} mode 0170644`, ino: f}
    },
  },
  {
    name: 'inode-bad-nsec',
    about: 'give an inode an out-of-range nanosecond field',
    item: (c) => {
      const f = c.target('file')
      inodeItem(c, f, (r) => (r.mtimeNsec = 2e9))
      return {description: `inode ${f} mtime nanoseconds 2000000000`, ino: f}
    },
  },
  {
    name: 'alloc-blocks-wrong',
    about: "change an inode's block count",
    item: (c) => {
      const f = c.target('data')
      inodeItem(c, f, (r) => (r.allocBlocks += 4))
      return {description: `inode ${f} block count +4`, ino: f}
    },
  },
  {
    name: 'root-missing',
    about: 'delete the root inode',
    item: (c) => {
      c.v.tree.delete(inodeKey(ROOT_INO))
      return {description: 'removed inode 1', ino: ROOT_INO}
    },
  },
  {
    name: 'root-not-dir',
    about: 'make the root a regular file',
    item: (c) => {
      inodeItem(c, ROOT_INO, (r) => (r.mode = 0o100644))
      return {description: 'inode 1 mode 0100644', ino: ROOT_INO}
    },
  },
  {
    name: 'orphan-extent',
    about: 'add an extent item for an inode that does not exist',
    item: (c) => {
      const ino = c.v.sb.nextIno + 50
      c.v.tree.put(
        {objectid: ino, type: ItemType.EXTENT, offset: 0},
        encodeExtent({storage: 0, compression: 0, crc: 0, length: 1, block: 0, stored: 1}, Buffer.from('x')),
      )
      return {description: `extent of missing inode ${ino}`, ino}
    },
  },
  {
    name: 'orphan-xattr',
    about: 'add an xattr item for an inode that does not exist',
    item: (c) => {
      const ino = c.v.sb.nextIno + 60
      c.v.tree.put(
        {objectid: ino, type: ItemType.XATTR, offset: nameHash(Buffer.from('user.x'))},
        encodeXattrs([{name: Buffer.from('user.x'), valueLen: 1, value: Buffer.from('y')}]),
      )
      return {description: `xattr of missing inode ${ino}`, ino}
    },
  },
]

export const XATTR_KINDS: readonly Kind[] = [
  {
    name: 'xattr-bad-namespace',
    about: 'add an xattr outside the four namespaces',
    item: (c) => {
      const f = c.target('file')
      const n = Buffer.from('bogus.name')
      c.v.tree.put(
        {objectid: f, type: ItemType.XATTR, offset: nameHash(n)},
        encodeXattrs([{name: n, valueLen: 1, value: Buffer.from('v')}]),
      )
      return {description: `inode ${f}: xattr 'bogus.name'`, ino: f}
    },
  },
  {
    name: 'xattr-malformed',
    about: 'store a malformed xattr item',
    item: (c) => {
      const f = c.target('file')
      c.v.tree.put({objectid: f, type: ItemType.XATTR, offset: 777}, Buffer.from([200, 0, 0, 0, 1]))
      return {description: `inode ${f}: malformed xattr item`, ino: f}
    },
  },
  {
    name: 'xattr-external-out-of-range',
    about: 'point an external xattr value outside the image',
    item: (c) => {
      const f = c.target('file')
      const n = Buffer.from('user.big')
      c.v.tree.put(
        {objectid: f, type: ItemType.XATTR, offset: nameHash(n)},
        encodeXattrs([{name: n, valueLen: 9000, block: c.v.geo.blockCount + 5, crc: 0}]),
      )
      return {description: `inode ${f}: external xattr value at block ${c.v.geo.blockCount + 5}`, ino: f}
    },
  },
]
