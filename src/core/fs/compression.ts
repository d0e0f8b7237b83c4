/**
 * Compression codecs behind one small interface (FORMAT.md §10). The on-disk
 * id is the index in the extent record's `compression` field. Decompression
 * writes into a buffer of exactly the declared logical length, so a hostile
 * image cannot make us allocate more than one cluster per extent.
 */
import {createRequire} from 'node:module'
import {fail} from '../errors.js'

interface ZstdBinding {
  CCtx: new () => {compress(dst: Uint8Array, src: Uint8Array, level: number): number}
  DCtx: new () => {decompress(dst: Uint8Array, src: Uint8Array): number}
  compressBound(n: number): number
}

const require = createRequire(import.meta.url)
let zstd: ZstdBinding | undefined
function binding(): ZstdBinding {
  zstd ??= require('zstd-napi/binding.js') as ZstdBinding
  return zstd
}

let cctx: InstanceType<ZstdBinding['CCtx']> | undefined
let dctx: InstanceType<ZstdBinding['DCtx']> | undefined

export const ZSTD_MIN_LEVEL = 1
export const ZSTD_MAX_LEVEL = 22
export const ZSTD_DEFAULT_LEVEL = 3

/** Compress with zstd; returns undefined when the result is not smaller than `limit` bytes. */
export function zstdCompress(data: Buffer, level: number, limit: number): Buffer | undefined {
  const b = binding()
  cctx ??= new b.CCtx()
  const out = Buffer.allocUnsafe(b.compressBound(data.length))
  const n = cctx.compress(out, data, level)
  return n < limit ? out.subarray(0, n) : undefined
}

/** Decompress exactly `length` bytes; anything else is corruption. */
export function zstdDecompress(data: Buffer, length: number, where: {ino?: number; block?: number}): Buffer {
  const b = binding()
  dctx ??= new b.DCtx()
  const out = Buffer.alloc(length)
  let n: number
  try {
    n = dctx.decompress(out, data)
  } catch (e) {
    throw fail(
      'ECORRUPT',
      `compressed extent${where.ino ? ` of inode ${where.ino}` : ''} at block ${where.block ?? 0} does not decompress: ${(e as Error).message}`,
      where,
    )
  }
  if (n !== length)
    throw fail(
      'ECORRUPT',
      `compressed extent${where.ino ? ` of inode ${where.ino}` : ''} decompresses to ${n} bytes, expected ${length}`,
      where,
    )
  return out
}

const SAMPLE = 4096

/**
 * Cheap incompressibility test: Shannon entropy (bits per byte) of up to three
 * 4 KiB samples. Already-compressed formats score above 7.5 and are stored raw
 * without trying.
 */
export function looksIncompressible(data: Buffer): boolean {
  if (data.length < 512) return false
  const counts = new Uint32Array(256)
  let total = 0
  const step = Math.max(SAMPLE, Math.floor(data.length / 3))
  for (let start = 0; start < data.length; start += step) {
    const end = Math.min(data.length, start + SAMPLE)
    for (let i = start; i < end; i++) counts[data[i]!]!++
    total += end - start
  }
  let h = 0
  for (let i = 0; i < 256; i++) {
    const c = counts[i]!
    if (c) {
      const p = c / total
      h -= p * Math.log2(p)
    }
  }
  // A 12 KiB sample of uniform bytes scores about 7.98; real text scores below 6.
  return h > 7.5
}
