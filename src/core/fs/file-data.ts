/**
 * File contents through extents (FORMAT.md §10): read, write, truncate and
 * punch. Data is copy-on-write at cluster granularity: a change reads the
 * affected cluster windows, writes their new content to new blocks, then
 * switches the extent items and frees the old blocks. Extents never cross a
 * cluster boundary.
 */
import {fail, isRazorError} from '../errors.js'
import {crc32} from '../format/checksum.js'
import {decodeOr} from '../format/codec.js'
import {
  COMPRESSION_NONE,
  COMPRESSION_ZSTD,
  encodeExtent,
  extentRecord,
  maxInline,
  STORAGE_BLOCKS,
  STORAGE_INLINE,
  STORAGE_PACKED,
  type ExtentRecord,
} from '../format/extent.js'
import {planWindow, type PlanSettings, type RunPlan, type WindowPlan} from './data-plan.js'
import {INODE_FLAG_NOCOMPRESS, type InodeRecord} from '../format/inode.js'
import {ItemType, type Key} from '../format/keys.js'
import {zstdDecompress} from './compression.js'
import {loadSlice, unrefPack} from './packs.js'
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

function writeBlocks(v: Volume, block: number, data: Buffer): void {
  const bs = v.geo.blockSize
  v.data.write(block * bs, data, data.length % bs === 0 ? 0 : bs - (data.length % bs))
}

function compressionOn(v: Volume, rec: InodeRecord): boolean {
  return v.sb.compression === COMPRESSION_ZSTD && (rec.flags & INODE_FLAG_NOCOMPRESS) === 0
}

/** What planWindow needs to know about an inode of this volume. */
export function planSettings(v: Volume, rec: InodeRecord): PlanSettings {
  return {blockSize: v.geo.blockSize, compress: compressionOn(v, rec), level: v.sb.compressionLevel}
}

/** Store a window's content as new extents; returns the keys written. */
function storeWindow(v: Volume, ino: number, rec: InodeRecord, wStart: number, content: Buffer): Set<number> {
  return applyPlan(v, ino, rec, wStart, content, planWindow(content, wStart === 0, planSettings(v, rec)))
}

/** Allocate, write and record the extents a plan describes; returns the keys written. */
function applyPlan(
  v: Volume,
  ino: number,
  rec: InodeRecord,
  wStart: number,
  content: Buffer,
  plan: WindowPlan,
): Set<number> {
  const written = new Set<number>()
  if (plan.inline) {
    const {stored, compression, crc} = plan.inline
    const e: ExtentRecord = {
      storage: STORAGE_INLINE,
      compression,
      crc,
      length: content.length,
      block: 0,
      stored: stored.length,
    }
    v.tree.put(extentKey(ino, 0), encodeExtent(e, stored))
    written.add(0)
    return written
  }
  for (const run of plan.runs)
    storeRun(v, ino, rec, wStart + run.offset, content.subarray(run.offset, run.offset + run.length), run, written)
  return written
}

function storeRun(
  v: Volume,
  ino: number,
  rec: InodeRecord,
  offset: number,
  data: Buffer,
  plan: RunPlan,
  written: Set<number>,
): void {
  const bs = v.geo.blockSize
  const c = plan.zstd
  if (c) {
    const cblocks = Math.ceil(c.length / bs)
    const run = v.alloc.alloc(cblocks, 1)
    if (run.count === cblocks) {
      writeBlocks(v, run.start, c)
      const e: ExtentRecord = {
        storage: STORAGE_BLOCKS,
        compression: COMPRESSION_ZSTD,
        crc: plan.zcrc ?? crc32(c),
        length: data.length,
        block: run.start,
        stored: c.length,
      }
      v.tree.put(extentKey(ino, offset), encodeExtent(e))
      written.add(offset)
      rec.allocBlocks += cblocks
      return
    }
    v.alloc.free(run.start, run.count) // not contiguous: store raw in pieces
  }
  let pos = 0
  while (pos < data.length) {
    const run = v.alloc.alloc(Math.ceil((data.length - pos) / bs), 1)
    const piece = data.subarray(pos, Math.min(data.length, pos + run.count * bs))
    writeBlocks(v, run.start, piece)
    const crc = piece.length === data.length ? plan.crc : crc32(piece)
    const e: ExtentRecord = {
      storage: STORAGE_BLOCKS,
      compression: COMPRESSION_NONE,
      crc,
      length: piece.length,
      block: run.start,
      stored: piece.length,
    }
    v.tree.put(extentKey(ino, offset + pos), encodeExtent(e))
    written.add(offset + pos)
    rec.allocBlocks += run.count
    pos += piece.length
  }
}

function dropExtents(v: Volume, ino: number, rec: InodeRecord, old: Extent[], keep: Set<number>): void {
  for (const e of old) {
    if (e.rec.storage === STORAGE_PACKED) unrefPack(v, e.rec.block)
    const n = blocksOf(v, e)
    if (n) {
      v.alloc.free(e.rec.block, n)
      rec.allocBlocks -= n
    }
    if (!keep.has(e.offset)) v.tree.delete(extentKey(ino, e.offset))
  }
}

function ensureSpace(v: Volume, bytes: number): void {
  const need = Math.ceil(bytes / v.geo.blockSize) + 32
  if (v.alloc.available < need) v.alloc.onPressure?.()
  if (v.alloc.available < need)
    throw fail(
      'ENOSPC',
      `no space left in image: ${v.alloc.available * v.geo.blockSize} bytes free, about ${need * v.geo.blockSize} needed`,
    )
}

/**
 * Rewrite every cluster window touching [start, end) with the file sized
 * `newSize`; `apply` edits each window's content (offsets are file offsets).
 */
function rewrite(
  v: Volume,
  ino: number,
  rec: InodeRecord,
  start: number,
  end: number,
  newSize: number,
  apply: (content: Buffer, wStart: number) => void,
  covers: (wStart: number, wEnd: number) => boolean,
): void {
  const cs = v.geo.clusterSize
  for (let w = Math.floor(start / cs) * cs; w < end; w += cs) {
    const wEnd = Math.min(w + cs, newSize)
    const old = extentsIn(v, ino, w, w + cs)
    const content = Buffer.alloc(Math.max(0, wEnd - w))
    if (!covers(w, wEnd)) {
      for (const e of old) {
        const data = loadExtent(v, ino, e)
        const upto = Math.min(data.length, content.length - (e.offset - w))
        if (upto > 0) data.copy(content, e.offset - w, 0, upto)
      }
    }
    apply(content, w)
    ensureSpace(v, content.length)
    const written = storeWindow(v, ino, rec, w, content)
    dropExtents(v, ino, rec, old, written)
  }
}

export function writeData(v: Volume, ino: number, rec: InodeRecord, off: number, data: Buffer): void {
  if (data.length === 0) return
  const end = off + data.length
  if (end > MAX_FILE_SIZE) throw fail('EFBIG', `write past the largest file size`, {ino})
  const newSize = Math.max(rec.size, end)
  unpackBeforeGrowth(v, ino, rec, off)
  rewrite(
    v,
    ino,
    rec,
    off,
    end,
    newSize,
    (content, w) => {
      const s = Math.max(off, w)
      const t = Math.min(end, w + content.length)
      if (t > s) data.copy(content, s - w, s - off, t - off)
    },
    (w, wEnd) => off <= w && end >= wEnd,
  )
  rec.size = newSize
}

/**
 * A packed extent stays in the cluster window holding the end of file, so
 * it stays its file's last extent (FORMAT.md §10): before the file grows
 * to `from` or writes there, in a later window, a packed extent in the end
 * of file's window is unpacked (stored as the file's own).
 */
function unpackBeforeGrowth(v: Volume, ino: number, rec: InodeRecord, from: number): void {
  if (rec.size === 0) return
  const cs = v.geo.clusterSize
  const w = Math.floor((rec.size - 1) / cs) * cs
  if (from < w + cs) return
  if (!extentsIn(v, ino, w, w + cs).some((e) => e.rec.storage === STORAGE_PACKED)) return
  rewrite(
    v,
    ino,
    rec,
    w,
    w + 1,
    rec.size,
    () => {},
    () => false,
  )
}

/**
 * Store one cluster window whose plan was made ahead (planWindow, maybe in a
 * worker): the window starts on a cluster boundary and its content is the
 * file's whole content there (a full cluster, or up to the new end of file).
 */
export function writePlannedWindow(
  v: Volume,
  ino: number,
  rec: InodeRecord,
  wStart: number,
  content: Buffer,
  plan: WindowPlan,
): void {
  const cs = v.geo.clusterSize
  const end = wStart + content.length
  const newSize = Math.max(rec.size, end)
  if (
    wStart % cs !== 0 ||
    content.length > cs ||
    plan.length !== content.length ||
    (content.length < cs && end < newSize)
  )
    throw fail('EINVAL', `inode ${ino}: a planned write must cover a whole cluster window`, {ino})
  if (end > MAX_FILE_SIZE) throw fail('EFBIG', `write past the largest file size`, {ino})
  unpackBeforeGrowth(v, ino, rec, wStart)
  const old = extentsIn(v, ino, wStart, wStart + cs)
  ensureSpace(v, content.length)
  const written = applyPlan(v, ino, rec, wStart, content, plan)
  dropExtents(v, ino, rec, old, written)
  rec.size = newSize
}

export function punchData(v: Volume, ino: number, rec: InodeRecord, off: number, len: number): void {
  const end = Math.min(rec.size, off + len)
  if (end <= off) return
  rewrite(
    v,
    ino,
    rec,
    off,
    end,
    rec.size,
    (content, w) => {
      const s = Math.max(off, w)
      const t = Math.min(end, w + content.length)
      if (t > s) content.fill(0, s - w, t - w)
    },
    (w, wEnd) => off <= w && end >= wEnd,
  )
}

export function truncateData(v: Volume, ino: number, rec: InodeRecord, size: number): void {
  if (size > MAX_FILE_SIZE) throw fail('EFBIG', 'size past the largest file size', {ino})
  // a packed extent stays in the cluster window of the end of file (so it stays the last extent)
  if (size > rec.size) unpackBeforeGrowth(v, ino, rec, size - 1)
  if (size < rec.size) {
    const cs = v.geo.clusterSize
    const w = Math.floor(size / cs) * cs
    // the window holding the new end keeps its head; later windows go entirely
    if (size > w)
      rewrite(
        v,
        ino,
        rec,
        size,
        size + 1,
        size,
        () => {},
        () => false,
      )
    const gone = extentsIn(v, ino, size > w ? w + cs : w, MAX_FILE_SIZE)
    dropExtents(v, ino, rec, gone, new Set())
  }
  rec.size = size
}

/** Free every extent of an inode (when it is deleted). */
export function freeData(v: Volume, ino: number, rec: InodeRecord): void {
  dropExtents(v, ino, rec, allExtents(v, ino), new Set())
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
