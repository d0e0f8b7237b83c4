/** Data placement kinds: extents out of place, blocks claimed twice, packs miscounted, free space wrong. */
import {fail} from '../../errors.js'
import {encodeExtent, extentRecord, STORAGE_BLOCKS, STORAGE_PACKED} from '../../format/extent.js'
import {ItemType, MAX_KEY, type Key} from '../../format/keys.js'
import {packKey, packRecord} from '../../format/pack.js'
import {inodeItem} from './edit.js'
import type {Ctx, Kind} from './types.js'

const STORAGE = extentRecord.offsets.storage

export const EXTENT_KINDS: readonly Kind[] = [
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
]

export const PACK_KINDS: readonly Kind[] = [
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
]

export const FREE_SPACE_KINDS: readonly Kind[] = [
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
]

function blockExtents(c: Ctx, ino: number): Array<[Key, Buffer]> {
  return [
    ...c.v.tree.range(
      {objectid: ino, type: ItemType.EXTENT, offset: 0},
      {objectid: ino, type: ItemType.EXTENT + 1, offset: 0},
    ),
  ].filter(([, r]) => r[STORAGE] === STORAGE_BLOCKS)
}
function firstBlockExtent(c: Ctx, ino: number): [Key, Buffer] {
  const e = blockExtents(c, ino)[0]
  if (!e) throw fail('EINVAL', `inode ${ino} has no data in blocks`)
  return e
}
/** The first packed extent of the image (by key): its key, record and pack block. */
function firstPacked(c: Ctx): [Key, ReturnType<typeof extentRecord.decode>, number] {
  for (const [k, raw] of c.v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)) {
    if (k.type !== ItemType.EXTENT || raw[STORAGE] !== STORAGE_PACKED) continue
    const e = extentRecord.decode(raw)
    return [k, e, e.block]
  }
  throw fail('EINVAL', 'the image has no packed extent (build it with mkfs, packing on)')
}
export function dataFiles(c: Ctx): number[] {
  const out: number[] = []
  for (const [k] of c.v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY))
    if (k.type === ItemType.INODE && blockExtents(c, k.objectid).length) out.push(k.objectid)
  return out
}
