/**
 * The undo file a repair writes (`razorfsck --undo`, FORMAT.md §14): a
 * header naming the image, then one record per block the repair changed,
 * holding the block's content from before the repair.
 */
import {bytes, reserved, struct, u32, u64, type Decoded} from './codec.js'

export const UNDO_MAGIC = Buffer.from('RZUNDO01')

/** `state`: what the repair that wrote the file got to (FORMAT.md §14). */
export const UNDO_STATE = {
  /** Written before the journal was recovered, or by a razorfs that did not record a state: never applied by itself. */
  unknown: 0,
  /** The repair's own writes are under way; `sb_crc` is the primary superblock block as it was when they began. */
  underWay: 1,
  /** The repair ended: completed and re-checked, or rolled back. */
  ended: 2,
} as const

/** 64 bytes at the start of the file. */
export const undoHeader = struct([
  ['magic', bytes(8)],
  ['blockSize', u32],
  ['state', u32],
  ['imageSize', u64],
  ['uuid', bytes(16)],
  ['sbCrc', u32],
  ['reserved', reserved(20)],
] as const)

export type UndoHeader = Decoded<typeof undoHeader>

/** Before each saved block: its number and the CRC32 of the `blockSize` bytes that follow. */
export const undoRecordHead = struct([
  ['block', u64],
  ['crc', u32],
  ['reserved', reserved(4)],
] as const)

export type UndoRecordHead = Decoded<typeof undoRecordHead>
