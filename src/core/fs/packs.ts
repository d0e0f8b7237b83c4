/**
 * Packs (FORMAT.md §10, "Packs"): file tails stored together in one shared,
 * compressed run of blocks, named by a PACK item. This module reads them
 * (verified, decompressed, a few kept in memory), writes new ones (mkfs) and
 * drops references to them (every change to a packed range unpacks it).
 */
import {fail} from '../errors.js'
import {crc32} from '../format/checksum.js'
import {decodeOr} from '../format/codec.js'
import {COMPRESSION_NONE, COMPRESSION_ZSTD} from '../format/extent.js'
import {withFeature} from '../format/features.js'
import {packKey, packRecord, type PackRecord} from '../format/pack.js'
import {zstdDecompress} from './compression.js'
import type {Volume} from './volume.js'

/** Decompressed packs kept per open image (each at most one cluster). */
const CACHE_PACKS = 8

/** Recently read packs: raw content by pack block (with the CRC and size it was read under). */
export class PackCache {
  private readonly map = new Map<number, {crc: number; stored: number; raw: Buffer}>()
  get(block: number, rec: PackRecord): Buffer | undefined {
    const hit = this.map.get(block)
    if (!hit || hit.crc !== rec.crc || hit.stored !== rec.stored || hit.raw.length !== rec.length) return undefined
    this.map.delete(block)
    this.map.set(block, hit)
    return hit.raw
  }
  set(block: number, rec: PackRecord, raw: Buffer): void {
    this.map.delete(block)
    this.map.set(block, {crc: rec.crc, stored: rec.stored, raw})
    while (this.map.size > CACHE_PACKS) this.map.delete(this.map.keys().next().value!)
  }
  forget(block: number): void {
    this.map.delete(block)
  }
}

const cacheOf = (v: Volume): PackCache => (v.packCache ??= new PackCache())

export function packBlocks(v: Volume, rec: PackRecord): number {
  return Math.ceil(rec.stored / v.geo.blockSize)
}

/** Decode and validate a PACK item's value (the reader rules of §10). */
export function decodePack(v: Volume, block: number, raw: Buffer): PackRecord {
  const bad = (why: string) => fail('ECORRUPT', `pack at block ${block}: ${why}`, {block})
  if (raw.length !== packRecord.size) throw bad(`record of ${raw.length} bytes`)
  const rec: PackRecord = decodeOr(packRecord, raw, bad)
  if (rec.length < 1 || rec.length > v.geo.clusterSize) throw bad(`length ${rec.length} out of range`)
  if (rec.compression === COMPRESSION_NONE) {
    if (rec.stored !== rec.length) throw bad('stored length differs from length')
  } else if (rec.compression === COMPRESSION_ZSTD) {
    if (rec.stored < 1 || rec.stored >= rec.length) throw bad('compressed length not below length')
  } else throw bad(`unknown compression ${rec.compression}`)
  const n = packBlocks(v, rec)
  if (block < v.geo.firstFree || block + n > v.geo.backupSuperblock)
    throw bad(`blocks ${block}+${n} outside the data area`)
  return rec
}

/** The PACK record of the pack at `block`; a missing one is corruption (`who` names the referrer). */
export function getPack(v: Volume, block: number, who = ''): PackRecord {
  const raw = v.tree.get(packKey(block))
  if (!raw) throw fail('ECORRUPT', `${who}packed extent names pack ${block}, which does not exist`, {block})
  return decodePack(v, block, raw)
}

/** A pack's raw content, checksum verified (cached). */
export function loadPack(v: Volume, block: number, rec: PackRecord, ino?: number): Buffer {
  const cache = cacheOf(v)
  const hit = cache.get(block, rec)
  if (hit) return hit
  v.data.drain()
  const stored = v.dev.read(block * v.geo.blockSize, rec.stored)
  if (crc32(stored) !== rec.crc)
    throw fail('ECHECKSUM', `${ino !== undefined ? `inode ${ino}: ` : ''}pack at block ${block} fails its checksum`, {
      ino,
      block,
    })
  const raw =
    rec.compression === COMPRESSION_ZSTD ? zstdDecompress(stored, rec.length, {ino, block}) : Buffer.from(stored)
  cache.set(block, rec, raw)
  return raw
}

/** The bytes of a packed extent (`offset`, `length` into the pack at `block`), both CRCs verified. */
export function loadSlice(
  v: Volume,
  ino: number,
  at: number,
  block: number,
  offset: number,
  length: number,
  crc: number,
): Buffer {
  const rec = getPack(v, block, `inode ${ino}: extent at ${at}: `)
  if (offset + length > rec.length)
    throw fail(
      'ECORRUPT',
      `inode ${ino}: extent at ${at}: slice ${offset}+${length} lies outside pack ${block} of ${rec.length} bytes`,
      {ino, block},
    )
  const slice = loadPack(v, block, rec, ino).subarray(offset, offset + length)
  if (crc32(slice) !== crc)
    throw fail('ECHECKSUM', `inode ${ino}: data checksum mismatch in extent at offset ${at} (pack ${block})`, {
      ino,
      block,
    })
  return slice
}

/** One packed extent less names the pack at `block`: at 0 the pack is deleted and its blocks freed. */
export function unrefPack(v: Volume, block: number): void {
  const raw = v.tree.get(packKey(block))
  if (!raw) return // already gone (a damaged image): nothing to release
  const rec = decodePack(v, block, raw)
  if (rec.refs > 1) {
    rec.refs--
    v.tree.put(packKey(block), packRecord.encode(rec))
    return
  }
  v.tree.delete(packKey(block))
  v.alloc.free(block, packBlocks(v, rec))
  cacheOf(v).forget(block)
}

/** One more packed extent names the pack at `block`. */
export function addPackRef(v: Volume, block: number): void {
  const rec = getPack(v, block)
  rec.refs++
  v.tree.put(packKey(block), packRecord.encode(rec))
}

/**
 * Store a new pack: `stored` (the raw content, or its zstd stream when
 * `compression` is zstd) in newly allocated contiguous blocks, and its PACK
 * item with `refs`. Sets the `packed` feature. Returns the first block.
 */
export function writePack(
  v: Volume,
  raw: Buffer,
  stored: Buffer,
  compression: number,
  crc: number,
  refs: number,
): number {
  const bs = v.geo.blockSize
  const n = Math.ceil(stored.length / bs)
  const run = v.alloc.alloc(n, n)
  if (run.count !== n) {
    v.alloc.free(run.start, run.count)
    throw fail('ENOSPC', `no ${n} contiguous free blocks for a pack`)
  }
  v.data.write(run.start * bs, stored, stored.length % bs === 0 ? 0 : bs - (stored.length % bs))
  const rec: PackRecord = {refs, compression, length: raw.length, stored: stored.length, crc}
  v.tree.put(packKey(run.start), packRecord.encode(rec))
  v.sb.incompat = withFeature(v.sb.incompat, 'packed')
  cacheOf(v).set(run.start, rec, raw)
  return run.start
}
