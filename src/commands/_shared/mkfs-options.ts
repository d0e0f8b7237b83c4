/** Turning mkfs flags into CreateOptions, and parsing mkfs's other values. */
import type {CompressionSpec, CreateOptions, Timespec} from '../../core/index.js'
import {ZSTD_DEFAULT_LEVEL} from '../../core/fs/compression.js'
import {DEFAULT_BLOCK_SIZE, DEFAULT_CLUSTER_SIZE} from '../../core/format/geometry.js'
import {UsageError} from './errors.js'
import {parseSize} from './size.js'

export const COMPRESSION_SYNTAX = `'none', 'zstd' (level ${ZSTD_DEFAULT_LEVEL}) or 'zstd:LEVEL' (LEVEL 1-22)`

/** The core's defaults, as the help text shows them. */
export const DEFAULTS = {
  blockSize: `${DEFAULT_BLOCK_SIZE / 1024}K`,
  clusterSize: `${DEFAULT_CLUSTER_SIZE / 1024}K`,
  compression: `zstd:${ZSTD_DEFAULT_LEVEL}`,
}

/** Parse --compression: none | zstd | zstd:LEVEL. */
export function parseCompression(text: string): CompressionSpec {
  const m = /^(none|zstd)(?::(\d+))?$/i.exec(text.trim())
  if (!m || (m[1].toLowerCase() === 'none' && m[2] !== undefined))
    throw new UsageError(`'${text}' is not a compression; use ${COMPRESSION_SYNTAX}`)
  if (m[1].toLowerCase() === 'none') return {algorithm: 'none', level: 0}
  const level = m[2] === undefined ? ZSTD_DEFAULT_LEVEL : Number(m[2])
  if (level < 1 || level > 22) throw new UsageError(`zstd level ${level} is out of range; use 1 to 22`)
  return {algorithm: 'zstd', level}
}

export interface MkfsFlags {
  size?: number | 'auto'
  'block-size'?: number
  'cluster-size'?: number
  label?: string
  uuid?: string
  compression?: CompressionSpec
  'journal-size'?: number
  force: boolean
}

/** CreateOptions from the flags; `size` stays 'auto' for the caller to measure (auto needs an input). */
export function createOptions(
  flags: MkfsFlags,
  hasInput: boolean,
): Omit<CreateOptions, 'size'> & {size: number | 'auto'; blockSize: number} {
  const size = flags.size ?? (hasInput ? 'auto' : undefined)
  if (size === undefined) throw new UsageError('--size is required unless there is an input (--root, --tar or --spec)')
  if (size === 'auto' && !hasInput)
    throw new UsageError('--size auto needs an input to measure: --root DIR, --tar FILE or --spec FILE')
  const blockSize = flags['block-size'] ?? DEFAULT_BLOCK_SIZE
  const journalBytes = flags['journal-size']
  return {
    size,
    blockSize,
    clusterSize: flags['cluster-size'],
    label: flags.label,
    uuid: flags.uuid,
    compression: flags.compression,
    journalBlocks: journalBytes === undefined ? undefined : Math.ceil(journalBytes / blockSize),
    force: flags.force,
  }
}

/** --headroom: BYTES (with units) or N% of the space used. */
export function parseHeadroom(text: string): {bytes?: number; percent?: number} {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text)
  if (m) {
    const percent = Number(m[1])
    if (percent > 10000) throw new UsageError(`--headroom ${text} is too large`)
    return {percent}
  }
  return {bytes: parseSize(text)}
}

/** SOURCE_DATE_EPOCH / --timestamp: whole seconds since 1970 (a fraction is accepted). */
export function parseTimestamp(text: string, what: string): Timespec {
  const m = /^\s*(-?\d+)(?:\.(\d{1,9}))?\s*$/.exec(text)
  if (!m || !Number.isSafeInteger(Number(m[1])))
    throw new UsageError(`${what} '${text}' is not a number of seconds since 1970`)
  return {sec: Number(m[1]), nsec: Number((m[2] ?? '').padEnd(9, '0') || '0')}
}
