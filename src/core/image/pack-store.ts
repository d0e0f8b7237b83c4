/**
 * Packs written by mkfs (FORMAT.md §10): storing a pack of file tails and
 * making each tail a packed extent of its file, or sharing a pack already
 * stored when a tail's bytes are the same.
 */
import {isRazorError, fail} from '../errors.js'
import {extentKey, extentsIn} from '../fs/extents.js'
import {inodeKey} from '../fs/inode-table.js'
import {addPackRef, loadSlice, writePack} from '../fs/packs.js'
import {COMPRESSION_NONE, encodeExtent, STORAGE_PACKED} from '../format/extent.js'
import {packKey} from '../format/pack.js'
import {S_IFMT, S_IFREG, type PackSlice} from '../types.js'
import type {ImageState} from './state.js'
import {reserve} from './transaction.js'
import {settle} from './unlinked.js'

/**
 * mkfs: store a pack (FORMAT.md §10) — `stored` is `raw` or its zstd
 * stream — and make each slice the packed last extent of its file. A slice
 * is only used if its file is still a regular file whose size ends the
 * slice and which has no extent in the slice's cluster window (the build
 * wrote its tail as a hole, see DataPipeline); others are skipped. Returns
 * the pack's first block, or undefined when no slice was used (nothing
 * written). Times are left as they are.
 */
export function storePack(
  s: ImageState,
  raw: Buffer,
  stored: Buffer,
  compression: number,
  crc: number,
  slices: PackSlice[],
): number | undefined {
  s.assertWritable()
  if (raw.length < 1 || raw.length > s.v.geo.clusterSize) throw fail('EINVAL', `pack of ${raw.length} bytes`)
  const ok = slices.filter((sl) => sl.start + sl.length <= raw.length && tailIsHole(s, sl))
  if (!ok.length) return undefined
  reserve(s, stored.length)
  const block = writePack(s.v, raw, stored, compression, crc, ok.length)
  for (const sl of ok) putPacked(s, block, sl)
  settle(s)
  return block
}

/**
 * mkfs: make `slice` a packed extent of the existing pack at `block` if
 * the pack still exists and holds exactly `bytes` there (and the file
 * qualifies as for storePack). Returns whether it did.
 */
export function sharePack(s: ImageState, block: number, slice: PackSlice, bytes: Buffer): boolean {
  s.assertWritable()
  if (!s.v.tree.get(packKey(block)) || !tailIsHole(s, slice)) return false
  let have: Buffer
  try {
    have = loadSlice(s.v, slice.ino, slice.offset, block, slice.start, slice.length, slice.crc)
  } catch (e) {
    if (isRazorError(e)) return false
    throw e
  }
  if (!have.equals(bytes)) return false
  addPackRef(s.v, block)
  putPacked(s, block, slice)
  settle(s)
  return true
}

function tailIsHole(s: ImageState, sl: PackSlice): boolean {
  const raw = s.v.tree.get(inodeKey(sl.ino))
  if (!raw) return false
  const rec = s.inode(sl.ino)
  const cs = s.v.geo.clusterSize
  if (
    (rec.mode & S_IFMT) !== S_IFREG ||
    sl.offset % cs !== 0 ||
    sl.length < 1 ||
    sl.length >= cs ||
    rec.size !== sl.offset + sl.length
  )
    return false
  return extentsIn(s.v, sl.ino, sl.offset, sl.offset + cs).length === 0
}

function putPacked(s: ImageState, block: number, sl: PackSlice): void {
  const e = {
    storage: STORAGE_PACKED,
    compression: COMPRESSION_NONE,
    crc: sl.crc,
    length: sl.length,
    block,
    stored: sl.start,
  }
  s.v.tree.put(extentKey(sl.ino, sl.offset), encodeExtent(e))
}
