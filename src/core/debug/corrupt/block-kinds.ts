/** Raw kinds: bytes written into the superblock, tree blocks, the bitmap and file data of the image file. */
import fs from 'node:fs'
import {fail} from '../../errors.js'
import {editSuper, flip, rw, zero} from './edit.js'
import type {Kind} from './types.js'

/** Byte 100 of block 0 lies in the superblock body (the high half of the block count): any flip is a checksum error. */
const SUPERBLOCK_FLIP_AT = 100
/** Leaf flips land past byte 60, inside the node's items, never in the block header. */
const LEAF_FLIP_FROM = 60
/** Byte 70 of a bitmap block lies in its bits, past the 48-byte block header. */
const BITMAP_FLIP_AT = 70

export const BLOCK_KINDS: readonly Kind[] = [
  // superblock
  {
    name: 'zero-superblock',
    about: 'zero the primary superblock (block 0)',
    raw: (p, i) => (zero(p, 0, i.blockSize), {description: 'zeroed block 0', block: 0}),
  },
  {
    name: 'superblock-checksum',
    about: 'flip a byte of the primary superblock',
    raw: (p, i) => (
      flip(p, 0, i.blockSize, SUPERBLOCK_FLIP_AT),
      {description: `flipped byte ${SUPERBLOCK_FLIP_AT} of block 0`, block: 0}
    ),
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
      flip(p, b, i.blockSize, LEAF_FLIP_FROM + r(i.blockSize - LEAF_FLIP_FROM))
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
      flip(p, i.bitmapStart, i.blockSize, BITMAP_FLIP_AT),
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
]

/** The last kind of the list: random damage to metadata blocks. */
export const RANDOM_KINDS: readonly Kind[] = [
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
