/** Turning mkfs flags into CreateOptions, including the `--size auto` estimate. */
import type {CompressionSpec, CreateOptions} from '../../core/index.js'
import {ZSTD_DEFAULT_LEVEL} from '../../core/compression.js'
import {DEFAULT_BLOCK_SIZE, DEFAULT_CLUSTER_SIZE, defaultJournalBlocks} from '../../core/format/geometry.js'
import {UsageError} from './errors.js'
import {censusTree} from './host-tree.js'

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
  if (!m || (m[1].toLowerCase() === 'none' && m[2] !== undefined)) throw new UsageError(`'${text}' is not a compression; use ${COMPRESSION_SYNTAX}`)
  if (m[1].toLowerCase() === 'none') return {algorithm: 'none', level: 0}
  const level = m[2] === undefined ? ZSTD_DEFAULT_LEVEL : Number(m[2])
  if (level < 1 || level > 22) throw new UsageError(`zstd level ${level} is out of range; use 1 to 22`)
  return {algorithm: 'zstd', level}
}

const MiB = 1024 * 1024
const INODE_ALLOWANCE = 256
const SLACK = 4 * MiB

/**
 * Estimate an image size that holds the tree at `root`:
 * file bytes rounded up to blocks × 1.1, plus inodes × 256 B and twice the
 * name and symlink bytes for metadata, plus 4 MiB, plus the journal; rounded up to a block.
 */
export function estimateImageSize(root: string, blockSize: number, journalBytes: number | undefined): number {
  const c = censusTree(root, blockSize)
  const base = Math.ceil(c.blockBytes * 1.1) + c.inodes * INODE_ALLOWANCE + 2 * c.nameBytes + SLACK
  const journal = journalBytes ?? defaultJournalBlocks(Math.ceil(base / blockSize)) * blockSize
  return Math.ceil((base + journal) / blockSize) * blockSize
}

export interface MkfsFlags {
  size?: number | 'auto'
  'block-size'?: number
  'cluster-size'?: number
  label?: string
  uuid?: string
  compression?: CompressionSpec
  'journal-size'?: number
  root?: string
  force: boolean
}

/** CreateOptions from the flags; the size is resolved here (auto needs --root). */
export function createOptions(flags: MkfsFlags): CreateOptions {
  const size = flags.size ?? (flags.root === undefined ? undefined : 'auto')
  if (size === undefined) throw new UsageError('--size is required unless --root is given')
  if (size === 'auto' && flags.root === undefined) throw new UsageError('--size auto needs --root DIR to measure')
  const blockSize = flags['block-size'] ?? DEFAULT_BLOCK_SIZE
  const journalBytes = flags['journal-size']
  return {
    size: size === 'auto' ? estimateImageSize(flags.root as string, blockSize, journalBytes) : size,
    blockSize: flags['block-size'],
    clusterSize: flags['cluster-size'],
    label: flags.label,
    uuid: flags.uuid,
    compression: flags.compression,
    journalBlocks: journalBytes === undefined ? undefined : Math.ceil(journalBytes / blockSize),
    force: flags.force,
  }
}
