/**
 * Validation and defaults for Image.create, applied once at the door.
 */
import crypto from 'node:crypto'
import {fail} from '../errors.js'
import {ZSTD_DEFAULT_LEVEL, ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL} from '../fs/compression.js'
import {
  computeGeometry,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_CLUSTER_SIZE,
  defaultJournalBlocks,
  isPowerOfTwo,
  MAX_BLOCK_SIZE,
  MAX_CLUSTER_SIZE,
  MIN_BLOCK_SIZE,
  MIN_FREE_BLOCKS,
  MIN_JOURNAL_BLOCKS,
  type Geometry,
} from '../format/geometry.js'
import {now, type CompressionSpec, type CreateOptions, type Timespec} from '../types.js'

export interface NormalizedCreate {
  geo: Geometry
  label: Buffer
  uuid: Buffer
  compression: CompressionSpec
  time: Timespec
  force: boolean
}

export function parseUuid(s: string): Buffer {
  const hex = s.replace(/-/g, '')
  if (!/^[0-9a-fA-F]{32}$/.test(hex))
    throw fail('EINVAL', `'${s}' is not a UUID (expected 32 hex digits, e.g. 8-4-4-4-12)`)
  return Buffer.from(hex, 'hex')
}

export function formatUuid(b: Buffer): string {
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Smallest image (bytes) that `create` accepts for a block size, with no journal. */
export function minimumImageSize(blockSize = DEFAULT_BLOCK_SIZE): number {
  return (3 + MIN_FREE_BLOCKS) * blockSize
}

export function normalizeCreateOptions(o: CreateOptions): NormalizedCreate {
  const bs = o.blockSize ?? DEFAULT_BLOCK_SIZE
  if (!isPowerOfTwo(bs) || bs < MIN_BLOCK_SIZE || bs > MAX_BLOCK_SIZE)
    throw fail('EINVAL', `block size ${bs} is not a power of two from ${MIN_BLOCK_SIZE} to ${MAX_BLOCK_SIZE}`)
  const cs = o.clusterSize ?? Math.max(bs, DEFAULT_CLUSTER_SIZE)
  if (!isPowerOfTwo(cs) || cs < bs || cs > MAX_CLUSTER_SIZE)
    throw fail('EINVAL', `cluster size ${cs} must be a power of two from the block size (${bs}) to ${MAX_CLUSTER_SIZE}`)
  if (!Number.isSafeInteger(o.size) || o.size <= 0)
    throw fail('EINVAL', `image size ${o.size} is not a positive number of bytes`)
  const blockCount = Math.floor(o.size / bs)
  const journal = o.journalBlocks ?? defaultJournalBlocks(blockCount)
  if (!Number.isSafeInteger(journal) || journal < 0) throw fail('EINVAL', `journal size ${journal} is invalid`)
  if (journal > 0 && journal < MIN_JOURNAL_BLOCKS)
    throw fail(
      'EINVAL',
      `a journal of ${journal} block${journal === 1 ? '' : 's'} is too small: give --journal-size of at least ${MIN_JOURNAL_BLOCKS} blocks (${MIN_JOURNAL_BLOCKS * bs} bytes at block size ${bs}), or 0 for no journal`,
    )
  const geo = computeGeometry(bs, cs, blockCount, journal)
  if (blockCount < geo.firstFree + 1 + MIN_FREE_BLOCKS) {
    const need = (geo.firstFree + 1 + MIN_FREE_BLOCKS) * bs
    throw fail(
      'ETOOSMALL',
      `image size ${o.size} bytes is too small: at least ${need} bytes are needed with block size ${bs}${journal ? ` and a ${journal}-block journal` : ''}`,
    )
  }
  const label = Buffer.from(o.label ?? '', 'utf8')
  if (label.length > 64) throw fail('EINVAL', `label is ${label.length} bytes; at most 64`)
  const compression = o.compression ?? {algorithm: 'zstd', level: ZSTD_DEFAULT_LEVEL}
  if (
    compression.algorithm === 'zstd' &&
    (!Number.isInteger(compression.level) || compression.level < ZSTD_MIN_LEVEL || compression.level > ZSTD_MAX_LEVEL)
  )
    throw fail('EINVAL', `zstd level ${compression.level} is outside ${ZSTD_MIN_LEVEL}..${ZSTD_MAX_LEVEL}`)
  return {
    geo,
    label,
    uuid: parseUuid(o.uuid ?? crypto.randomUUID()),
    compression,
    time: o.time ?? now(),
    force: o.force ?? false,
  }
}
