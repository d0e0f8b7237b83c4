/**
 * The undo file a repair writes (`razorfsck --undo`, FORMAT.md §14): a
 * header naming the image, then one record per block the repair changed,
 * holding the block's content from before the repair.
 */
import {bytes, reserved, struct, u32, u64, type Decoded} from './codec.js'

export const UNDO_MAGIC = Buffer.from('RZUNDO01')

/** 64 bytes at the start of the file. */
export const undoHeader = struct([
  ['magic', bytes(8)],
  ['blockSize', u32],
  ['reserved1', reserved(4)],
  ['imageSize', u64],
  ['uuid', bytes(16)],
  ['reserved2', reserved(24)],
] as const)

export type UndoHeader = Decoded<typeof undoHeader>

/** Before each saved block: its number and the CRC32 of the `blockSize` bytes that follow. */
export const undoRecordHead = struct([
  ['block', u64],
  ['crc', u32],
  ['reserved', reserved(4)],
] as const)

export type UndoRecordHead = Decoded<typeof undoRecordHead>
