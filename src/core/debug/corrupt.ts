/**
 * The corruption generator behind `razorfs corrupt`: one precise, named
 * damage to an image, so users can test repair pipelines the way the test
 * suite does (the role of e2fsprogs' f_* images and btrfs-corrupt-block).
 * Item-level kinds edit the tree through the library (the image stays
 * well-formed, only inconsistent); block-level kinds write raw bytes.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import {addEntry, direntKey, removeEntry} from '../fs/directory.js'
import {fail} from '../errors.js'
import {encodeDirents, ftypeCode} from '../format/dirent.js'
import {encodeExtent, extentRecord, STORAGE_BLOCKS, STORAGE_PACKED} from '../format/extent.js'
import {packKey, packRecord} from '../format/pack.js'
import {resealBlock} from '../format/header.js'
import {ROOT_INO} from '../format/inode.js'
import {ItemType, MAX_KEY, nameHash, type Key} from '../format/keys.js'
import {isLeaf} from '../format/node.js'
import {superblockBody, SUPERBLOCK_BODY_OFFSET} from '../format/superblock.js'
import {encodeXattrs} from '../format/xattr.js'
import {Image} from '../image/image.js'
import {inodeKey, readInode, writeInode} from '../fs/inode-table.js'
import type {Volume} from '../fs/volume.js'

export interface CorruptOptions {
  seed?: number
  /** A path inside the image or an inode number; default: chosen from the seed. */
  target?: string | number
}

export interface CorruptResult {
  kind: string
  description: string
  ino?: number
  block?: number
}

interface Ctx {
  img: Image
  v: Volume
  rand: (n: number) => number
  target: (want: 'file' | 'dir' | 'data' | 'any') => number
}

type Kind = {name: string; about: string} & (
  | {item: (c: Ctx) => Omit<CorruptResult, 'kind'>}
  | {raw: (path: string, info: RawInfo, rand: (n: number) => number) => Omit<CorruptResult, 'kind'>}
)

interface RawInfo {
  blockSize: number
  blocks: number
  treeRoot: number
  treeHeight: number
  bitmapStart: number
  journalStart: number
  leaves: number[]
  interior: number[]
  dataBlocks: Array<{ino: number; block: number}>
}

function rw(path: string, pos: number, f: (b: Buffer) => void, len: number): void {
  const fd = fs.openSync(path, 'r+')
  try {
    const b = Buffer.alloc(len)
    fs.readSync(fd, b, 0, len, pos)
    f(b)
    fs.writeSync(fd, b, 0, len, pos)
  } finally {
    fs.closeSync(fd)
  }
}

const flip = (path: string, block: number, bs: number, off: number) =>
  rw(path, block * bs + off, (b) => (b[0] = b[0]! ^ 0xff), 1)
const zero = (path: string, block: number, bs: number) => rw(path, block * bs, (b) => b.fill(0), bs)

function editSuper(path: string, bs: number, f: (sb: ReturnType<typeof superblockBody.decode>) => void): void {
  rw(
    path,
    0,
    (b) => {
      const sb = superblockBody.decode(b, SUPERBLOCK_BODY_OFFSET)
      f(sb)
      superblockBody.encode(sb, b, SUPERBLOCK_BODY_OFFSET)
      resealBlock(b)
    },
    bs,
  )
}

const inodeItem = (c: Ctx, ino: number, f: (r: ReturnType<typeof readInode>) => void) => {
  const r = readInode(c.v, ino)
  f(r)
  writeInode(c.v, ino, r)
}

export const CORRUPTIONS: readonly Kind[] = [
  // superblock
  {
    name: 'zero-superblock',
    about: 'zero the primary superblock (block 0)',
    raw: (p, i) => (zero(p, 0, i.blockSize), {description: 'zeroed block 0', block: 0}),
  },
  {
    name: 'superblock-checksum',
    about: 'flip a byte of the primary superblock',
    raw: (p, i) => (flip(p, 0, i.blockSize, 100), {description: 'flipped byte 100 of block 0', block: 0}),
  },
  {
    name: 'zero-backup-superblock',
    about: 'zero the backup superblock (last block)',
    raw: (p, i) => (
      zero(p, i.blocks - 1, i.blockSize),
      {description: `zeroed block ${i.blocks - 1}`, block: i.blocks - 1}
    ),
  },
  {
    name: 'truncate',
    about: 'cut the image file to half its size',
    raw: (p, i) => (
      fs.truncateSync(p, Math.floor(i.blocks / 2) * i.blockSize),
      {description: `truncated to ${Math.floor(i.blocks / 2)} blocks`}
    ),
  },
  {
    name: 'free-count-wrong',
    about: 'change the superblock free block count',
    raw: (p, i) => {
      // lowered by 7, or raised by 7 when fewer are free (a full image)
      let by = -7
      editSuper(p, i.blockSize, (sb) => {
        if (sb.freeBlocks < 7) by = 7
        sb.freeBlocks += by
      })
      return {description: `free block count ${by < 0 ? 'lowered' : 'raised'} by 7`, block: 0}
    },
  },
  {
    name: 'inode-count-wrong',
    about: 'change the superblock inode count',
    raw: (p, i) => (
      editSuper(p, i.blockSize, (sb) => (sb.inodeCount += 3)),
      {description: 'inode count raised by 3', block: 0}
    ),
  },
  {
    name: 'next-ino-low',
    about: 'set the next inode number below an existing inode',
    raw: (p, i) => (
      editSuper(p, i.blockSize, (sb) => (sb.nextIno = 2)),
      {description: 'next inode number set to 2', block: 0}
    ),
  },
  {
    name: 'tree-height-wrong',
    about: 'change the tree height in the superblock',
    raw: (p, i) => (
      editSuper(p, i.blockSize, (sb) => (sb.treeHeight += 1)),
      {description: `tree height set to ${i.treeHeight + 1}`, block: 0}
    ),
  },
  // tree blocks
  {
    name: 'leaf-bitflip',
    about: 'flip a byte in a tree leaf (a checksum error)',
    raw: (p, i, r) => {
      const b = i.leaves[r(i.leaves.length)]!
      flip(p, b, i.blockSize, 60 + r(i.blockSize - 60))
      return {description: `flipped a byte of leaf ${b}`, block: b}
    },
  },
  {
    name: 'zero-leaf',
    about: 'zero a tree leaf',
    raw: (p, i, r) => {
      const b = i.leaves[r(i.leaves.length)]!
      zero(p, b, i.blockSize)
      return {description: `zeroed leaf ${b}`, block: b}
    },
  },
  {
    name: 'zero-node',
    about: 'zero an interior tree node (or the root leaf)',
    raw: (p, i, r) => {
      const list = i.interior.length ? i.interior : [i.treeRoot]
      const b = list[r(list.length)]!
      zero(p, b, i.blockSize)
      return {description: `zeroed tree block ${b}`, block: b}
    },
  },
  {
    name: 'misdirected-leaf',
    about: 'swap the contents of two leaves (each now names another block)',
    raw: (p, i) => {
      if (i.leaves.length < 2) throw fail('EINVAL', 'the image has a single leaf; misdirected-leaf needs two')
      const [a, b] = [i.leaves[0]!, i.leaves[i.leaves.length - 1]!]
      const fd = fs.openSync(p, 'r+')
      const x = Buffer.alloc(i.blockSize)
      const y = Buffer.alloc(i.blockSize)
      fs.readSync(fd, x, 0, i.blockSize, a * i.blockSize)
      fs.readSync(fd, y, 0, i.blockSize, b * i.blockSize)
      fs.writeSync(fd, y, 0, i.blockSize, a * i.blockSize)
      fs.writeSync(fd, x, 0, i.blockSize, b * i.blockSize)
      fs.closeSync(fd)
      return {description: `swapped leaves ${a} and ${b}`, block: a}
    },
  },
  // bitmap
  {
    name: 'bitmap-bitflip',
    about: 'flip a byte of the first bitmap block (a checksum error)',
    raw: (p, i) => (
      flip(p, i.bitmapStart, i.blockSize, 70),
      {description: `flipped a byte of bitmap block ${i.bitmapStart}`, block: i.bitmapStart}
    ),
  },
  {
    name: 'zero-bitmap',
    about: 'zero the first bitmap block (every block it covers reads as free)',
    raw: (p, i) => (
      zero(p, i.bitmapStart, i.blockSize),
      {description: `zeroed bitmap block ${i.bitmapStart}`, block: i.bitmapStart}
    ),
  },
  // data
  {
    name: 'data-bitflip',
    about: 'flip a byte of file data (found with --check-data)',
    raw: (p, i, r) => {
      if (!i.dataBlocks.length) throw fail('EINVAL', 'the image has no file data in blocks')
      const d = i.dataBlocks[r(i.dataBlocks.length)]!
      flip(p, d.block, i.blockSize, 0)
      return {description: `flipped the first byte of block ${d.block} (inode ${d.ino})`, block: d.block, ino: d.ino}
    },
  },
  // journal
  {
    name: 'torn-journal',
    about: 'leave the image needing recovery with a torn last transaction',
    item: (c) => {
      const f = c.img.create(ROOT_INO, `torn-${c.rand(1e6)}`, {})
      c.img.write(f, 0, Buffer.from('committed'))
      c.img.flush()
      c.img.create(ROOT_INO, `never-${c.rand(1e6)}`, {})
      return {
        description: 'committed one file, then crashed with a second one half-logged',
        ino: f,
        crash: 'torn',
      } as Omit<CorruptResult, 'kind'>
    },
  },
  {
    name: 'journal-replay-needed',
    about: 'leave committed transactions in the journal, not yet home (a crash after commit)',
    item: (c) => {
      const f = c.img.create(ROOT_INO, `pending-${c.rand(1e6)}`, {})
      c.img.write(f, 0, Buffer.from('in the journal only'))
      c.img.flush()
      return {description: 'committed a file and crashed before the checkpoint', ino: f, crash: 'clean'} as Omit<
        CorruptResult,
        'kind'
      >
    },
  },
  // directory entries
  {
    name: 'dirent-to-missing',
    about: 'add a directory entry naming an inode that does not exist',
    item: (c) => {
      const d = c.target('dir')
      addEntry(c.v, d, Buffer.from('ghost'), c.v.sb.nextIno + 100, ftypeCode('file'))
      return {description: `entry 'ghost' in directory ${d} names inode ${c.v.sb.nextIno + 100}`, ino: d}
    },
  },
  {
    name: 'dirent-wrong-type',
    about: 'give a directory entry the wrong file type',
    item: (c) => {
      const f = c.target('file')
      const {dir, name} = nameOf(c, f)
      removeEntry(c.v, dir, name)
      addEntry(c.v, dir, name, f, ftypeCode('fifo'))
      return {description: `entry '${name}' of inode ${f} typed fifo`, ino: f}
    },
  },
  {
    name: 'dirent-bad-name',
    about: "add an entry named '..'",
    item: (c) => {
      const f = c.target('file')
      c.v.tree.put(
        direntKey(ROOT_INO, nameHash(Buffer.from('..'))),
        encodeDirents([{ino: f, ftype: ftypeCode('file'), name: Buffer.from('..')}]),
      )
      return {description: `entry '..' in / naming inode ${f}`, ino: ROOT_INO}
    },
  },
  {
    name: 'dirent-wrong-hash',
    about: 'store an entry under another name hash',
    item: (c) => {
      const f = c.target('file')
      const {dir, name} = nameOf(c, f)
      removeEntry(c.v, dir, name)
      c.v.tree.put(direntKey(dir, 12345), encodeDirents([{ino: f, ftype: ftypeCode('file'), name}]))
      return {description: `entry '${name}' stored under hash 12345`, ino: f}
    },
  },
  {
    name: 'dir-linked-twice',
    about: 'give a directory a second name',
    item: (c) => {
      const d = c.target('dir')
      addEntry(c.v, ROOT_INO, Buffer.from('second-name'), d, ftypeCode('dir'))
      return {description: `directory ${d} also named /second-name`, ino: d}
    },
  },
  {
    name: 'dir-parent-wrong',
    about: "point a directory's '..' elsewhere",
    item: (c) => {
      const d = c.target('dir')
      inodeItem(c, d, (r) => (r.parent = d))
      return {description: `'..' of directory ${d} set to itself`, ino: d}
    },
  },
  {
    name: 'dir-cycle',
    about: 'move a directory inside itself, detaching it from the tree',
    item: (c) => {
      const d = c.target('dir')
      const {dir, name} = nameOf(c, d)
      removeEntry(c.v, dir, name)
      addEntry(c.v, d, Buffer.from('loop'), d, ftypeCode('dir'))
      return {description: `directory ${d} removed from ${dir} and named inside itself`, ino: d}
    },
  },
  {
    name: 'unreachable-file',
    about: "remove a file's only directory entry, keeping the inode",
    item: (c) => {
      const f = c.target('file')
      const {dir, name} = nameOf(c, f)
      removeEntry(c.v, dir, name)
      return {description: `removed entry '${name}' of inode ${f}`, ino: f}
    },
  },
  {
    name: 'unreachable-dir',
    about: "remove a directory's entry, keeping the directory",
    item: (c) => {
      const d = c.target('dir')
      const {dir, name} = nameOf(c, d)
      removeEntry(c.v, dir, name)
      return {description: `removed entry '${name}' of directory ${d}`, ino: d}
    },
  },
  {
    name: 'entry-on-file',
    about: 'give a regular file a directory entry item',
    item: (c) => {
      const f = c.target('file')
      c.v.tree.put(
        direntKey(f, nameHash(Buffer.from('x'))),
        encodeDirents([{ino: ROOT_INO, ftype: ftypeCode('dir'), name: Buffer.from('x')}]),
      )
      return {description: `directory entry item on file ${f}`, ino: f}
    },
  },
  // inodes
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
  // extents
  ...(['out-of-range', 'in-journal', 'bad-length', 'past-eof', 'overlap'] as const).map((what) => ({
    name: `extent-${what}`,
    about: {
      'out-of-range': 'point an extent past the end of the image',
      'in-journal': 'point an extent into the journal',
      'bad-length': 'give an extent a length over the cluster size',
      'past-eof': "shrink a file's size below its extents",
      overlap: 'add an extent overlapping another',
    }[what],
    item: (c: Ctx) => {
      const f = c.target('data')
      const [key, raw] = firstBlockExtent(c, f)
      const e = extentRecord.decode(raw)
      if (what === 'out-of-range') e.block = c.v.geo.blockCount + 10
      if (what === 'in-journal') e.block = c.v.geo.journalStart
      if (what === 'bad-length') e.length = c.v.geo.clusterSize * 2
      if (what === 'past-eof') {
        inodeItem(c, f, (r) => (r.size = 0))
        return {description: `inode ${f} size set to 0 with its extents kept`, ino: f}
      }
      if (what === 'overlap') {
        c.v.tree.put({...key, offset: key.offset + c.v.geo.blockSize}, encodeExtent(e))
        return {description: `inode ${f}: a second extent at ${key.offset + c.v.geo.blockSize}`, ino: f}
      }
      c.v.tree.put(key, encodeExtent(e))
      return {description: `inode ${f}: extent at ${key.offset} changed (${what})`, ino: f}
    },
  })),
  {
    name: 'doubly-claimed',
    about: "make a file's extent point at another file's blocks",
    item: (c) => {
      const files = dataFiles(c)
      if (files.length < 2) throw fail('EINVAL', 'doubly-claimed needs two files with data blocks')
      const [a, b] = [files[0]!, files[1]!]
      const [, ra] = firstBlockExtent(c, a)
      const [kb, rb] = firstBlockExtent(c, b)
      const ea = extentRecord.decode(ra)
      const eb = extentRecord.decode(rb)
      eb.block = ea.block
      c.v.tree.put(kb, encodeExtent(eb))
      return {
        description: `inode ${b}'s extent at ${kb.offset} points at block ${ea.block} of inode ${a}`,
        ino: b,
        block: ea.block,
      }
    },
  },
  // packs (FORMAT.md §10)
  {
    name: 'pack-refs-wrong',
    about: "change a pack's reference count",
    item: (c) => {
      const [, , block] = firstPacked(c)
      const r = packRecord.decode(c.v.tree.get(packKey(block))!)
      c.v.tree.put(packKey(block), packRecord.encode({...r, refs: r.refs + 3}))
      return {description: `pack at block ${block}: refs ${r.refs} → ${r.refs + 3}`, block}
    },
  },
  {
    name: 'pack-missing',
    about: 'delete a pack item its packed extents still name',
    item: (c) => {
      const [, , block] = firstPacked(c)
      c.v.tree.delete(packKey(block))
      return {description: `removed the pack item of block ${block}`, block}
    },
  },
  {
    name: 'packed-extent-out-of-range',
    about: 'point a packed extent past the end of its pack',
    item: (c) => {
      const [key, e, block] = firstPacked(c)
      const len = packRecord.decode(c.v.tree.get(packKey(block))!).length
      c.v.tree.put(key, encodeExtent({...e, stored: len}))
      return {
        description: `inode ${key.objectid}: packed extent at ${key.offset} starts at the end of pack ${block}`,
        ino: key.objectid,
        block,
      }
    },
  },
  {
    name: 'pack-unreferenced',
    about: 'add a pack that no extent names',
    item: (c) => {
      const r = c.v.alloc.alloc(1, 1)
      c.v.tree.put(packKey(r.start), packRecord.encode({refs: 1, compression: 0, length: 10, stored: 10, crc: 0}))
      return {description: `pack at block ${r.start} named by no extent`, block: r.start}
    },
  },
  {
    name: 'pack-bitflip',
    about: 'flip a byte of a pack (found with --check-data)',
    item: (c) => {
      const [key, , block] = firstPacked(c)
      const bs = c.v.geo.blockSize
      const b = c.v.dev.read(block * bs, bs)
      b[0] = b[0]! ^ 0xff
      c.v.dev.write(block * bs, b)
      return {
        description: `flipped the first byte of pack block ${block} (inode ${key.objectid})`,
        ino: key.objectid,
        block,
      }
    },
  },
  // xattrs
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
  // free space
  {
    name: 'leaked-block',
    about: 'mark free blocks used',
    item: (c) => {
      const r = c.v.alloc.alloc(3, 3)
      return {description: `blocks ${r.start}-${r.start + 2} marked used, owned by nothing`, block: r.start}
    },
  },
  {
    name: 'used-block-free',
    about: "mark a file's data block free in the bitmap",
    item: (c) => {
      const f = c.target('data')
      const [, raw] = firstBlockExtent(c, f)
      const e = extentRecord.decode(raw)
      c.v.alloc.journaled = false
      c.v.alloc.free(e.block, 1)
      return {description: `block ${e.block} of inode ${f} marked free`, ino: f, block: e.block}
    },
  },
  // anything
  {
    name: 'random',
    about: 'flip random bits in random metadata blocks (seeded)',
    raw: (p, i, r) => {
      const blocks = [...i.leaves, ...i.interior, 0, i.bitmapStart]
      const hit: number[] = []
      for (let k = 0; k < 4; k++) {
        const b = blocks[r(blocks.length)]!
        rw(p, b * i.blockSize + r(i.blockSize), (x) => (x[0] = x[0]! ^ (1 << r(8))), 1)
        hit.push(b)
      }
      return {description: `flipped 4 random bits in blocks ${hit.join(', ')}`, block: hit[0]}
    },
  },
]

function nameOf(c: Ctx, ino: number): {dir: number; name: Buffer} {
  for (const [k, raw] of c.v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)) {
    if (k.type !== ItemType.DIRENT) continue
    for (let o = 0; o < raw.length;) {
      const len = raw[o + 9]!
      if (raw.readUInt32LE(o) === ino) return {dir: k.objectid, name: Buffer.from(raw.subarray(o + 10, o + 10 + len))}
      o += 10 + len
    }
  }
  throw fail('ENOENT', `inode ${ino} has no name`)
}

function blockExtents(c: Ctx, ino: number): Array<[Key, Buffer]> {
  return [
    ...c.v.tree.range(
      {objectid: ino, type: ItemType.EXTENT, offset: 0},
      {objectid: ino, type: ItemType.EXTENT + 1, offset: 0},
    ),
  ].filter(([, r]) => r[0] === STORAGE_BLOCKS)
}
function firstBlockExtent(c: Ctx, ino: number): [Key, Buffer] {
  const e = blockExtents(c, ino)[0]
  if (!e) throw fail('EINVAL', `inode ${ino} has no data in blocks`)
  return e
}
/** The first packed extent of the image (by key): its key, record and pack block. */
function firstPacked(c: Ctx): [Key, ReturnType<typeof extentRecord.decode>, number] {
  for (const [k, raw] of c.v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)) {
    if (k.type !== ItemType.EXTENT || raw[0] !== STORAGE_PACKED) continue
    const e = extentRecord.decode(raw)
    return [k, e, e.block]
  }
  throw fail('EINVAL', 'the image has no packed extent (build it with mkfs, packing on)')
}
function dataFiles(c: Ctx): number[] {
  const out: number[] = []
  for (const [k] of c.v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY))
    if (k.type === ItemType.INODE && blockExtents(c, k.objectid).length) out.push(k.objectid)
  return out
}

function rawInfo(path: string): RawInfo {
  const img = Image.open(path)
  try {
    const v = img.volume
    const leaves: number[] = []
    const interior: number[] = []
    v.tree.walk((n) => (isLeaf(n) ? leaves : interior).push(n.block))
    const dataBlocks: RawInfo['dataBlocks'] = []
    for (const [k, raw] of v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY))
      if (k.type === ItemType.EXTENT && raw[0] === STORAGE_BLOCKS)
        dataBlocks.push({ino: k.objectid, block: extentRecord.decode(raw).block})
    const i = img.info()
    return {
      blockSize: i.blockSize,
      blocks: i.blocks,
      treeRoot: i.layout.treeRoot,
      treeHeight: i.layout.treeHeight,
      bitmapStart: i.layout.bitmapStart,
      journalStart: i.layout.journalStart,
      leaves,
      interior,
      dataBlocks,
    }
  } finally {
    img.close()
  }
}

/** Apply one named corruption to an image. */
export function corrupt(path: string, kindName: string, opts: CorruptOptions = {}): CorruptResult {
  const kind = CORRUPTIONS.find((k) => k.name === kindName)
  if (!kind) throw fail('EINVAL', `unknown corruption '${kindName}'; 'razorfs corrupt --list' shows the kinds`)
  const seed = opts.seed ?? 1
  let state = crypto.createHash('sha256').update(`razorfs-corrupt:${kindName}:${seed}`).digest()
  let at = 0
  const rand = (n: number): number => {
    if (at + 4 > state.length) {
      state = crypto.createHash('sha256').update(state).digest()
      at = 0
    }
    const x = state.readUInt32LE(at)
    at += 4
    return n <= 1 ? 0 : x % n
  }
  if ('raw' in kind) return {kind: kindName, ...kind.raw(path, rawInfo(path), rand)}
  const img = Image.open(path, {readOnly: false})
  const v = img.volume
  const pick = (want: 'file' | 'dir' | 'data' | 'any'): number => {
    if (opts.target !== undefined) return typeof opts.target === 'number' ? opts.target : img.resolve(opts.target)
    const all: number[] = []
    for (const [k, raw] of v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)) {
      if (k.type !== ItemType.INODE || k.objectid === ROOT_INO) continue
      const mode = raw.readUInt32LE(0) & 0o170000
      if (
        want === 'dir' ? mode === 0o040000 : want === 'file' ? mode === 0o100000 : want === 'any' || mode === 0o100000
      )
        all.push(k.objectid)
    }
    const pool = want === 'data' ? dataFiles({img, v, rand, target: pick}) : all
    if (!pool.length)
      throw fail('EINVAL', `the image has no ${want === 'data' ? 'file with data in blocks' : want} to damage`)
    return pool[rand(pool.length)]!
  }
  let r: Omit<CorruptResult, 'kind'> & {crash?: 'torn' | 'clean'}
  try {
    r = kind.item({img, v, rand, target: pick}) as typeof r
  } catch (e) {
    img.abandon() // nothing half-done is committed; the lock goes
    throw e
  }
  const crash = r.crash
  delete r.crash
  if (crash) {
    // leave the image as a crash does: for 'torn', half-log one more transaction first
    if (crash === 'torn') tearNextCommit(img)
    img.abandon()
  } else img.close()
  return {kind: kindName, ...r}
}

/** Commit the running transaction, then overwrite its commit block: a torn last transaction. */
function tearNextCommit(img: Image): void {
  const v = img.volume
  img.flush()
  const bs = v.geo.blockSize
  let last = -1
  let seq = -1
  for (let i = 0; i < v.geo.journalBlocks; i++) {
    const b = v.dev.read((v.geo.journalStart + i) * bs, bs)
    if (b.readUInt16LE(4) === 6 && b.readUInt32LE(48) > seq) {
      seq = b.readUInt32LE(48)
      last = i
    }
  }
  if (last < 0) return
  const pos = (v.geo.journalStart + last) * bs
  const b = v.dev.read(pos, bs)
  b.fill(0x5a, 64)
  v.dev.write(pos, b)
  v.dev.flush()
}
