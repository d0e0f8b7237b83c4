/**
 * The extents of a file (FORMAT.md §10), read side: their keys, decoding and
 * validating an EXTENT item, finding the extents of a range, reading a
 * file's bytes through them (checksums verified), and describing them
 * (extentInfo, the packed tail stat counts). Writing is file-data.ts's.
 */
import {fail, isRazorError} from '../errors.js'
import {crc32} from '../format/checksum.js'
import {decodeOr} from '../format/codec.js'
import {
  COMPRESSION_NONE,
  COMPRESSION_ZSTD,
  extentRecord,
  maxInline,
  STORAGE_BLOCKS,
  STORAGE_INLINE,
  STORAGE_PACKED,
  type ExtentRecord,
} from '../format/extent.js'
import type {InodeRecord} from '../format/inode.js'
import {ItemType, type Key} from '../format/keys.js'
import {zstdDecompress} from './compression.js'
import {loadSlice} from './packs.js'
import type {ExtentInfo} from '../types.js'
import type {Volume} from './volume.js'

export interface Extent {
  offset: number
  rec: ExtentRecord
  inline?: Buffer
}

export const extentKey = (ino: number, offset: number): Key => ({objectid: ino, type: ItemType.EXTENT, offset})

/** Largest file size the format allows. */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER

/** Decode and validate one EXTENT item. */
export function decodeExtent(v: Volume, ino: number, key: Key, raw: Buffer): Extent {
  const bad = (why: string) => fail('ECORRUPT', `inode ${ino}: extent at ${key.offset}: ${why}`, {ino})
  if (raw.length < extentRecord.size) throw bad('record too short')
  const rec: ExtentRecord = decodeOr(extentRecord, raw, bad)
  const {blockSize: bs, clusterSize: cs} = v.geo
  if (key.offset % bs !== 0) throw bad('offset not block-aligned')
  if (rec.length < 1 || rec.length > cs) throw bad(`length ${rec.length} out of range`)
  if (Math.floor(key.offset / cs) !== Math.floor((key.offset + rec.length - 1) / cs))
    throw bad('crosses a cluster boundary')
  if (rec.storage === STORAGE_PACKED) {
    // `stored` is the slice's offset in the pack's raw content (FORMAT.md §10)
    if (rec.compression !== COMPRESSION_NONE) throw bad('packed extent with compression')
    if (raw.length !== extentRecord.size) throw bad('record size wrong')
    if (rec.stored + rec.length > cs) throw bad(`slice ${rec.stored}+${rec.length} past the largest pack`)
    if (rec.block < v.geo.firstFree || rec.block >= v.geo.backupSuperblock)
      throw bad(`pack ${rec.block} outside the data area`)
    return {offset: key.offset, rec}
  }
  if (rec.compression === COMPRESSION_NONE) {
    if (rec.stored !== rec.length) throw bad('stored length differs from length')
  } else if (rec.compression === COMPRESSION_ZSTD) {
    if (rec.stored >= rec.length || rec.stored < 1) throw bad('compressed length not below length')
  } else throw bad(`unknown compression ${rec.compression}`)
  if (rec.storage === STORAGE_INLINE) {
    if (key.offset !== 0) throw bad('inline extent not at offset 0')
    if (rec.stored > maxInline(bs) || raw.length !== extentRecord.size + rec.stored) throw bad('inline data size wrong')
    return {offset: key.offset, rec, inline: raw.subarray(extentRecord.size)}
  }
  if (rec.storage !== STORAGE_BLOCKS) throw bad(`unknown storage ${rec.storage}`)
  if (raw.length !== extentRecord.size) throw bad('record size wrong')
  const n = Math.ceil(rec.stored / bs)
  if (rec.block < v.geo.firstFree || rec.block + n > v.geo.backupSuperblock)
    throw bad(`blocks ${rec.block}+${n} outside the data area`)
  return {offset: key.offset, rec}
}

export function blocksOf(v: Volume, e: Extent): number {
  return e.rec.storage === STORAGE_BLOCKS ? Math.ceil(e.rec.stored / v.geo.blockSize) : 0
}

/** Extents overlapping [from, to), in order. */
export function extentsIn(v: Volume, ino: number, from: number, to: number): Extent[] {
  const out: Extent[] = []
  const start = Math.max(0, from - v.geo.clusterSize + 1)
  for (const [k, raw] of v.tree.range(extentKey(ino, start), extentKey(ino, to))) {
    const e = decodeExtent(v, ino, k, raw)
    if (e.offset + e.rec.length > from) out.push(e)
  }
  return out
}

export function allExtents(v: Volume, ino: number): Extent[] {
  return extentsIn(v, ino, 0, MAX_FILE_SIZE)
}

/** The logical bytes of one extent, checksum verified. */
export function loadExtent(v: Volume, ino: number, e: Extent): Buffer {
  if (e.rec.storage === STORAGE_PACKED)
    return loadSlice(v, ino, e.offset, e.rec.block, e.rec.stored, e.rec.length, e.rec.crc)
  let stored: Buffer
  if (e.inline) stored = e.inline
  else {
    v.data.drain()
    stored = v.dev.read(e.rec.block * v.geo.blockSize, e.rec.stored)
  }
  if (crc32(stored) !== e.rec.crc)
    throw fail(
      'ECHECKSUM',
      `inode ${ino}: data checksum mismatch in extent at offset ${e.offset}${e.inline ? ' (inline)' : `, block ${e.rec.block}`}`,
      {ino, block: e.rec.block},
    )
  if (e.rec.compression === COMPRESSION_ZSTD) return zstdDecompress(stored, e.rec.length, {ino, block: e.rec.block})
  return stored
}

/**
 * When [off, off + n) is exactly a run of uncompressed extents that follow
 * each other in the file and on disk (what sequential writing produces), read
 * it with one device read and no copy, checking each extent's CRC in place.
 */
function readRawRun(v: Volume, ino: number, exts: Extent[], off: number, n: number): Buffer | undefined {
  const bs = v.geo.blockSize
  const first = exts[0]
  if (!first || first.offset !== off) return undefined
  let logical = off
  let block = first.rec.block
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i]!
    if (
      e.inline ||
      e.rec.storage !== STORAGE_BLOCKS ||
      e.rec.compression !== COMPRESSION_NONE ||
      e.offset !== logical ||
      e.rec.block !== block
    )
      return undefined
    if (i < exts.length - 1 && e.rec.length % bs !== 0) return undefined
    logical += e.rec.length
    block += Math.ceil(e.rec.stored / bs)
  }
  if (logical < off + n) return undefined
  v.data.drain()
  const buf = v.dev.read(first.rec.block * bs, (block - first.rec.block) * bs)
  let pos = 0
  for (const e of exts) {
    if (crc32(buf.subarray(pos, pos + e.rec.stored)) !== e.rec.crc)
      throw fail(
        'ECHECKSUM',
        `inode ${ino}: data checksum mismatch in extent at offset ${e.offset}, block ${e.rec.block}`,
        {ino, block: e.rec.block},
      )
    pos += Math.ceil(e.rec.stored / bs) * bs
  }
  return buf.subarray(0, n)
}

export function readData(v: Volume, ino: number, rec: InodeRecord, off: number, len: number): Buffer {
  if (off >= rec.size || len <= 0) return Buffer.alloc(0)
  const n = Math.min(len, rec.size - off)
  const exts = extentsIn(v, ino, off, off + n)
  const run = readRawRun(v, ino, exts, off, n)
  if (run) return run
  // not zero-filled first (for large reads that costs as much as the read): extents are copied in, holes zeroed
  const out = Buffer.allocUnsafe(n)
  let filled = 0
  for (const e of exts) {
    const data = loadExtent(v, ino, e)
    const s = Math.max(off, e.offset)
    const t = Math.min(off + n, e.offset + e.rec.length)
    if (t <= s) continue
    if (s - off > filled) out.fill(0, filled, s - off)
    data.copy(out, s - off, s - e.offset, t - e.offset)
    filled = Math.max(filled, t - off)
  }
  if (filled < n) out.fill(0, filled)
  return out
}

/**
 * Bytes of a regular file's packed tail, rounded up to 512 (what stat's
 * allocated size adds to alloc_blocks, FORMAT.md §10); 0 when there is none
 * or its extents cannot be read (stat never fails on a damaged extent).
 */
export function packedAllocation(v: Volume, ino: number, size: number): number {
  if (size <= 0) return 0
  const cs = v.geo.clusterSize
  const w = Math.floor((size - 1) / cs) * cs
  try {
    let n = 0
    for (const e of extentsIn(v, ino, w, w + cs))
      if (e.rec.storage === STORAGE_PACKED) n += Math.ceil(e.rec.length / 512) * 512
    return n
  } catch (e) {
    if (isRazorError(e)) return 0
    throw e
  }
}

export function extentInfo(v: Volume, e: Extent): ExtentInfo {
  return {
    offset: e.offset,
    length: e.rec.length,
    kind:
      e.rec.storage === STORAGE_INLINE
        ? 'inline'
        : e.rec.storage === STORAGE_PACKED
          ? 'packed'
          : e.rec.compression === COMPRESSION_ZSTD
            ? 'zstd'
            : 'raw',
    block: e.rec.block,
    blocks: blocksOf(v, e),
    stored: e.rec.stored,
    crc: e.rec.crc,
  }
}
