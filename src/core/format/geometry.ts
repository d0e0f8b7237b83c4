/**
 * Image geometry decided at mkfs (FORMAT.md §2): where the fixed structures go.
 */
import {bitmapBlocksFor} from './bitmap.js'

export interface Geometry {
  blockSize: number
  clusterSize: number
  blockCount: number
  bitmapStart: number
  bitmapBlocks: number
  journalStart: number
  journalBlocks: number
  /** First block available for allocation. */
  firstFree: number
  backupSuperblock: number
}

export const MIN_BLOCK_SIZE = 1024
export const MAX_BLOCK_SIZE = 65536
export const DEFAULT_BLOCK_SIZE = 4096
export const DEFAULT_CLUSTER_SIZE = 131072
export const MAX_CLUSTER_SIZE = 1048576
/** Below this many free blocks after the fixed structures, mkfs refuses. */
export const MIN_FREE_BLOCKS = 8

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0
}

/**
 * Smallest journal (blocks) an image may have, unless it has none: room for
 * the largest transaction one operation that is not split makes (a rename
 * splitting leaves up a tall tree, with its bitmap blocks), several times over.
 * Operations that can change more (big writes, truncates, punches, freeing a
 * big file) commit in steps that fit (FORMAT.md §9).
 */
export const MIN_JOURNAL_BLOCKS = 64

export function defaultJournalBlocks(blockCount: number): number {
  const j = Math.min(32768, Math.max(256, Math.floor(blockCount / 64)))
  return j > blockCount / 4 ? 0 : j
}

export function computeGeometry(
  blockSize: number,
  clusterSize: number,
  blockCount: number,
  journalBlocks: number,
): Geometry {
  const bitmapBlocks = bitmapBlocksFor(blockCount, blockSize)
  const bitmapStart = 1
  const journalStart = bitmapStart + bitmapBlocks
  return {
    blockSize,
    clusterSize,
    blockCount,
    bitmapStart,
    bitmapBlocks,
    journalStart,
    journalBlocks,
    firstFree: journalStart + journalBlocks,
    backupSuperblock: blockCount - 1,
  }
}

/** Whether block `b` is one of the fixed blocks that are always in use. */
export function isFixedBlock(g: Geometry, b: number): boolean {
  return b < g.firstFree || b === g.backupSuperblock
}
