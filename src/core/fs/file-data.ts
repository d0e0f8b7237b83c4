/**
 * File contents through extents (FORMAT.md §10), write side: write,
 * truncate, punch and free. Data is copy-on-write at cluster granularity: a
 * change reads the affected cluster windows, writes their new content to new
 * blocks, then switches the extent items and frees the old blocks. Extents
 * never cross a cluster boundary. Finding and reading extents: extents.ts.
 */
import {fail} from '../errors.js'
import {crc32} from '../format/checksum.js'
import {
  COMPRESSION_NONE,
  COMPRESSION_ZSTD,
  encodeExtent,
  STORAGE_BLOCKS,
  STORAGE_INLINE,
  STORAGE_PACKED,
  type ExtentRecord,
} from '../format/extent.js'
import {planWindow, type PlanSettings, type RunPlan, type WindowPlan} from './data-plan.js'
import {INODE_FLAG_NOCOMPRESS, type InodeRecord} from '../format/inode.js'
import {allExtents, blocksOf, extentKey, extentsIn, loadExtent, MAX_FILE_SIZE, type Extent} from './extents.js'
import {unrefPack} from './packs.js'
import type {Volume} from './volume.js'

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
