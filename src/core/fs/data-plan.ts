/**
 * How one cluster window of file content is to be stored (FORMAT.md §10),
 * decided without touching the image: holes, inline or block runs, and
 * which runs compress. This is the CPU-heavy half of a write (zstd, CRC32)
 * and is a pure function of the content and the settings, so it can run in
 * a worker thread (plan-pool.ts) and give exactly what the main thread
 * would. file-data.ts applies a plan: allocation, writes, extent items.
 */
import {crc32} from '../format/checksum.js'
import {COMPRESSION_NONE, COMPRESSION_ZSTD, maxInline} from '../format/extent.js'
import {looksIncompressible, zstdCompress} from './compression.js'

/** Windows up to this size at offset 0 are tried inline (compressed if that helps). */
export const INLINE_TRY_LIMIT = 16384

export interface PlanSettings {
  blockSize: number
  /** zstd on for this inode (image default and no nocompress flag). */
  compress: boolean
  level: number
}

/** The file's only extent, inline in its item. */
export interface InlinePlan {
  compression: typeof COMPRESSION_NONE | typeof COMPRESSION_ZSTD
  stored: Buffer
  crc: number
}

/** A run of non-zero blocks of the window, stored as one extent (or raw pieces if space is fragmented). */
export interface RunPlan {
  /** Offset of the run in the window (a multiple of the block size). */
  offset: number
  length: number
  /** CRC32 of the run's raw bytes (used when it is stored raw in one piece). */
  crc: number
  /** zstd stream saving at least one block, if any. */
  zstd?: Buffer
  zcrc?: number
}

export interface WindowPlan {
  /** Bytes of content the plan covers. */
  length: number
  inline?: InlinePlan
  runs: RunPlan[]
}

const ZERO = Buffer.alloc(65536)
export function isZero(buf: Uint8Array): boolean {
  for (let i = 0; i < buf.length; i += ZERO.length) {
    const part = buf.subarray(i, Math.min(buf.length, i + ZERO.length))
    if (Buffer.compare(part, ZERO.subarray(0, part.length)) !== 0) return false
  }
  return true
}

/**
 * Plan a window's content. `atStart` says the window starts at file offset
 * 0 (only there may data be inline). All-zero content gives no extents.
 */
export function planWindow(content: Buffer, atStart: boolean, s: PlanSettings): WindowPlan {
  const plan: WindowPlan = {length: content.length, runs: []}
  const bs = s.blockSize
  if (content.length === 0 || isZero(content)) return plan
  if (atStart && content.length <= INLINE_TRY_LIMIT) {
    let stored = content
    let comp: InlinePlan['compression'] = COMPRESSION_NONE
    const limit = maxInline(bs)
    if (stored.length > limit && s.compress) {
      const c = zstdCompress(content, s.level, limit + 1)
      if (c) {
        stored = c
        comp = COMPRESSION_ZSTD
      }
    }
    if (stored.length <= limit) {
      plan.inline = {compression: comp, stored: Buffer.from(stored), crc: crc32(stored)}
      return plan
    }
  }
  // runs of non-zero blocks become extents; zero blocks stay holes
  let a = 0
  while (a < content.length) {
    if (isZero(content.subarray(a, Math.min(content.length, a + bs)))) {
      a += bs
      continue
    }
    let b = a + bs
    while (b < content.length && !isZero(content.subarray(b, Math.min(content.length, b + bs)))) b += bs
    b = Math.min(b, content.length)
    plan.runs.push(planRun(content.subarray(a, b), a, s))
    a = b
  }
  return plan
}

/** A window of a planning job: `pack` plans the bytes as one pack (FORMAT.md §10), else as file data. */
export interface JobWindow {
  off: number
  len: number
  atStart: boolean
  pack?: boolean
}

/** Plan one window of a job: a pack is one run over all its bytes (no holes, no inline). */
export function planJobWindow(content: Buffer, w: JobWindow, s: PlanSettings): WindowPlan {
  // packs mix many files' bytes: always try zstd (a sample's entropy says little about the rest)
  if (w.pack) return {length: content.length, runs: [planRun(content, 0, s, true)]}
  return planWindow(content, w.atStart, s)
}

function planRun(data: Buffer, offset: number, s: PlanSettings, alwaysTry = false): RunPlan {
  const run: RunPlan = {offset, length: data.length, crc: crc32(data)}
  const nblocks = Math.ceil(data.length / s.blockSize)
  if (s.compress && nblocks > 1 && (alwaysTry || !looksIncompressible(data))) {
    const c = zstdCompress(data, s.level, (nblocks - 1) * s.blockSize + 1)
    if (c) {
      run.zstd = Buffer.from(c)
      run.zcrc = crc32(c)
    }
  }
  return run
}
