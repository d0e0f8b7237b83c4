/**
 * What an image is: its superblock as native values (info, what `dump`
 * shows), a walk counting inodes and bytes (stats), and shrinking a bulk
 * build to its contents (fitToContents).
 */
import {fail} from '../errors.js'
import {bitmapBlocksFor} from '../format/bitmap.js'
import {COMPRESSION_ZSTD, extentRecord, STORAGE_BLOCKS, STORAGE_PACKED} from '../format/extent.js'
import {featureNames} from '../format/features.js'
import {computeGeometry, MIN_FREE_BLOCKS} from '../format/geometry.js'
import {ItemType, MAX_KEY} from '../format/keys.js'
import {packRecord} from '../format/pack.js'
import {STATE_CLEAN} from '../format/superblock.js'
import type {ImageStats, Timespec} from '../types.js'
import {formatUuid} from './create-options.js'
import type {ImageState} from './state.js'
import {commit} from './transaction.js'

export interface FeatureSet {
  compat: string[]
  roCompat: string[]
  incompat: string[]
}

/** What `dump` shows of the superblock, as native values. */
export interface ImageInfo {
  version: number
  uuid: string
  label: string
  blockSize: number
  clusterSize: number
  blocks: number
  freeBlocks: number
  inodeCount: number
  nextIno: number
  state: 'clean' | 'dirty'
  features: FeatureSet
  created: Timespec
  modified: Timespec
  compression: {algorithm: 'none' | 'zstd'; level: number}
  layout: {
    superblock: number
    backupSuperblock: number
    bitmapStart: number
    bitmapBlocks: number
    journalStart: number
    journalBlocks: number
    treeRoot: number
    treeHeight: number
  }
}

export function info(s: ImageState): ImageInfo {
  s.assertOpen()
  const {sb, geo} = s.v
  return {
    version: sb.version,
    uuid: formatUuid(s.v.uuid),
    label: sb.label.toString('utf8').replace(/\0+$/, ''),
    blockSize: sb.blockSize,
    clusterSize: sb.clusterSize,
    blocks: sb.blockCount,
    freeBlocks: Math.max(0, s.v.alloc.freeBlocks - s.prealloc.held),
    inodeCount: sb.inodeCount,
    nextIno: sb.nextIno,
    state: sb.state & STATE_CLEAN ? 'clean' : 'dirty',
    features: {
      compat: featureNames('compat', sb.compat),
      roCompat: featureNames('roCompat', sb.roCompat),
      incompat: featureNames('incompat', sb.incompat),
    },
    created: {sec: sb.createdSec, nsec: sb.createdNsec},
    modified: {sec: sb.modifiedSec, nsec: sb.modifiedNsec},
    compression: {algorithm: sb.compression === COMPRESSION_ZSTD ? 'zstd' : 'none', level: sb.compressionLevel},
    layout: {
      superblock: 0,
      backupSuperblock: geo.backupSuperblock,
      bitmapStart: geo.bitmapStart,
      bitmapBlocks: geo.bitmapBlocks,
      journalStart: geo.journalStart,
      journalBlocks: geo.journalBlocks,
      treeRoot: s.v.tree.root,
      treeHeight: s.v.tree.height,
    },
  }
}

/** Walks the whole tree: inodes, logical data bytes and the space storing them. */
export function stats(s: ImageState): ImageStats {
  s.assertOpen()
  const {geo} = s.v
  let inodes = 0
  let dataBytes = 0
  let storedBytes = 0
  for (const [k, raw] of s.v.tree.range({objectid: 0, type: 0, offset: 0}, MAX_KEY)) {
    if (k.type === ItemType.INODE) inodes++
    else if (k.type === ItemType.EXTENT && raw.length >= extentRecord.size) {
      const e = extentRecord.decode(raw)
      dataBytes += e.length
      if (e.storage !== STORAGE_PACKED)
        storedBytes += e.storage === STORAGE_BLOCKS ? Math.ceil(e.stored / geo.blockSize) * geo.blockSize : e.stored
    } else if (k.type === ItemType.PACK && raw.length === packRecord.size) {
      storedBytes += Math.ceil(packRecord.decode(raw).stored / geo.blockSize) * geo.blockSize
    }
  }
  return {
    blockSize: geo.blockSize,
    clusterSize: geo.clusterSize,
    blocks: geo.blockCount,
    freeBlocks: s.v.alloc.freeBlocks,
    usedBlocks: geo.blockCount - s.v.alloc.freeBlocks,
    inodes,
    dataBytes,
    storedBytes,
  }
}

/**
 * Shrink a bulk build (CreateOptions.bulk) to the blocks its contents use
 * plus `headroomBlocks` free ones, before close: the image keeps its layout
 * (every block number stays), the backup superblock moves to the new last
 * block and the file is truncated. When the smaller image needs fewer
 * bitmap blocks, the journal grows by the difference (it starts right
 * after the bitmap, FORMAT.md §2); in an image without a journal they
 * become free data blocks.
 */
export function fitToContents(s: ImageState, headroomBlocks = 0): {blocks: number; usedBlocks: number} {
  s.assertWritable()
  if (!s.bulk) throw fail('EINVAL', `${s.path}: fitToContents needs an image created in bulk mode and not yet closed`)
  if (!Number.isSafeInteger(headroomBlocks) || headroomBlocks < 0)
    throw fail('EINVAL', `bad headroom ${headroomBlocks}`)
  commit(s)
  const {geo, sb, alloc} = s.v
  const bs = geo.blockSize
  const high = alloc.highestUsed()
  const count = Math.max(high + 1 + headroomBlocks, geo.firstFree + MIN_FREE_BLOCKS) + 1
  const used = () => geo.blockCount - alloc.freeBlocks
  if (count >= geo.blockCount) return {blocks: geo.blockCount, usedBlocks: used()}
  let journal = geo.journalBlocks
  const bitmaps = bitmapBlocksFor(count, bs)
  // bitmap blocks no longer needed: the journal starts earlier and grows by them (or, without a journal, they become free data blocks)
  if (bitmaps < geo.bitmapBlocks && journal > 0) journal += geo.bitmapBlocks - bitmaps
  const ng = computeGeometry(bs, geo.clusterSize, count, journal)
  if (ng.firstFree > geo.firstFree || (journal > 0 && ng.firstFree !== geo.firstFree))
    throw fail('EINVAL', 'fitToContents: the layout would move')
  alloc.shrinkTo(ng)
  // the bitmap blocks given to the journal must not look like anything
  const zero = Buffer.alloc(bs)
  for (let b = ng.bitmapStart + ng.bitmapBlocks; b < geo.bitmapStart + geo.bitmapBlocks; b++)
    s.v.dev.write(b * bs, zero)
  sb.blockCount = ng.blockCount
  sb.bitmapBlocks = ng.bitmapBlocks
  sb.journalStart = ng.journalStart
  sb.journalBlocks = ng.journalBlocks
  sb.freeBlocks = alloc.freeBlocks
  s.v.geo = ng
  s.store.setBlockCount(ng.blockCount)
  commit(s)
  s.v.dev.resize(ng.blockCount * bs)
  return {blocks: ng.blockCount, usedBlocks: ng.blockCount - alloc.freeBlocks}
}
