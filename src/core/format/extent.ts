/** The extent record, value of an EXTENT item (FORMAT.md §10). */
import {reserved, struct, u16, u32, u64, u8, type Decoded} from './codec.js'

export const extentRecord = struct([
  ['storage', u8],
  ['compression', u8],
  ['reserved1', reserved(2)],
  ['crc', u32],
  ['length', u64],
  ['block', u64],
  ['stored', u32],
  ['reserved2', reserved(4)],
] as const)
void u16

export type ExtentRecord = Decoded<typeof extentRecord>

export const STORAGE_INLINE = 0
export const STORAGE_BLOCKS = 1
/** A slice of a pack (FORMAT.md §10): `block` is the pack, `stored` the slice's offset in its raw content. */
export const STORAGE_PACKED = 2
export const COMPRESSION_NONE = 0
export const COMPRESSION_ZSTD = 1

/** Largest inline extent or inline xattr value for a block size. */
export function maxInline(blockSize: number): number {
  return Math.min(2048, blockSize / 2 - 128)
}

/** Encode an extent item value (record plus inline data). */
export function encodeExtent(e: ExtentRecord, inline?: Buffer): Buffer {
  const buf = Buffer.alloc(extentRecord.size + (inline?.length ?? 0))
  extentRecord.encode(e, buf, 0)
  if (inline) inline.copy(buf, extentRecord.size)
  return buf
}
