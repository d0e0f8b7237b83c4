/**
 * The 48-byte header every metadata block starts with (FORMAT.md §3), and the
 * seal/verify pair that computes and checks its CRC.
 */
import {bytes, struct, u16, u32, u64, reserved, type Decoded} from './codec.js'
import {crc32Skipping} from './checksum.js'
import {fail} from '../errors.js'

export const BLOCK_MAGIC = 0x424d5a52 // "RZMB"

export const BlockType = {
  SUPER: 1,
  BITMAP: 2,
  LEAF: 3,
  NODE: 4,
  JOURNAL_DESCRIPTOR: 5,
  JOURNAL_COMMIT: 6,
} as const
export type BlockTypeValue = (typeof BlockType)[keyof typeof BlockType]

export const BLOCK_TYPE_NAMES: Record<number, string> = {
  1: 'superblock',
  2: 'bitmap',
  3: 'tree leaf',
  4: 'tree node',
  5: 'journal descriptor',
  6: 'journal commit',
}

export const blockHeader = struct([
  ['magic', u32],
  ['type', u16],
  ['level', u16],
  ['crc', u32],
  ['reserved', reserved(4)],
  ['blocknr', u64],
  ['uuid', bytes(16)],
  ['generation', u64],
] as const)

export type BlockHeader = Decoded<typeof blockHeader>
export const HEADER_SIZE = blockHeader.size // 48
const CRC_OFFSET = blockHeader.offsetOf('crc')

/** Write the header into `block` and compute its CRC over the whole block. */
export function sealBlock(block: Buffer, h: Omit<BlockHeader, 'magic' | 'crc'>): void {
  blockHeader.encode({...h, magic: BLOCK_MAGIC, crc: 0}, block, 0)
  block.writeUInt32LE(crc32Skipping(block, CRC_OFFSET), CRC_OFFSET)
}

/** Recompute the CRC of an already-headed block after changing its body. */
export function resealBlock(block: Buffer): void {
  block.writeUInt32LE(crc32Skipping(block, CRC_OFFSET), CRC_OFFSET)
}

export interface Expect {
  blocknr: number
  uuid: Buffer
  type: BlockTypeValue | readonly BlockTypeValue[]
  level?: number
}

/** Why a block failed verification, or undefined when it is sound. */
export function blockProblem(block: Buffer, e: Expect): string | undefined {
  if (block.length < HEADER_SIZE) return 'short block'
  if (block.readUInt32LE(0) !== BLOCK_MAGIC) return 'bad magic'
  if (block.readUInt32LE(CRC_OFFSET) !== crc32Skipping(block, CRC_OFFSET)) return 'checksum mismatch'
  const h = blockHeader.decode(block)
  if (h.blocknr !== e.blocknr) return `misdirected: header says block ${h.blocknr}`
  if (!h.uuid.equals(e.uuid)) return 'belongs to another image (UUID differs)'
  const types = Array.isArray(e.type) ? e.type : [e.type]
  if (!types.includes(h.type as BlockTypeValue)) return `wrong type ${BLOCK_TYPE_NAMES[h.type] ?? h.type}`
  if (e.level !== undefined && h.level !== e.level) return `wrong level ${h.level}, expected ${e.level}`
  return undefined
}

/** Verify a metadata block; throws ECHECKSUM naming the block. */
export function verifyBlock(block: Buffer, e: Expect): BlockHeader {
  const p = blockProblem(block, e)
  if (p) {
    const what = Array.isArray(e.type) ? 'metadata' : BLOCK_TYPE_NAMES[e.type as number]
    throw fail('ECHECKSUM', `${what} block ${e.blocknr}: ${p}`, {block: e.blocknr})
  }
  return blockHeader.decode(block)
}
