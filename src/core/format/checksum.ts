/**
 * CRC32 (IEEE 802.3, the polynomial of zlib and gzip) through Node's built-in
 * zlib.crc32, which runs at several GB/s. Tests cross-check it against the
 * independent `crc` package.
 */
import zlib from 'node:zlib'

const zcrc = (zlib as unknown as {crc32?: (data: Uint8Array, value?: number) => number}).crc32
if (typeof zcrc !== 'function') throw new Error('razorfs needs Node.js >= 20.15 (zlib.crc32)')

export function crc32(data: Uint8Array, seed = 0): number {
  return zcrc!(data, seed)
}

const ZERO4 = new Uint8Array(4)

/** CRC32 of a block with the 4 bytes at `fieldOffset` read as zero. */
export function crc32Skipping(block: Uint8Array, fieldOffset: number): number {
  let c = zcrc!(block.subarray(0, fieldOffset))
  c = zcrc!(ZERO4, c)
  return zcrc!(block.subarray(fieldOffset + 4), c)
}
