/**
 * The superblock record (FORMAT.md §4): block 0, with a backup in the last block.
 */
import {bytes, reserved, s64, struct, u32, u64, u8, type Decoded} from './codec.js'
import {HEADER_SIZE} from './header.js'

export const SIGNATURE = Buffer.from('RAZORFS\0', 'latin1')
export const FORMAT_VERSION = 1
export const SUPERBLOCK_SIZE = 1024

export const STATE_CLEAN = 1
export const STATE_ERRORS = 2

export const superblockBody = struct([
  ['signature', bytes(8)],
  ['version', u32],
  ['blockSize', u32],
  ['clusterSize', u32],
  ['state', u32],
  ['compat', u64],
  ['roCompat', u64],
  ['incompat', u64],
  ['blockCount', u64],
  ['freeBlocks', u64],
  ['inodeCount', u64],
  ['nextIno', u64],
  ['bitmapStart', u64],
  ['bitmapBlocks', u64],
  ['journalStart', u64],
  ['journalBlocks', u64],
  ['treeRoot', u64],
  ['treeHeight', u32],
  ['compression', u8],
  ['compressionLevel', u8],
  ['reserved1', reserved(2)],
  ['createdSec', s64],
  ['createdNsec', u32],
  ['reserved2', reserved(4)],
  ['modifiedSec', s64],
  ['modifiedNsec', u32],
  ['writeCount', u32],
  ['generation', u64],
  ['journalSeq', u64],
  ['journalHead', u64],
  ['journalFlags', u64],
  ['label', bytes(64)],
] as const)

export type SuperblockFields = Decoded<typeof superblockBody>

/** Absolute offset of the body within the block. */
export const SUPERBLOCK_BODY_OFFSET = HEADER_SIZE
