/** Free-space bitmap blocks (FORMAT.md §5). */
import {HEADER_SIZE} from './header.js'

/** Blocks covered by one bitmap block. */
export function bitsPerBitmapBlock(blockSize: number): number {
  return (blockSize - HEADER_SIZE) * 8
}

export function bitmapBlocksFor(blockCount: number, blockSize: number): number {
  return Math.ceil(blockCount / bitsPerBitmapBlock(blockSize))
}

export const BITMAP_DATA_OFFSET = HEADER_SIZE
